#pragma once
/// @file
/// @brief `cleori::telemetry_outbox` — the bounded, ordered store of samples
/// not yet acknowledged by Cleori. Sans-I/O: the agent decides when to send,
/// the outbox decides what.
///
/// Every sample gets a sequence number. The newest unsent sample goes first
/// (`live()`), so a back-fill never delays current telemetry; the rest leave
/// oldest first in batches (`backlog(n)`). A sample leaves the outbox only when
/// acknowledged (`acknowledge(seqs)`), so nothing inside the bound is lost.
/// When the outbox is full the oldest sample is evicted and counted
/// (`evicted()`): beyond the bound, the oldest telemetry is the first to go,
/// because Cleori values recent telemetry most.
///
/// @code
/// cleori::telemetry_outbox box{360};     // 30 min at 5 s
/// box.push(sample);
/// if (auto live = box.live()) send(live->sample) && box.acknowledge(live->seq);
/// auto batch = box.backlog(100);         // oldest first, never the live one
/// @endcode

#include <cleori/api/telemetry_sample.hpp>
#include <cleori/detail/handler_pool.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace cleori {

/// @brief The outbox. See the file comment. Name it as `cleori::telemetry_outbox`.
///
/// A class template only so that its member functions are compiled where an
/// outbox is used: a translation unit that includes the headers but makes no
/// agent does not pay for them. `Unused` has no other role.
template <class Unused = void>
class basic_telemetry_outbox {
public:
    struct entry {
        std::uint64_t seq;
        telemetry_sample sample;
    };

    /// @param capacity the most samples kept (at least 1)
    explicit basic_telemetry_outbox(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

    /// @brief Adds a sample. @return the sequence number of the oldest
    /// sample, when it was evicted to make room.
    std::optional<std::uint64_t> push(telemetry_sample const& s) { return restore(next_seq_, s); }

    /// @brief Puts back a sample kept from before a restart, under its old
    /// sequence number (call in order, before any `push`). Evicts like `push`.
    std::optional<std::uint64_t> restore(std::uint64_t seq, telemetry_sample const& s) {
        std::optional<std::uint64_t> evicted;
        if (size() == capacity_) {
            evicted = q_[head_].seq;
            pop_front();
            ++evicted_;
        }
        push_back({seq, s});
        next_seq_ = std::max(next_seq_, seq + 1);
        return evicted;
    }
    /// @brief Makes the next `push` number its sample at least `seq`.
    void skip_to(std::uint64_t seq) noexcept { next_seq_ = std::max(next_seq_, seq); }

    /// @brief The newest sample, if it has not been acknowledged.
    [[nodiscard]] std::optional<entry> live() const {
        if (empty() || q_.back().seq + 1 != next_seq_) return std::nullopt;
        return q_.back();
    }

    /// @brief Up to `n` of the oldest samples, in time order, excluding the
    /// live one (which goes on its own).
    [[nodiscard]] std::vector<entry> backlog(std::size_t n) const {
        std::vector<entry> out;
        std::size_t const stop = live() ? size() - 1 : size();
        for (std::size_t i = 0; i < stop && out.size() < n; ++i) out.push_back(q_[head_ + i]);
        return out;
    }

    /// @brief Removes acknowledged samples (those already evicted are ignored).
    /// @return how many were removed
    std::size_t acknowledge(std::span<std::uint64_t const> seqs) {
        auto const kept = std::remove_if(q_.begin() + static_cast<std::ptrdiff_t>(head_), q_.end(), [&](entry const& e) {
            return std::find(seqs.begin(), seqs.end(), e.seq) != seqs.end();
        });
        auto const removed = static_cast<std::size_t>(q_.end() - kept);
        q_.erase(kept, q_.end());
        if (empty()) drained();
        return removed;
    }
    std::size_t acknowledge(std::uint64_t seq) { return acknowledge(std::span(&seq, 1)); }

    [[nodiscard]] std::size_t size() const noexcept { return q_.size() - head_; }
    [[nodiscard]] bool empty() const noexcept { return q_.size() == head_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    /// @brief Samples evicted unsent because the outbox was full.
    [[nodiscard]] std::uint64_t evicted() const noexcept { return evicted_; }

private:
    // The samples are q_[head_ …]: one vector, used as a queue. An agent's
    // outbox holds one or two samples between acknowledgements; a deque
    // would hold a 512-byte block and its map for each of them, for each
    // asset of a fleet. Its storage comes from the thread's pool and goes
    // back there whenever the outbox is empty, so an idle agent holds none.
    using storage = std::vector<entry, detail::pooled_allocator<entry>>;

    void pop_front() noexcept {
        if (++head_ == q_.size()) drained();
    }
    void push_back(entry const& e) {
        // Room is made at the front once half the vector is spent there, so
        // a full outbox that evicts as it goes moves each sample once.
        if (q_.size() == q_.capacity() && head_ > 0 && head_ * 2 >= q_.size()) {
            q_.erase(q_.begin(), q_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
        q_.push_back(e);
    }
    void drained() noexcept {
        storage().swap(q_);
        head_ = 0;
    }

    std::size_t capacity_;
    storage q_;
    std::size_t head_ = 0;
    std::uint64_t next_seq_ = 0;
    std::uint64_t evicted_ = 0;
};

using telemetry_outbox = basic_telemetry_outbox<>;

} // namespace cleori
