#pragma once
/// @file
/// @brief The `Store` policy: where an agent keeps what must survive a crash
/// (unsent telemetry, the activations it knows, confirmations not yet
/// acknowledged). Concept `cleori::Store`, the events it receives
/// (`cleori::store_record`), the state they add up to (`cleori::store_image`),
/// and the default model `cleori::memory_store` (keeps nothing: after a
/// restart the agent starts empty, as without a store).
///
/// The agent reports every change as one event, at the moment it happens and
/// before anything that depends on it is done: a sample is recorded before it
/// can be sent, an activation's new phase and the confirmation it owes are
/// recorded in one event (so a crash never separates them), and an
/// acknowledgement is recorded as soon as Cleori gives it. `load()` at
/// `start()` gives back the image of every event recorded so far.
///
/// @code
/// auto store = cleori::file_store::open("/var/lib/site/asset-17.journal").value();
/// struct journaled : cleori::default_policies { using store = cleori::file_store; };
/// cleori::basic_agent<battery, cleori::beast_transport, journaled> agent{battery, transport, config, std::move(store)};
/// @endcode
///
/// Requirements, exemplar and models: doc/concepts/Store.md.

#include <cleori/api/activation.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/engine/lifecycle.hpp>
#include <cleori/error.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cleori {

/// @brief A sample entered the outbox under sequence number `seq`.
struct sample_taken {
    std::uint64_t seq;
    telemetry_sample sample;
};
/// @brief Samples left the outbox: acknowledged by Cleori, or evicted
/// because the outbox was full. The span is valid during the call only.
struct samples_released {
    std::span<std::uint64_t const> seqs;
};
/// @brief An activation was accepted, refused, modified, started or ended;
/// `state` is all the agent knows of it. `to_confirm` is the confirmation this
/// change owes Cleori (a refusal, or the start of execution), if any.
struct activation_changed {
    tracked_activation state;
    std::optional<confirmation> to_confirm{};
};
/// @brief Cleori acknowledged the confirmation for `id` (or refused it for
/// good); it is no longer owed.
struct confirmation_done {
    std::string_view id;
};
/// @brief The agent no longer needs to remember `id` (ended over an hour
/// ago and no longer served by Cleori).
struct activation_forgotten {
    std::string_view id;
};

/// @brief One change the agent asks its store to keep.
using store_record =
    std::variant<sample_taken, samples_released, activation_changed, confirmation_done, activation_forgotten>;

/// @brief What the recorded events add up to: the state to restore.
struct store_image {
    struct sample_entry {
        std::uint64_t seq;
        telemetry_sample sample;
        friend bool operator==(sample_entry const&, sample_entry const&) = default;
    };
    struct owed_confirmation {
        std::string id;
        confirmation c;
        friend bool operator==(owed_confirmation const&, owed_confirmation const&) = default;
    };
    std::vector<sample_entry> samples{};           ///< unsent, oldest first
    std::vector<tracked_activation> activations{}; ///< in the order they were first seen
    std::vector<owed_confirmation> confirmations{}; ///< not yet acknowledged, oldest first
    std::uint64_t next_seq = 0;                    ///< above every sequence number recorded

    /// @brief Applies one event (replay, or keeping a mirror current).
    // A template only so that the visit over every record type is compiled
    // where events are applied, not in every unit that includes the header.
    template <class Record>
        requires std::constructible_from<store_record, Record const&>
    void apply(Record const& r) {
        if constexpr (std::same_as<Record, store_record>) std::visit([this](auto const& e) { this->on(e); }, r);
        else apply(store_record(r));
    }
    [[nodiscard]] bool empty() const noexcept {
        return samples.empty() && activations.empty() && confirmations.empty();
    }

private:
    void on(sample_taken const& e) {
        samples.push_back({e.seq, e.sample});
        next_seq = std::max(next_seq, e.seq + 1);
    }
    void on(samples_released const& e) {
        std::erase_if(samples, [&](sample_entry const& s) {
            return std::find(e.seqs.begin(), e.seqs.end(), s.seq) != e.seqs.end();
        });
    }
    void on(activation_changed const& e) {
        auto it = std::find_if(activations.begin(), activations.end(),
                               [&](tracked_activation const& t) { return t.a.id == e.state.a.id; });
        if (it == activations.end()) activations.push_back(e.state);
        else *it = e.state;
        if (e.to_confirm) {
            std::erase_if(confirmations, [&](owed_confirmation const& c) { return c.id == e.state.a.id; });
            confirmations.push_back({e.state.a.id, *e.to_confirm});
        }
    }
    void on(confirmation_done const& e) {
        std::erase_if(confirmations, [&](owed_confirmation const& c) { return c.id == e.id; });
        for (auto& t : activations)
            if (t.a.id == e.id) t.confirmed = true;
    }
    void on(activation_forgotten const& e) {
        std::erase_if(activations, [&](tracked_activation const& t) { return t.a.id == e.id; });
        std::erase_if(confirmations, [&](owed_confirmation const& c) { return c.id == e.id; });
    }
};

/// @brief A type the agent can keep its state in.
///
/// - `s.load()` → `result<store_image>`: everything recorded so far (called
///   once, by `start()`; an error makes `start()` fail);
/// - `s.append(record)` → `result<void>`: keeps one event. It runs on the
///   agent's executor and should return quickly. An error is logged and
///   counted (`store_failures`); the agent carries on in memory.
/// - `S::durable` (optional, `bool`): `false` lets the agent skip building
///   events nobody keeps.
template <class S>
concept Store = requires(S& s, store_record const& r) {
    { s.load() } -> std::same_as<result<store_image>>;
    { s.append(r) } -> std::same_as<result<void>>;
};

/// @brief Whether an agent with store `S` records events (true unless `S::durable` says otherwise).
template <class S>
inline constexpr bool is_durable_store = [] {
    if constexpr (requires { S::durable; }) return static_cast<bool>(S::durable);
    else return true;
}();

/// @brief The default store: keeps nothing. An agent restarted with it
/// begins empty and learns the activations again from its first poll.
struct memory_store {
    static constexpr bool durable = false;
    result<store_image> load() { return store_image{}; }
    result<void> append(store_record const&) noexcept { return {}; }
};

} // namespace cleori
