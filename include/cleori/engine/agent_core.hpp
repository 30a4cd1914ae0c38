#pragma once
/// @file
/// @brief `cleori::agent_core` — every decision of the agent as a sans-I/O
/// state machine: no Asio, no coroutines, no clocks. Events go in with the
/// time they happened (a poll's result, a device's answer, a request's
/// outcome, a wake-up); actions come out (read the device, command it to
/// P, send these samples, poll, send this confirmation) together with the
/// instant the core wants to be woken at. `cleori::basic_agent` is one
/// driver of it; tests drive it directly, event by event.
///
/// @code
/// cleori::agent_core core{ratings, config};
/// core.start(t);                                    // t: {monotonic now, wall now}
/// while (auto a = core.next_action()) perform(*a);  // perform() feeds results back:
/// core.on_device_command(t, op, ec);                //   core.on_poll(t, request, poll) …
/// if (auto w = core.wake_at()) timer.expires_at(*w);  // then core.on_wake(t)
/// @endcode
///
/// Activations are addressed by id, never by a position that can move, and
/// no decision waits for an answer: a device that hangs delays nothing but
/// its own next operation. The rules it keeps are listed, each with the test
/// that proves it, in doc/engine.md.

#include <cleori/api/activation.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/device/battery_device.hpp>
#include <cleori/detail/fifo.hpp>
#include <cleori/detail/handler_pool.hpp>
#include <cleori/detail/narrow_counts.hpp>
#include <cleori/detail/optional_time.hpp>
#include <cleori/engine/audit.hpp>
#include <cleori/engine/lifecycle.hpp>
#include <cleori/engine/outbox.hpp>
#include <cleori/store/store.hpp>

#include <boost/system/error_code.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cleori {

/// @brief Monotonic time as the engine uses it, whatever the Clock.
using mono_time = std::chrono::steady_clock::time_point;

/// @brief Settings of an agent. Defaults follow Cleori's rules with margin.
struct agent_config {
    std::string token{};                                   ///< the asset's bearer token (never logged)
    std::chrono::milliseconds telemetry_interval{5000};    ///< sampling and sending cadence; at most 10 s
    std::chrono::milliseconds poll_interval{5000};         ///< activation polling cadence; at most 60 s
    std::chrono::minutes outbox_span{30};                  ///< an outage this long loses no telemetry
    std::chrono::milliseconds confirm_retry_interval{2000}; ///< first wait after a failed confirmation (doubles per failure)
    std::chrono::milliseconds confirm_retry_cap{30000};    ///< longest wait between attempts of one confirmation
    std::chrono::milliseconds soc_max_age{30000};          ///< a SoC reading older than this is unknown
    std::chrono::milliseconds device_margin{500};          ///< a device operation's deadline is response_time + this
};

/// @brief Severity of a log line.
enum class log_level { debug, info, warning, error };

/// @brief Counters a user can read (from the agent's executor thread).
struct agent_counters {
    std::uint64_t samples_taken = 0;         ///< device readings turned into samples (one per instant)
    std::uint64_t sample_read_failures = 0;  ///< readings that failed, timed out or had no usable value
    std::uint64_t samples_sent = 0;          ///< samples acknowledged by Cleori
    std::uint64_t samples_evicted = 0;       ///< oldest samples dropped, not acknowledged, because the outbox was full
    std::uint64_t samples_abandoned = 0;     ///< samples still unsent when the agent stopped
    std::uint64_t telemetry_requests = 0;    ///< telemetry requests acknowledged
    std::uint64_t telemetry_failures = 0;    ///< telemetry requests that failed (after retries)
    std::uint64_t polls = 0;                 ///< successful polls
    std::uint64_t poll_failures = 0;         ///< polls that failed (after retries)
    std::uint64_t activations_received = 0;  ///< distinct activation ids accepted for consideration
    std::uint64_t activations_invalid = 0;   ///< activations the poll carried but could not be read
    std::uint64_t activations_refused = 0;   ///< reported unavailable before they ran
    std::uint64_t activations_applied = 0;   ///< started executing (the device accepted their share); once each
    std::uint64_t activations_ended = 0;     ///< ended (any reason)
    std::uint64_t activations_resumed = 0;   ///< ended for lost contact, then served again and resumed
    std::uint64_t confirmations_sent = 0;    ///< confirmations acknowledged
    std::uint64_t confirmation_failures = 0; ///< confirmation attempts that failed (retried later)
    std::uint64_t setpoints_applied = 0;     ///< setpoint commands the device accepted
    std::uint64_t setpoint_failures = 0;     ///< setpoint commands the device refused or did not answer in time
    std::uint64_t device_timeouts = 0;       ///< device operations that missed their deadline
    std::uint64_t device_late_answers = 0;   ///< answers that came after their deadline (ignored)
    std::uint64_t commands_withdrawn = 0;    ///< commands not sent: their driver reached them after `valid_until`
    std::uint64_t soc_limit_stops = 0;       ///< times a direction went to 0 kW at a SoC limit
    std::uint64_t store_failures = 0;        ///< events the store could not keep (logged; the agent goes on)
    std::uint64_t samples_restored = 0;      ///< unsent samples read back from the store at start
    std::uint64_t activations_restored = 0;  ///< activations read back from the store at start
    std::uint64_t confirmations_restored = 0; ///< owed confirmations read back from the store at start
};

namespace detail {
// The core's copy of `agent_counters`, 32 bits a count (see narrow_counts).
using core_counts = narrow_counts<agent_counters,
                                  &agent_counters::samples_taken,
                                  &agent_counters::sample_read_failures,
                                  &agent_counters::samples_sent,
                                  &agent_counters::samples_evicted,
                                  &agent_counters::samples_abandoned,
                                  &agent_counters::telemetry_requests,
                                  &agent_counters::telemetry_failures,
                                  &agent_counters::polls,
                                  &agent_counters::poll_failures,
                                  &agent_counters::activations_received,
                                  &agent_counters::activations_invalid,
                                  &agent_counters::activations_refused,
                                  &agent_counters::activations_applied,
                                  &agent_counters::activations_ended,
                                  &agent_counters::activations_resumed,
                                  &agent_counters::confirmations_sent,
                                  &agent_counters::confirmation_failures,
                                  &agent_counters::setpoints_applied,
                                  &agent_counters::setpoint_failures,
                                  &agent_counters::device_timeouts,
                                  &agent_counters::device_late_answers,
                                  &agent_counters::commands_withdrawn,
                                  &agent_counters::soc_limit_stops,
                                  &agent_counters::store_failures,
                                  &agent_counters::samples_restored,
                                  &agent_counters::activations_restored,
                                  &agent_counters::confirmations_restored>;
static_assert(core_counts::size * sizeof(std::uint64_t) == sizeof(agent_counters),
              "every count in agent_counters is listed in core_counts");
} // namespace detail

/// @brief One asset's state at a moment, for monitoring: a copy, safe to keep
/// and to read on any thread (`basic_agent::status()` on the agent's
/// executor, `basic_agent::async_status` from elsewhere).
struct agent_status {
    agent_counters counters{};
    std::optional<timestamp> last_telemetry_ack{}; ///< wall time of the last acknowledged telemetry request
    std::optional<timestamp> last_poll_ok{};       ///< wall time of the last successful poll
    std::optional<timestamp> last_reading{};       ///< wall time of the last device reading with a value
    std::optional<kilowatts> measured_power{};     ///< from the last reading that had it
    std::optional<percent> soc{};                  ///< from the last reading that had it
    kilowatts commanded{};                         ///< the setpoint the device last accepted
    std::size_t outbox_depth = 0;                  ///< samples waiting to be sent
    /// Samples evicted from the full outbox while their request is in flight,
    /// counted as sent or evicted when it ends (`agent_core::evicted_in_flight`).
    std::size_t evicted_in_flight = 0;
    /// Activations by phase, indexed by `activation_phase` (scheduled … refused).
    std::array<std::size_t, 5> activations{};
    /// 401 or 403 answers in a row to polls and telemetry (0 after any success):
    /// a token that is wrong for good shows here first.
    unsigned consecutive_auth_failures = 0;
    unsigned last_auth_status = 0; ///< 401 or 403, the last such answer
    bool started = false;
    bool stopping = false;
    bool stopped = false;
};

/// @brief Event hooks; each may be empty. They run on the agent's executor,
/// inside the core's decision, and must not block or call back into the agent.
struct agent_hooks {
    std::function<void(activation const&)> on_activation_received{};
    std::function<void(activation const&, std::string_view reason)> on_activation_refused{};
    std::function<void(activation const&, kilowatts setpoint)> on_activation_applied{};
    std::function<void(activation const&, confirmation const&)> on_activation_confirmed{};
    std::function<void(activation const&, end_reason)> on_activation_ended{};
    std::function<void(std::size_t samples)> on_telemetry_sent{};
    std::function<void(std::size_t samples)> on_telemetry_dropped{};
    std::function<void(kilowatts setpoint)> on_setpoint{};
    std::function<void(std::string_view what)> on_error{};
    /// One record per event of an activation's life, for the settlement audit
    /// trail (`<cleori/engine/audit.hpp>`; a file sink: `cleori::audit_log`).
    /// Empty: no record is built and no energy is integrated. Attach it before
    /// `start()`: activations received earlier have no energy account.
    std::function<void(audit_record const&)> on_audit{};
};

/// @brief The two clocks at the instant of an event: monotonic (cadence,
/// deadlines, wake-ups) and wall (sample times, activation windows).
struct core_time {
    mono_time now{};
    timestamp wall{};
};

/// @brief Why a request to Cleori failed, as the core needs it.
struct call_failure {
    boost::system::error_code ec{};
    unsigned status = 0;                                    ///< HTTP status, 0 if none
    std::optional<std::chrono::milliseconds> retry_after{}; ///< the server's Retry-After
    std::string text{};                                     ///< one line for the log (never the token)
};

/// @brief The API-profile facts the core decides with.
struct core_profile {
    std::chrono::minutes open_ended_grace{15};   ///< an open-ended activation unseen this long ends locally
    std::chrono::minutes open_ended_horizon{15}; ///< the power an open-ended activation commits is assessed this far ahead
    std::size_t max_telemetry_batch = 100;
    bool unavailable_after_executing = true;     ///< Cleori accepts `unavailable` after `executing` (stop at a limit)
};

/// @name Actions the core asks its driver to perform
/// Each carries an id; the driver reports the outcome with the same id.
/// @{
struct read_device {
    std::uint64_t op;
    mono_time deadline; ///< an answer after this is a failure (the core stops waiting by itself)
};
struct command_device {
    std::uint64_t op;
    kilowatts setpoint; ///< the sum of `shares`, within the ratings
    mono_time deadline;
    /// Activation id → its part of the setpoint. Owned by the core: valid
    /// until this command's outcome is reported or its deadline passes.
    std::span<std::pair<std::string, kilowatts> const> shares;
    /// The wall time at which the first of `shares` ends (`timestamp::max()`
    /// when none does). A driver that gets to the command only at or after
    /// it (a slow journal write, a busy thread) must not send it: the power
    /// would reach the device outside its window. It reports
    /// `agent_core::on_device_command_withdrawn` instead, and the core
    /// decides again with the activation ended.
    timestamp valid_until = timestamp::max();
};
struct send_telemetry {
    std::uint64_t request;
    /// One, or a back-fill batch oldest first. Owned by the core and left
    /// untouched until the outcome of this request is reported.
    std::span<telemetry_sample const> samples;
    mono_time deadline;
};
struct poll_activations {
    std::uint64_t request;
    mono_time deadline;
};
struct send_confirmation {
    std::uint64_t request;
    std::string activation_id;
    confirmation body;
    mono_time deadline;
};
using core_action = std::variant<read_device, command_device, send_telemetry, poll_activations, send_confirmation>;
/// @}

/// @brief The agent's decisions. See the file comment. Name it as
/// `cleori::agent_core`.
///
/// A class template only so that its member functions are compiled where a
/// core is used: a translation unit that includes the headers but makes no
/// agent does not pay for them. `Unused` has no other role.
template <class Unused = void>
class basic_agent_core {
public:
    /// Longest allowed cadences (Cleori's rules) and the caps on `Retry-After`.
    static constexpr std::chrono::milliseconds max_telemetry_interval{10000};
    static constexpr std::chrono::milliseconds max_poll_interval{60000};

    basic_agent_core(battery_ratings ratings, agent_config const& config, core_profile profile = {})
        : r_(ratings), cfg_(config), prof_(profile),
          // An outage of a whole span, and the sample taken as it ends.
          outbox_(static_cast<std::size_t>(std::max<std::int64_t>(
              1, std::chrono::duration_cast<std::chrono::milliseconds>(config.outbox_span).count() /
                         std::max<std::int64_t>(1, config.telemetry_interval.count()) +
                     1))) {
        // The core sends nothing, so it keeps no copy of the secret.
        std::string().swap(cfg_.token);
    }
    // Move-only: a queued `command_device` views the in-flight command's
    // shares, which a move keeps in place and a copy would not.
    basic_agent_core(basic_agent_core const&) = delete;
    basic_agent_core& operator=(basic_agent_core const&) = delete;
    basic_agent_core(basic_agent_core&&) = default;
    basic_agent_core& operator=(basic_agent_core&&) = default;

    /// @brief The hooks, made on first use: a core that no one hooks into
    /// keeps none (a fleet has thousands of cores).
    agent_hooks& hooks() {
        if (!extras_) extras_ = std::make_unique<extras>();
        return extras_->hooks;
    }
    std::function<void(log_level, std::string_view)> log;
    /// Receives every change before any action that depends on it (empty: nothing is kept).
    std::function<void(store_record const&)> journal;

    /// @brief The most the driver's wake-ups may come after `wake_at()`: the
    /// tick of a clock whose timers fire on a grid (`coalescing_clock`).
    /// The limits that Cleori's rules make hard — at most 60 s between polls
    /// and 10 s of telemetry held for `Retry-After` — are then kept earlier by
    /// as much, and the energy guard stops a direction as much earlier. Set it
    /// before `start`; rounded up to whole milliseconds.
    void set_wake_slack(std::chrono::nanoseconds slack) noexcept {
        auto const ms = std::chrono::ceil<std::chrono::milliseconds>(std::max(slack, std::chrono::nanoseconds::zero()));
        wake_slack_ms_ = static_cast<std::uint32_t>(std::min<std::int64_t>(ms.count(), max_wake_slack.count()));
    }
    /// @brief The largest slack a driver may have (and `set_wake_slack` keeps).
    static constexpr std::chrono::milliseconds max_wake_slack{1000};
    [[nodiscard]] std::chrono::milliseconds wake_slack() const noexcept {
        return std::chrono::milliseconds(wake_slack_ms_);
    }

    /// @brief The configuration the core was made with, without the token
    /// (the core sends nothing; the token stays with whoever does).
    [[nodiscard]] agent_config const& config() const noexcept { return cfg_; }
    /// @brief The deadline of one device operation: response time + margin.
    [[nodiscard]] std::chrono::milliseconds device_timeout() const noexcept { return r_.response_time + cfg_.device_margin; }
    /// @brief How long after its start an activation may wait for the device to
    /// accept its setpoint before it is confirmed `unavailable`: two device
    /// deadlines (one operation may be ahead of the command).
    [[nodiscard]] std::chrono::milliseconds apply_timeout() const noexcept { return 2 * device_timeout(); }
    /// @brief How long after `stop` baseline is tried: one telemetry interval,
    /// but at least long enough for the operation in flight to time out, the
    /// retry pause to pass and one baseline command to answer.
    [[nodiscard]] std::chrono::milliseconds baseline_window() const noexcept {
        return std::max(cfg_.telemetry_interval, 2 * device_timeout() + command_retry_pause());
    }
    /// @brief The pause before a failed setpoint is commanded again.
    [[nodiscard]] std::chrono::milliseconds command_retry_pause() const noexcept {
        return std::min(std::chrono::milliseconds(500), device_timeout());
    }

    /// @brief Puts back what a store kept. Call before `start`, with
    /// `journal` already set: samples evicted because the image holds more
    /// than the outbox are released from the store through it.
    void restore(store_image image, core_time t) {
        // More than the outbox holds (a shorter outbox_span since): the
        // oldest are evicted and counted, so the counts still add up.
        for (auto const& e : image.samples) {
            if (auto gone = outbox_.restore(e.seq, e.sample)) evicted(*gone);
            last_sample_time_ = e.sample.time;
        }
        outbox_.skip_to(image.next_seq + 1);
        counters_.add<&agent_counters::samples_restored>(image.samples.size());
        tracked_ = std::move(image.activations);
        for (auto& a : tracked_) {
            // The command may not have reached the device before the crash.
            if (a.phase == activation_phase::starting) a.phase = activation_phase::scheduled;
            if (a.phase == activation_phase::executing) a.executing_sent = true;
            // An open-ended activation gets a full grace period from the restart.
            if (!a.a.end_time && is_committed(a.phase)) a.last_seen = std::max(a.last_seen, t.wall);
            // What happened before the restart is not known here: the account starts now.
            if (auditing() && is_committed(a.phase)) audit_open(a.a, t.wall);
        }
        for (auto& c : image.confirmations) owed_.push_back({std::move(c.id), std::move(c.c), t.now, 0, 0, {}});
        counters_.set<&agent_counters::activations_restored>(tracked_.size());
        counters_.set<&agent_counters::confirmations_restored>(owed_.size());
        // Known activations let the device be commanded before the first poll.
        control_ready_ = !tracked_.empty();
        if (log && !image.empty()) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "restored from the store: %zu unsent samples, %zu activations, %zu owed confirmations",
                          outbox_.size(), tracked_.size(), owed_.size());
            say(log_level::info, buf);
        }
    }

    /// @brief Starts the cadences: the first reading and poll are due now.
    void start(core_time t) {
        started_ = true;
        next_sample_ = t.now;
        next_poll_ = t.now;
        decide(t);
    }

    /// @brief Stops: every activation ends (`shutdown`), baseline is commanded
    /// (retried until accepted for one telemetry interval), no more polls or
    /// confirmations are started, and the sender gets one telemetry interval
    /// to deliver the outbox.
    void stop(core_time t) {
        if (stopping_) return;
        stopping_ = true;
        stop_deadline_ = t.now + cfg_.telemetry_interval;
        baseline_deadline_ = t.now + baseline_window();
        tele_failed_ = false; // one last attempt, whatever failed before
        tele_retry_from_seq_ = 0; // (a Retry-After still holds)
        for (auto& a : tracked_)
            if (is_committed(a.phase)) end(a, end_reason::shutdown, t, {});
        if (auditing()) {
            for (auto const& w : awaiting_)
                if (!w.resume) audit_close(w.a.id, end_reason::shutdown, false, {}, t);
            audit_flush(t);
        }
        awaiting_.clear(); // nothing new starts while stopping
        awaiting_deadline_.reset();
        read_due_ = soc_read_wanted_ = false;
        control_ready_ = true;
        command_retry_at_ = t.now;
        decide(t);
    }

    /// @brief The timer the driver set fired (or any time: decisions are idempotent).
    void on_wake(core_time t) { decide(t); }

    /// @brief A device reading completed.
#if defined(__GNUC__) && !defined(__clang__)
// g++ 12 at -O3 reports the optional SoC inside result<telemetry_sample> as
// maybe-uninitialized after inlining (a known false positive with optionals
// in variants); the value is always initialized by make_sample.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    void on_device_read(core_time t, std::uint64_t op, boost::system::error_code ec, battery_state st) {
        if (!read_answered(t, op)) return;
        if (ec) {
            counters_.add<&agent_counters::sample_read_failures>();
            error("device reading failed: " + ec.message());
            soc_read_failed(t);
        } else if (auto smp = make_sample(t.wall, st)) {
            last_reading_ = t.wall;
            if (smp->power) last_power_ = *smp->power;
            if (auditing() && smp->power) audit_reading(t.wall, smp->power->in_kw());
            if (smp->soc) last_soc_ = *smp->soc;
            if (smp->soc) {
                soc_ = soc_reading{*smp->soc, t.now};
                soc_est_ = *smp->soc;
                soc_est_at_ = t.now;
            }
            // Cleori keys samples by time: a second reading at the same
            // instant (a SoC read and a sample tick answered together) feeds
            // the SoC but is not a second sample.
            if (last_sample_time_ != smp->time) {
                last_sample_time_ = smp->time;
                counters_.add<&agent_counters::samples_taken>();
                auto const gone = outbox_.push(*smp);
                if (journal) record(sample_taken{outbox_.live()->seq, *smp});
                if (gone) evicted(*gone);
            }
            if (smp->soc) soc_known(t);
            else soc_read_failed(t);
        } else {
            counters_.add<&agent_counters::sample_read_failures>();
            error("device reading had no usable power or soc");
            soc_read_failed(t);
        }
        decide(t);
    }

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

    /// @brief A setpoint command completed.
    void on_device_command(core_time t, std::uint64_t op, boost::system::error_code ec) {
        if (!answered_in_time(t, op, op_kind::command)) {
            // A command answered after its deadline may still have been
            // applied: what the device holds is unknown until commanded again.
            // (Past the deadline but before the wake-up that times it out,
            // e.g. with a late-waking driver, it is late all the same.)
            counters_.add<&agent_counters::device_late_answers>();
            device_known_ = false;
            decide(t);
            return;
        }
        auto done = std::move(*dev_);
        dev_.reset();
        if (ec) {
            command_failed(t, done, "refused by the device: " + ec.message());
        } else {
            integrate_soc(t.now);
            accepted_ = done.setpoint;
            device_known_ = true;
            last_command_error_.clear();
            accepted_shares_ = std::move(done.shares);
            counters_.add<&agent_counters::setpoints_applied>();
            fire<&agent_hooks::on_setpoint>(done.setpoint);
            // By index, so the loop stays within the shares whatever a hook does.
            for (std::size_t i = 0; i < accepted_shares_.size(); ++i) {
                auto const& [id, share] = accepted_shares_[i];
                if (auditing()) audit(id, t, audit_commanded{share, done.setpoint});
                auto* a = find(id);
                if (!a || a->phase != activation_phase::starting || a->setpoint != share) continue;
                a->phase = activation_phase::executing;
                if (a->executing_sent) {
                    // Resumed (after lost contact, or a wall clock stepped back
                    // before its start): Cleori has its confirmation already,
                    // and the activation was counted when it first ran.
                    if (journal) record(activation_changed{*a, std::nullopt});
                    continue;
                }
                a->executing_sent = true;
                counters_.add<&agent_counters::activations_applied>();
                confirmation c{t.wall, confirmation_status::executing, std::nullopt, a->setpoint};
                // Executing and the confirmation it owes, as one event.
                if (journal) record(activation_changed{*a, c});
                if (log) say(log_level::info, "activation " + a->a.id + " executing at " + kw_text(a->setpoint));
                fire<&agent_hooks::on_activation_applied>(a->a, a->setpoint);
                owe(a->a.id, c, t);
            }
        }
        decide(t);
    }

    /// @brief The driver did not send command `op`: it got to it at or after
    /// the command's `valid_until`. Nothing reached the device, so nothing is
    /// counted against it; the core decides again at `t`, where the activation
    /// that ended is no longer in the setpoint.
    void on_device_command_withdrawn(core_time t, std::uint64_t op) {
        if (!dev_ || dev_->op != op || dev_->kind != op_kind::command) return;
        auto const done = std::move(*dev_);
        dev_.reset();
        counters_.add<&agent_counters::commands_withdrawn>();
        // Withdrawn before any share ended, the same command would come back
        // at once: a pause keeps a driver that withdraws early from spinning.
        bool const any_ended = std::any_of(done.shares.begin(), done.shares.end(), [&](auto const& share) {
            auto const* a = find(share.first);
            return !a || !is_running(a->phase) || t.wall >= runs_until(*a);
        });
        if (!any_ended) command_retry_at_ = t.now + command_retry_pause();
        decide(t);
    }

    /// @brief A poll completed.
    void on_poll(core_time t, std::uint64_t request, activation_poll const& poll) {
        if (request != poll_req_) return;
        poll_req_ = 0;
        counters_.add<&agent_counters::polls>();
        last_poll_ok_ = t.wall;
        auth_failures_ = 0;
        control_ready_ = true;
        if (!stopping_) merge(poll, t); // stopping: nothing new may start
        decide(t);
    }
    void on_poll_failed(core_time t, std::uint64_t request, call_failure const& f) {
        if (request != poll_req_) return;
        poll_req_ = 0;
        counters_.add<&agent_counters::poll_failures>();
        note_auth(f);
        control_ready_ = true; // no answer: command what is known (baseline)
        error("poll: " + f.text);
        if (f.retry_after) {
            auto const hold = std::min(t.now + *f.retry_after, poll_started_ + max_poll_interval - wake_slack());
            next_poll_ = std::max(next_poll_, hold);
        }
        decide(t);
    }

    /// @brief A telemetry request completed (`failure` empty: acknowledged).
    void on_telemetry(core_time t, std::uint64_t request, call_failure const* failure) {
        if (request != tele_req_) return;
        tele_req_ = 0;
        // Samples evicted while this request was in flight are settled by its outcome.
        auto const in_doubt = std::exchange(tele_evicted_in_flight_, 0u);
        if (failure) {
            if (in_doubt != 0) {
                counters_.add<&agent_counters::samples_evicted>(in_doubt);
                fire<&agent_hooks::on_telemetry_dropped>(std::size_t{in_doubt});
            }
            counters_.add<&agent_counters::telemetry_failures>();
            note_auth(*failure);
            tele_failed_ = true;
            error((tele_seqs_.size() > 1 || !tele_was_live_ ? "telemetry back-fill: " : "telemetry: ") + failure->text);
            if (failure->retry_after) {
                // Held as the server asks, but never past 10 s from the last
                // attempt; then the same sample is tried again.
                tele_hold_ = std::min(t.now + *failure->retry_after,
                                      tele_started_ + max_telemetry_interval - wake_slack());
            } else {
                // Tried once: the next attempt waits for a newer sample.
                tele_retry_from_seq_ = tele_seqs_.empty() ? 0 : tele_seqs_.back() + 1;
            }
        } else {
            tele_failed_ = false;
            // Cleori has the samples evicted while they were in flight, too.
            auto const removed = outbox_.acknowledge(tele_seqs_) + in_doubt;
            if (journal) record(samples_released{tele_seqs_});
            counters_.add<&agent_counters::telemetry_requests>();
            last_telemetry_ack_ = t.wall;
            auth_failures_ = 0;
            counters_.add<&agent_counters::samples_sent>(removed);
            fire<&agent_hooks::on_telemetry_sent>(removed);
        }
        decltype(tele_seqs_)().swap(tele_seqs_);
        decltype(tele_samples_)().swap(tele_samples_);
        decide(t);
    }

    /// @brief A confirmation request completed (`failure` empty: acknowledged).
    void on_confirmation(core_time t, std::uint64_t request, call_failure const* failure) {
        auto const it = owed_in_flight(request);
        if (it == owed_.end()) return;
        it->in_flight = 0;
        if (auditing()) {
            auto const answer = !failure             ? confirmation_answer::acknowledged
                                : permanent(*failure) ? confirmation_answer::rejected
                                                      : confirmation_answer::failed;
            audit(it->id, t, audit_confirmed{it->c, answer, failure ? failure->status : 0u,
                                             failure ? failure->text : std::string{}});
        }
        bool done = !failure;
        if (failure) {
            counters_.add<&agent_counters::confirmation_failures>();
            error("confirm " + it->id + ": " + failure->text);
            if (permanent(*failure)) {
                // Cleori refuses it for good (e.g. 404: unknown); retrying cannot help.
                done = true;
            } else {
                ++it->failures;
                auto wait = cfg_.confirm_retry_interval;
                for (unsigned i = 1; i < it->failures && wait < cfg_.confirm_retry_cap; ++i) wait *= 2;
                wait = std::min(wait, cfg_.confirm_retry_cap);
                if (failure->retry_after) wait = std::max(wait, std::min(*failure->retry_after, max_poll_interval));
                it->next_attempt = t.now + wait;
            }
        }
        if (done) {
            std::string const id = it->id;
            confirmation const c = it->c;
            if (it->then) { // a newer confirmation for the same id waited for this one
                it->c = std::move(*it->then);
                it->then.reset();
                it->failures = 0;
                it->next_attempt = t.now;
            } else {
                owed_.erase(it);
                if (journal) record(confirmation_done{id});
            }
            if (!failure) {
                counters_.add<&agent_counters::confirmations_sent>();
                if (auto* a = find(id)) {
                    a->confirmed = true;
                    fire<&agent_hooks::on_activation_confirmed>(a->a, c);
                }
            }
        }
        decide(t);
    }

    /// @brief The store could not keep an event (the core carries on in memory).
    void on_store_failure(std::string const& what) {
        counters_.add<&agent_counters::store_failures>();
        error("store: " + what);
    }

    /// @brief The next action to perform, in order; empty when there is none.
    std::optional<core_action> next_action() {
        while (auto q = actions_.pop()) {
            if (auto const* c = std::get_if<queued_confirmation>(&*q)) {
                auto const it = owed_in_flight(c->request);
                if (it == owed_.end()) continue; // (an in-flight entry stays until its outcome is reported)
                return std::optional<core_action>(std::in_place,
                                                  send_confirmation{c->request, it->id, it->c, c->deadline});
            }
            return std::visit(
                [](auto& x) {
                    using T = std::decay_t<decltype(x)>;
                    if constexpr (std::is_same_v<T, queued_confirmation>) return std::optional<core_action>{};
                    else return std::optional<core_action>(std::in_place, std::in_place_type<T>, std::move(x));
                },
                *q);
        }
        return std::nullopt;
    }
    /// @brief When the core wants `on_wake`; empty when only an answer can move it.
    [[nodiscard]] std::optional<mono_time> wake_at() const noexcept { return wake_; }

    /// @brief True once stopping is complete: baseline accepted (or its retries
    /// ran out), nothing in flight, the outbox delivered or its time up.
    [[nodiscard]] bool stopped() const noexcept { return stopped_; }
    [[nodiscard]] bool stopping() const noexcept { return stopping_; }

    /// @brief The counts so far, as a copy: exact 64-bit counts, kept in 32
    /// bits each until one passes 2^32 - 1 (`detail::narrow_counts`).
    [[nodiscard]] agent_counters counters() const noexcept { return counters_.wide(); }
    /// @brief A snapshot for monitoring (see `agent_status`).
    [[nodiscard]] agent_status status() const {
        agent_status s{};
        s.counters = counters_.wide();
        s.last_telemetry_ack = last_telemetry_ack_;
        s.last_poll_ok = last_poll_ok_;
        s.last_reading = last_reading_;
        s.measured_power = last_power_;
        s.soc = last_soc_;
        s.commanded = commanded();
        s.outbox_depth = outbox_.size();
        s.evicted_in_flight = tele_evicted_in_flight_;
        for (auto const& a : tracked_) ++s.activations[static_cast<std::size_t>(a.phase)];
        s.consecutive_auth_failures = auth_failures_;
        s.last_auth_status = last_auth_status_;
        s.started = started_;
        s.stopping = stopping_;
        s.stopped = stopped();
        return s;
    }
    [[nodiscard]] std::vector<tracked_activation> const& activations() const noexcept { return tracked_; }
    [[nodiscard]] std::size_t outbox_size() const noexcept { return outbox_.size(); }
    /// @brief Samples evicted from a full outbox while the telemetry request
    /// carrying them is in flight. They count as sent or as evicted when that
    /// request ends, so at any moment `samples_taken + samples_restored ==
    /// samples_sent + samples_evicted + outbox_size() + evicted_in_flight()`.
    [[nodiscard]] std::size_t evicted_in_flight() const noexcept { return tele_evicted_in_flight_; }
    /// @brief The setpoint the device last accepted (0 before any).
    [[nodiscard]] kilowatts commanded() const noexcept { return accepted_.value_or(kilowatts{0.0}); }
    /// @brief The activations whose shares make up `commanded()`, with the shares.
    [[nodiscard]] std::vector<std::pair<std::string, kilowatts>> const& commanded_shares() const noexcept {
        return accepted_shares_;
    }
    /// @brief The state of charge the core decides with now (last reading
    /// carried forward with the accepted setpoint), if known.
    [[nodiscard]] std::optional<percent> soc_estimate(mono_time now) const {
        if (!soc_ || now - soc_->at > cfg_.soc_max_age) return std::nullopt;
        return percent{soc_est_.in_pct() + detail::soc_delta(r_, commanded().in_kw(), hours(now - soc_est_at_))};
    }
    [[nodiscard]] battery_ratings const& ratings() const noexcept { return r_; }

private:
    // Calls one hook, if it is set.
    template <auto Hook, class... A>
    void fire(A&&... a) const {
        if (extras_ && extras_->hooks.*Hook) (extras_->hooks.*Hook)(std::forward<A>(a)...);
    }
    [[nodiscard]] bool auditing() const noexcept { return extras_ && extras_->hooks.on_audit; }

    enum class op_kind : std::uint8_t { read, command };
    struct device_op {
        std::uint64_t op;
        op_kind kind;
        kilowatts setpoint;
        mono_time deadline;
        std::vector<std::pair<std::string, kilowatts>> shares; // activation id → its part of the setpoint
    };
    // A confirmation as queued: its id and body are copied from the owed
    // entry when it is taken, so the queue's items stay small (a fleet holds
    // one queue per agent).
    struct queued_confirmation {
        std::uint64_t request;
        mono_time deadline;
    };
    using queued_action = std::variant<read_device, command_device, send_telemetry, poll_activations, queued_confirmation>;
    struct owed {
        std::string id;
        confirmation c;
        mono_time next_attempt;
        unsigned failures;
        std::uint64_t in_flight; // request id, 0 when none
        std::optional<confirmation> then;
    };
    // The owed confirmation whose request `request` is, or end().
    typename std::vector<owed>::iterator owed_in_flight(std::uint64_t request) {
        return std::find_if(owed_.begin(), owed_.end(), [&](owed const& o) { return o.in_flight == request; });
    }
    struct soc_reading {
        percent soc;
        mono_time at;
    };
    struct pending_assessment {
        activation a;
        bool resume; // an activation ended for lost contact, served again
    };

    static double hours(mono_time::duration d) noexcept {
        return std::chrono::duration<double, std::ratio<3600>>(d).count();
    }
    static std::string kw_text(kilowatts p) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f kW", p.in_kw());
        return buf;
    }
    void say(log_level l, std::string const& line) {
        if (log) log(l, line);
    }
    void error(std::string const& what, log_level l = log_level::warning) {
        say(l, what);
        fire<&agent_hooks::on_error>(what);
    }
    void record(store_record const& r) {
        if (!journal) return;
        journal(r);
    }
    // A sample evicted from the outbox is gone from the store at once; it is
    // counted and reported as lost unless the request in flight carries it:
    // then that request's outcome decides whether Cleori has it.
    void evicted(std::uint64_t seq) {
        if (journal) record(samples_released{std::span(&seq, 1)});
        if (tele_req_ != 0 && std::find(tele_seqs_.begin(), tele_seqs_.end(), seq) != tele_seqs_.end()) {
            ++tele_evicted_in_flight_;
            return;
        }
        counters_.add<&agent_counters::samples_evicted>();
        fire<&agent_hooks::on_telemetry_dropped>(std::size_t{1});
    }
    void note_auth(call_failure const& f) {
        if (f.status != 401 && f.status != 403) return;
        ++auth_failures_;
        last_auth_status_ = f.status;
    }
    static bool permanent(call_failure const& f) noexcept {
        // 401 may heal with a rotated token; no status means no answer.
        return f.status >= 400 && f.status < 500 && f.status != 401 && f.status != 408 && f.status != 429;
    }
    tracked_activation* find(std::string_view id) {
        for (auto& a : tracked_)
            if (a.a.id == id) return &a;
        return nullptr;
    }
    mono_time mono_of(timestamp w, core_time t) const {
        return t.now + std::chrono::duration_cast<mono_time::duration>(w - t.wall);
    }

    // --- the device: one operation at a time, each with a deadline ---

    // Whether an answer is for the operation in flight, within its deadline.
    // One past the deadline is late even before the wake-up that times the
    // operation out (a driver or clock may report it first).
    [[nodiscard]] bool answered_in_time(core_time t, std::uint64_t op, op_kind kind) const noexcept {
        return dev_ && dev_->op == op && dev_->kind == kind && t.now <= dev_->deadline;
    }
    // A reading answered: false (and counted) when it is not the one in flight,
    // or came after its deadline.
    bool read_answered(core_time t, std::uint64_t op) {
        if (!answered_in_time(t, op, op_kind::read)) {
            counters_.add<&agent_counters::device_late_answers>();
            return false;
        }
        dev_.reset();
        return true;
    }
    void command_failed(core_time t, device_op const& op, std::string const& why) {
        counters_.add<&agent_counters::setpoint_failures>();
        device_known_ = false; // it may have applied it anyway
        error("setpoint " + kw_text(op.setpoint) + " " + why);
        last_command_error_ = why;
        command_retry_at_ = t.now + command_retry_pause();
    }

    // --- state of charge ---

    void integrate_soc(mono_time now) {
        if (!soc_) return;
        soc_est_ = percent{soc_est_.in_pct() + detail::soc_delta(r_, commanded().in_kw(), hours(now - soc_est_at_))};
        soc_est_at_ = now;
    }
    void soc_known(core_time t) {
        if (!awaiting_.empty()) assess_awaiting(t);
        recheck_scheduled(t);
    }
    void soc_read_failed(core_time t) {
        if (!awaiting_.empty()) assess_awaiting(t);
    }

    // --- energy and power ---

    // For energy an open-ended activation runs over the rolling horizon; for
    // power it runs until it ends, however far that is.
    detail::commitment_list commitments(core_time t, std::string_view except, bool for_power = false) const {
        detail::commitment_list out;
        for (auto const& a : tracked_) {
            if (!is_committed(a.phase) || a.a.id == except) continue;
            auto const from = std::max(a.a.start_time, t.wall);
            auto const to = for_power && !a.a.end_time ? timestamp::max() : window_end(a.a, t);
            if (to > from) out.push_back({a.setpoint, from, to});
        }
        return out;
    }
    timestamp window_end(activation const& a, core_time t) const {
        return a.end_time ? *a.end_time : std::max(a.start_time, t.wall) + prof_.open_ended_horizon;
    }

    struct verdict {
        bool ok = false;
        kilowatts share{};
        std::string reason{};
    };
    verdict assess(activation const& a, core_time t) {
        verdict v;
        auto const soc = soc_estimate(t.now);
        if (!soc) {
            char buf[160];
            if (!soc_) std::snprintf(buf, sizeof buf, "state of charge unknown: the device has not reported soc");
            else
                std::snprintf(buf, sizeof buf,
                              "state of charge unknown: the last reading is %.0f s old (readings older than %.0f s are not used)",
                              std::chrono::duration<double>(t.now - soc_->at).count(),
                              std::chrono::duration<double>(cfg_.soc_max_age).count());
            v.reason = buf;
            return v;
        }
        auto const from = std::max(a.start_time, t.wall);
        auto const to = window_end(a, t);
        if (to <= from) {
            v.reason = "the activation window is already over";
            return v;
        }
        auto others = commitments(t, a.id);
        kilowatts const want = a.setpoint();
        v.share = power_share(want, from, a.end_time ? to : timestamp::max(), commitments(t, a.id, true), r_);
        char buf[320];
        if (v.share == kilowatts{0.0}) {
            bool const up = want < kilowatts{0.0};
            std::snprintf(buf, sizeof buf,
                          "no %s power left: %.1f kW requested, other activations already take the device's %.1f kW "
                          "during this window",
                          up ? "discharge" : "charge", std::abs(want.in_kw()),
                          up ? r_.max_discharge.in_kw() : r_.max_charge.in_kw());
            v.reason = buf;
            return v;
        }
        auto all = others;
        all.push_back({v.share, from, to});
        auto const p = project_soc(*soc, t.wall, all, r_);
        if (!p.ok) {
            double const other_kw = detail::net_between(others, from, from);
            double const secs = std::chrono::duration<double>(to - from).count();
            double const after = std::chrono::duration<double>(p.violation_at - t.wall).count();
            std::snprintf(buf, sizeof buf,
                          "insufficient %s: %s %.1f kW for %.0f s needs %.1f kWh; the battery would reach %s %.1f %% "
                          "after %.0f s (soc %.1f %%, %.1f kW of other activations)",
                          p.below ? "energy" : "headroom", v.share < kilowatts{0.0} ? "discharging" : "charging",
                          std::abs(v.share.in_kw()), secs, std::abs(v.share.in_kw()) * secs / 3600.0,
                          p.below ? "min_soc" : "max_soc", (p.below ? r_.min_soc : r_.max_soc).in_pct(),
                          std::max(after, 0.0), soc->in_pct(), other_kw);
            v.reason = buf;
            return v;
        }
        v.ok = true;
        return v;
    }

    // A reading or a change of plan: an accepted activation that has not
    // started and no longer fits is withdrawn before it runs.
    void recheck_scheduled(core_time t) {
        // Latest accepted first: when something must go, it is the newest promise.
        for (auto it = tracked_.rbegin(); it != tracked_.rend(); ++it) {
            auto& a = *it;
            if (a.phase != activation_phase::scheduled) continue;
            auto v = assess(a.a, t);
            if (v.ok && v.share == a.setpoint) continue;
            if (v.ok && std::abs(v.share.in_kw()) < std::abs(a.setpoint.in_kw())) {
                if (auditing()) audit_assessment(a.a, v, false, t);
                a.setpoint = v.share; // less power left than at acceptance: the share shrinks
                if (journal) record(activation_changed{a, std::nullopt});
                continue;
            }
            if (v.ok) continue;
            if (auditing()) audit_assessment(a.a, v, false, t);
            end(a, end_reason::infeasible, t, v.reason);
        }
    }

    // --- activations ---

    static bool same_instruction(activation const& x, activation const& y) {
        // Status moves (pending → confirmed → active) are Cleori's bookkeeping,
        // not a change of what the battery must do.
        return x.direction == y.direction && x.power == y.power && x.start_time == y.start_time &&
               x.end_time == y.end_time && x.is_cancellation() == y.is_cancellation();
    }
    static bool withdrawn(activation const& a) noexcept {
        return a.is_cancellation() || a.status == activation_status::completed;
    }

    void merge(activation_poll const& poll, core_time t) {
        for (auto const& bad : poll.rejected) {
            counters_.add<&agent_counters::activations_invalid>();
            error("activation " + (bad.id.empty() ? std::string("(no id)") : bad.id) +
                  " is invalid and will not be executed: " + bad.reason);
        }
        for (auto const& a : poll.activations) {
            if (auto w = std::find_if(awaiting_.begin(), awaiting_.end(), [&](auto const& x) { return x.a.id == a.id; });
                w != awaiting_.end()) {
                w->a = a; // decided on its latest form when the reading comes
                continue;
            }
            if (auto* known = find(a.id)) {
                known->last_seen = t.wall;
                if (known->phase == activation_phase::ended && known->ended == end_reason::lost_contact &&
                    !withdrawn(a) && !a.has_ended(t.wall)) {
                    queue_assessment(a, true, t);
                    continue;
                }
                if (!is_committed(known->phase)) continue;
                if (same_instruction(known->a, a) && !withdrawn(a)) continue;
                known->a = a;
                if (withdrawn(a)) {
                    end(*known, a.is_cancellation() ? end_reason::cancelled : end_reason::completed, t, {});
                    continue;
                }
                modified(*known, t);
                continue;
            }
            if (withdrawn(a) || a.has_ended(t.wall)) {
                // Nothing to do, but remember it so that it is never acted on.
                tracked_.push_back({a, activation_phase::ended, {}, t.wall,
                                    a.is_cancellation() ? end_reason::cancelled : end_reason::completed, false, false});
                if (journal) record(activation_changed{tracked_.back(), std::nullopt});
                continue;
            }
            counters_.add<&agent_counters::activations_received>();
            fire<&agent_hooks::on_activation_received>(a);
            if (auditing()) {
                audit(a.id, t, audit_received{request_of(a)});
                audit_open(a, timestamp::min());
            }
            queue_assessment(a, false, t);
        }
        prune(t);
    }

    // Decide at once on a fresh reading; otherwise ask the device first.
    void queue_assessment(activation const& a, bool resume, core_time t) {
        awaiting_.push_back({a, resume});
        if (soc_ && t.now - soc_->at <= cfg_.soc_max_age / 2) {
            assess_awaiting(t);
        } else {
            soc_read_wanted_ = true;
            if (!awaiting_deadline_) awaiting_deadline_ = t.now + apply_timeout();
        }
    }

    void assess_awaiting(core_time t) {
        auto batch = std::move(awaiting_);
        awaiting_.clear();
        awaiting_deadline_.reset();
        for (auto& w : batch) {
            if (w.resume) {
                auto* a = find(w.a.id);
                if (!a || a->phase != activation_phase::ended || a->ended != end_reason::lost_contact) continue;
                a->a = w.a;
                if (withdrawn(w.a) || w.a.has_ended(t.wall)) continue; // over after all: stays ended
                auto v = assess(a->a, t);
                if (auditing()) {
                    audit_assessment(a->a, v, true, t);
                    // The first life's account was closed when it ended: this one counts from now.
                    if (v.ok) audit_open(a->a, t.wall);
                }
                if (!v.ok) {
                    // Not resumable now: said once, and not tried again at every poll.
                    a->ended = end_reason::infeasible;
                    if (log) say(log_level::warning, "activation " + a->a.id + " served again but not resumed: " + v.reason);
                    owe_unavailable(*a, v.reason, t);
                    continue;
                }
                a->phase = activation_phase::scheduled;
                a->ended.reset();
                a->setpoint = v.share;
                counters_.add<&agent_counters::activations_resumed>();
                if (journal) record(activation_changed{*a, std::nullopt});
                if (log) say(log_level::info, "activation " + a->a.id + " served again after lost contact: resumed at " + kw_text(v.share));
                continue;
            }
            if (withdrawn(w.a) || w.a.has_ended(t.wall)) {
                tracked_.push_back({w.a, activation_phase::ended, {}, t.wall,
                                    w.a.is_cancellation() ? end_reason::cancelled : end_reason::completed, false, false});
                if (journal) record(activation_changed{tracked_.back(), std::nullopt});
                if (auditing()) audit_close(w.a.id, *tracked_.back().ended, false, {}, t);
                continue;
            }
            auto v = assess(w.a, t);
            if (auditing()) {
                audit_terms(w.a, t); // it may have changed while it waited for a reading
                audit_assessment(w.a, v, false, t);
                if (!v.ok) audit_close(w.a.id, end_reason::infeasible, true, v.reason, t);
            }
            // The batch is this call's: its activation moves into the table.
            tracked_activation a{std::move(w.a), activation_phase::scheduled, v.share, t.wall, std::nullopt, false, false};
            if (!v.ok) {
                a.phase = activation_phase::refused;
                counters_.add<&agent_counters::activations_refused>();
                confirmation refusal{t.wall, confirmation_status::unavailable, v.reason, std::nullopt};
                // The refusal and the confirmation it owes are kept as one event.
                if (journal) record(activation_changed{a, refusal});
                if (log) say(log_level::info, "activation " + a.a.id + " refused: " + v.reason);
                fire<&agent_hooks::on_activation_refused>(a.a, v.reason);
                tracked_.push_back(std::move(a));
                owe(tracked_.back().a.id, std::move(refusal), t);
                continue;
            }
            if (journal) record(activation_changed{a, std::nullopt});
            if (log) {
                std::string line = "activation " + a.a.id + " accepted: " + kw_text(v.share) + " from " + to_rfc3339(a.a.start_time);
                if (a.a.end_time) line += " to " + to_rfc3339(*a.a.end_time);
                if (v.share != clamp_setpoint(a.a.setpoint(), r_) || v.share != a.a.setpoint())
                    line += " (" + kw_text(a.a.setpoint()) + " requested)";
                say(log_level::info, line);
            }
            tracked_.push_back(std::move(a));
        }
    }

    void modified(tracked_activation& a, core_time t) {
        if (auditing()) {
            audit(a.a.id, t, audit_modified{request_of(a.a)});
            audit_terms(a.a, t);
        }
        auto v = assess(a.a, t);
        if (auditing()) audit_assessment(a.a, v, false, t);
        if (!v.ok) {
            if (log) say(log_level::warning, "activation " + a.a.id + " modified and no longer deliverable: " + v.reason);
            end(a, end_reason::infeasible, t, v.reason);
            return;
        }
        // Moved to a later start: off the device until then.
        if (is_running(a.phase) && a.a.start_time > t.wall) a.phase = activation_phase::scheduled;
        a.setpoint = v.share;
        if (journal) record(activation_changed{a, std::nullopt});
        if (log) say(log_level::info, "activation " + a.a.id + " modified: now " + kw_text(v.share));
    }

    // Ends `a`; with `why` non-empty, Cleori is told it is unavailable.
    void end(tracked_activation& a, end_reason reason, core_time t, std::string const& why) {
        bool const never_ran = !a.executing_sent;
        a.phase = (!why.empty() && never_ran) ? activation_phase::refused : activation_phase::ended;
        a.ended = reason;
        std::optional<confirmation> c;
        if (!why.empty() && (never_ran || prof_.unavailable_after_executing))
            c = confirmation{t.wall, confirmation_status::unavailable, why, std::nullopt};
        if (journal) record(activation_changed{a, c});
        if (auditing()) audit_close(a.a.id, reason, a.phase == activation_phase::refused, why, t);
        if (a.phase == activation_phase::refused) {
            counters_.add<&agent_counters::activations_refused>();
            fire<&agent_hooks::on_activation_refused>(a.a, why);
        } else {
            counters_.add<&agent_counters::activations_ended>();
            fire<&agent_hooks::on_activation_ended>(a.a, reason);
        }
        if (log) {
            std::string line = "activation " + a.a.id + " ended: " + std::string(to_string(reason));
            if (!why.empty()) line += ": " + why;
            say(reason == end_reason::soc_limit || reason == end_reason::device_failed ? log_level::error
                                                                                       : log_level::info,
                line);
        }
        if (c) owe(a.a.id, std::move(*c), t);
    }

    void owe_unavailable(tracked_activation& a, std::string const& why, core_time t) {
        if (a.executing_sent && !prof_.unavailable_after_executing) return;
        confirmation c{t.wall, confirmation_status::unavailable, why, std::nullopt};
        if (journal) record(activation_changed{a, c});
        owe(a.a.id, std::move(c), t);
    }

    void owe(std::string const& id, confirmation c, core_time t) {
        for (auto& o : owed_) {
            if (o.id != id) continue;
            // An undelivered `executing` is never replaced: Cleori settles on it.
            if (o.in_flight || o.c.status == confirmation_status::executing) o.then = std::move(c);
            else o.c = std::move(c), o.failures = 0, o.next_attempt = t.now;
            return;
        }
        owed_.push_back({id, std::move(c), t.now, 0, 0, {}});
    }

    // --- the audit trail: built only when the on_audit hook is set ---

    // One activation's energy account, open from its receipt until its
    // window's energy is known (the first reading at or after the window's end).
    struct audit_meter {
        std::string id;
        timestamp floor{};                  // a resumption counts from here, not from the start
        timestamp from{};                   // the window is [from, until())
        std::optional<timestamp> end{};     // the activation's end_time
        std::optional<timestamp> ended_at{};
        double requested_kw = 0;            // signed, as requested
        timestamp mark{};                   // requested energy is integrated up to here
        double requested_kwh = 0;
        double delivered_kwh = 0;
        std::uint64_t samples = 0;
        bool touched = false;               // a reading interval was attributed (the first uses two readings)
        bool done = false;
        std::optional<audit_record> ended{}; // the `ended` record, waiting for its energy

        timestamp until() const noexcept {
            auto u = end.value_or(timestamp::max());
            if (ended_at) u = std::min(u, *ended_at);
            return std::max(u, from);
        }
        bool in_force(timestamp at) const noexcept { return !done && from <= at && at < until(); }
    };
    struct audit_reading_point {
        timestamp at;
        double kw;
    };

    template <class Data>
    void audit(std::string const& id, core_time t, Data&& data) {
        extras_->hooks.on_audit(audit_record{t.wall, id, std::forward<Data>(data)});
    }
    static audit_request request_of(activation const& a) {
        return audit_request{a.direction, a.power, a.start_time, a.end_time, a.status};
    }
    audit_meter* live_meter(std::string_view id) {
        for (auto& m : extras_->meters)
            if (!m.done && !m.ended && m.id == id) return &m;
        return nullptr;
    }
    void audit_open(activation const& a, timestamp floor) {
        audit_meter m;
        m.id = a.id;
        m.floor = floor;
        m.from = std::max(a.start_time, floor);
        m.end = a.end_time;
        m.requested_kw = a.setpoint().in_kw();
        m.mark = m.from;
        extras_->meters.push_back(std::move(m));
    }
    static void accrue(audit_meter& m, timestamp upto) {
        auto const a = std::max(m.mark, m.from);
        auto const b = std::min(upto, m.until());
        if (b > a) m.requested_kwh += m.requested_kw * detail::hours_between(a, b);
        m.mark = std::max(m.mark, upto);
    }
    // New terms count from now; what was requested until now stays as it was.
    void audit_terms(activation const& a, core_time t) {
        auto* m = live_meter(a.id);
        if (!m) return;
        accrue(*m, t.wall);
        m->from = std::max(a.start_time, m->floor);
        m->end = a.end_time;
        m->requested_kw = a.setpoint().in_kw();
    }

    // The part of `kwh`, measured over `hours` around `at`, that belongs to
    // `m`: its request, plus the deviation of the measurement from the sum of
    // the requests in force shared by the size of each request. In one
    // direction this is exactly the measurement in proportion to the requests;
    // across directions it stays bounded where the plain ratio request/sum
    // would blow up as the requests cancel (a sum near zero).
    double audit_share(audit_meter const& m, timestamp at, double kwh, double hours) const noexcept {
        double sum = 0, magnitude = 0;
        std::size_t n = 0;
        for (auto const& o : extras_->meters)
            if (o.in_force(at)) sum += o.requested_kw, magnitude += std::abs(o.requested_kw), ++n;
        if (magnitude <= 0) return n ? kwh / static_cast<double>(n) : 0.0;
        return m.requested_kw * hours + (kwh - sum * hours) * std::abs(m.requested_kw) / magnitude;
    }

    // Trapezoidal between two readings, cut where a window begins or ends
    // (the power there interpolated), each piece shared among the activations
    // in force over it. The cut buffer is reused: no allocation per reading.
    void audit_attribute(audit_reading_point a, audit_reading_point b) {
        auto& cuts = extras_->audit_cuts;
        cuts.clear();
        cuts.push_back(a.at);
        cuts.push_back(b.at);
        bool any = false;
        for (auto const& m : extras_->meters) {
            if (m.done || m.until() <= a.at || m.from >= b.at) continue;
            any = true;
            if (m.from > a.at) cuts.push_back(m.from);
            if (m.until() < b.at) cuts.push_back(m.until());
        }
        if (!any) return;
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        double const span = detail::hours_between(a.at, b.at);
        auto power_at = [&](timestamp x) { return a.kw + (b.kw - a.kw) * detail::hours_between(a.at, x) / span; };
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
            auto const mid = cuts[i] + (cuts[i + 1] - cuts[i]) / 2;
            double const hours = detail::hours_between(cuts[i], cuts[i + 1]);
            double const kwh = (power_at(cuts[i]) + power_at(cuts[i + 1])) / 2 * hours;
            for (auto& m : extras_->meters)
                if (m.in_force(mid)) m.delivered_kwh += audit_share(m, mid, kwh, hours);
        }
        for (auto& m : extras_->meters) {
            if (m.done || m.until() <= a.at || m.from >= b.at) continue;
            m.samples += m.touched ? 1 : 2;
            m.touched = true;
        }
    }

    void audit_reading(timestamp at, double kw) {
        if (extras_->audit_prev && at <= extras_->audit_prev->at) {
            // Two readings at one instant: the first stands. A wall clock
            // stepped back: start again from here.
            if (at < extras_->audit_prev->at) extras_->audit_prev = audit_reading_point{at, kw};
            return;
        }
        if (extras_->audit_prev && !extras_->meters.empty()) audit_attribute(*extras_->audit_prev, {at, kw});
        extras_->audit_prev = audit_reading_point{at, kw};
        bool closed = false;
        for (auto& m : extras_->meters)
            if (m.ended && m.until() <= at) audit_finish(m), closed = true;
        if (closed) std::erase_if(extras_->meters, [](audit_meter const& m) { return m.done; });
    }

    // No reading closes the window (the agent stops, or the device stopped
    // answering): the last reading's power is held to the window's end.
    void audit_hold(audit_meter& m) {
        if (!extras_->audit_prev) return;
        auto const a = std::max(extras_->audit_prev->at, m.from);
        auto const b = m.until();
        if (b <= a) return;
        auto const mid = a + (b - a) / 2;
        double const hours = detail::hours_between(a, b);
        m.delivered_kwh += audit_share(m, mid, extras_->audit_prev->kw * hours, hours);
        if (!m.touched) ++m.samples;
        m.touched = true;
    }

    void audit_finish(audit_meter& m) {
        accrue(m, m.until());
        auto& e = std::get<audit_ended>(m.ended->data);
        e.window_start = m.from;
        e.window_end = m.until();
        e.requested_kwh = kilowatt_hours{m.requested_kwh};
        e.delivered_kwh = kilowatt_hours{m.delivered_kwh};
        e.samples = m.samples;
        m.done = true;
        extras_->hooks.on_audit(*m.ended);
    }

    // The activation is over; its `ended` record goes out when its energy is known.
    void audit_close(std::string const& id, end_reason reason, bool refused, std::string const& why, core_time t) {
        auto* m = live_meter(id);
        audit_record r{t.wall, id, audit_ended{reason, refused, why, t.wall, t.wall, {}, {}, 0}};
        if (!m) { // received before the hook was attached: no account
            extras_->hooks.on_audit(r);
            return;
        }
        m->ended_at = t.wall;
        m->ended = std::move(r);
        if (m->until() <= m->from || (extras_->audit_prev && extras_->audit_prev->at >= m->until())) {
            audit_finish(*m);
            std::erase_if(extras_->meters, [](audit_meter const& x) { return x.done; });
        }
    }

    // A closed window that no reading has reached within soc_max_age.
    void audit_overdue(core_time t) {
        bool closed = false;
        for (auto& m : extras_->meters) {
            if (!m.ended || t.wall < m.until() + cfg_.soc_max_age) continue;
            audit_hold(m);
            audit_finish(m);
            closed = true;
        }
        if (closed) std::erase_if(extras_->meters, [](audit_meter const& m) { return m.done; });
    }

    // At stop: every account is closed now, with what the readings showed.
    void audit_flush(core_time t) {
        for (auto& m : extras_->meters) {
            if (m.done) continue;
            if (!m.ended) { // every activation has ended by now; this keeps the account whole if not
                m.ended_at = t.wall;
                m.ended = audit_record{t.wall, m.id, audit_ended{end_reason::shutdown, false, {}, t.wall, t.wall, {}, {}, 0}};
            }
            audit_hold(m);
            audit_finish(m);
        }
        extras_->meters.clear();
    }

    void audit_assessment(activation const& a, verdict const& v, bool resumed, core_time t) {
        audit_assessed out;
        out.feasible = v.ok;
        out.resumed = resumed;
        out.requested = a.setpoint();
        out.share = v.share;
        if (!v.ok) out.reason = v.reason;
        bool const up = a.setpoint() < kilowatts{0.0};
        auto const from = std::max(a.start_time, t.wall);
        auto const to = window_end(a, t);
        if (to > from) {
            auto const limit = up ? -r_.max_discharge : r_.max_charge;
            out.headroom = kilowatts{std::abs(
                power_share(limit, from, a.end_time ? to : timestamp::max(), commitments(t, a.id, true), r_).in_kw())};
        }
        out.soc = soc_estimate(t.now);
        if (out.soc && to > from) {
            kilowatts const basis = v.share != kilowatts{0.0} ? v.share : clamp_setpoint(a.setpoint(), r_);
            out.energy_needed = kilowatt_hours{std::abs(basis.in_kw()) * detail::hours_between(from, to)};
            // Where the others take the state of charge by the window's end.
            auto const others = commitments(t, a.id);
            auto const at = detail::breakpoints(others, t.wall, to);
            double soc = out.soc->in_pct();
            for (std::size_t i = 0; i + 1 < at.size(); ++i)
                soc += detail::soc_delta(r_, detail::net_between(others, at[i], at[i + 1]),
                                         detail::hours_between(at[i], at[i + 1]));
            double const room = up ? soc - r_.min_soc.in_pct() : r_.max_soc.in_pct() - soc;
            double const eta = detail::one_way_efficiency(r_);
            out.energy_available =
                kilowatt_hours{std::max(room, 0.0) / 100.0 * r_.capacity.in_kwh() * (up ? eta : 1.0 / eta)};
        }
        audit(a.id, t, std::move(out));
    }

    // Cleori serves an activation until its end time; keep what it might
    // still serve, so an old id is never executed twice.
    void prune(core_time t) {
        std::erase_if(tracked_, [&](tracked_activation const& a) {
            bool const over = a.phase == activation_phase::ended || a.phase == activation_phase::refused;
            bool const pending = std::any_of(owed_.begin(), owed_.end(), [&](owed const& o) { return o.id == a.a.id; });
            // One ended for lost contact may be served again however late: kept.
            bool const resumable = a.phase == activation_phase::ended && a.ended == end_reason::lost_contact;
            bool const forget = over && !pending && !resumable && t.wall - a.last_seen > std::chrono::hours(1) &&
                                (!a.a.end_time || t.wall > *a.a.end_time + std::chrono::hours(1));
            if (forget && journal) record(activation_forgotten{a.a.id});
            return forget;
        });
    }

    // --- the decision: everything that depends on time, then the actions ---

    // One reading serves both the sample tick and a wanted SoC.
    void start_read(core_time t) {
        last_op_ = op_kind::read;
        read_due_ = false;
        soc_read_wanted_ = false;
        dev_ = device_op{++next_op_, op_kind::read, {}, t.now + device_timeout(), {}};
        actions_.push(read_device{dev_->op, dev_->deadline});
    }

    void decide(core_time t) {
        if (!started_ || stopped_) return;
        integrate_soc(t.now);
        if (auditing() && !extras_->meters.empty()) audit_overdue(t);
        std::optional<mono_time> wake;
        auto consider = [&](mono_time at) {
            if (!wake || at < *wake) wake = at;
        };

        // A device operation past its deadline is a failure; its answer, if
        // it ever comes, is ignored.
        if (dev_ && t.now >= dev_->deadline) {
            auto const late = std::move(*dev_);
            dev_.reset();
            counters_.add<&agent_counters::device_timeouts>();
            char buf[96];
            std::snprintf(buf, sizeof buf, "did not answer within %lld ms",
                          static_cast<long long>(device_timeout().count()));
            if (late.kind == op_kind::command) {
                command_failed(t, late, buf);
            } else {
                counters_.add<&agent_counters::sample_read_failures>();
                error(std::string("device reading ") + buf);
                soc_read_failed(t);
            }
        }
        if (awaiting_deadline_ && t.now >= *awaiting_deadline_) assess_awaiting(t);
        if (awaiting_deadline_) consider(*awaiting_deadline_);

        phases(t, consider);
        if (!stopping_) energy_guard(t, consider);

        // The device: a command when the setpoint must change, else a reading.
        // The shares are compared in place and copied only for a command:
        // this runs on every event.
        kilowatts desired{};
        std::size_t running = 0;
        bool same_shares = true;
        for (auto const& a : tracked_) {
            if (!is_running(a.phase)) continue;
            desired += a.setpoint;
            same_shares = same_shares && running < accepted_shares_.size() &&
                          accepted_shares_[running].first == a.a.id && accepted_shares_[running].second == a.setpoint;
            ++running;
        }
        same_shares = same_shares && running == accepted_shares_.size();
        bool const want_command =
            control_ready_ && (!accepted_ || !device_known_ || *accepted_ != desired || !same_shares);
        // A due reading goes before a second command in a row, so that
        // back-to-back commands never starve telemetry.
        bool const read_first = !stopping_ && read_due_ && last_op_ == op_kind::command &&
                                std::none_of(tracked_.begin(), tracked_.end(), [](tracked_activation const& a) {
                                    return a.phase == activation_phase::starting;
                                });
        bool const may_command = !stopping_ || t.now < baseline_deadline_;
        if (!dev_) {
            if (want_command && may_command && t.now >= command_retry_at_ && !read_first) {
                last_op_ = op_kind::command;
                std::vector<std::pair<std::string, kilowatts>> shares;
                shares.reserve(running);
                auto valid_until = timestamp::max();
                for (auto const& a : tracked_) {
                    if (!is_running(a.phase)) continue;
                    shares.emplace_back(a.a.id, a.setpoint);
                    valid_until = std::min(valid_until, runs_until(a));
                }
                dev_ = device_op{++next_op_, op_kind::command, desired, t.now + device_timeout(), std::move(shares)};
                actions_.push(command_device{dev_->op, desired, dev_->deadline, dev_->shares, valid_until});
            } else if (!stopping_ && (read_due_ || soc_read_wanted_)) {
                start_read(t);
            }
        }
        if (want_command && may_command && !dev_) consider(command_retry_at_);
        if (dev_) consider(dev_->deadline);

        if (!stopping_) {
            // Sampling on a fixed grid: missed ticks are skipped, the phase kept.
            if (t.now >= next_sample_) {
                read_due_ = true;
                while (next_sample_ <= t.now) next_sample_ += cfg_.telemetry_interval;
                if (!dev_) {
                    start_read(t);
                    consider(dev_->deadline);
                }
            }
            consider(next_sample_);

            if (!poll_req_ && t.now >= next_poll_) {
                poll_req_ = ++next_req_;
                poll_started_ = t.now;
                while (next_poll_ <= t.now) next_poll_ += cfg_.poll_interval;
                // Every poll's deadline is the next one's due time.
                actions_.push(poll_activations{poll_req_, next_poll_});
            }
            if (!poll_req_) consider(next_poll_);
        }

        telemetry(t, consider);
        if (!stopping_) confirmations(t, consider);

        if (stopping_) {
            bool const baseline_done = accepted_ && *accepted_ == kilowatts{0.0} && device_known_ && !dev_;
            bool const time_up = t.now >= stop_deadline_;
            bool const device_time_up = t.now >= baseline_deadline_;
            bool const nothing_in_flight = !tele_req_ && !poll_req_ &&
                                           std::none_of(owed_.begin(), owed_.end(), [](owed const& o) { return o.in_flight != 0; });
            if ((baseline_done || (device_time_up && !dev_)) && nothing_in_flight && (outbox_.empty() || time_up)) {
                if (!baseline_done) error("baseline at shutdown failed: the device did not accept 0 kW", log_level::error);
                counters_.set<&agent_counters::samples_abandoned>(outbox_.size());
                stopped_ = true;
                wake_.reset();
                return;
            }
            if (!time_up) consider(stop_deadline_); // then only the answers in flight can end it
            if (!baseline_done && !device_time_up) consider(baseline_deadline_);
        }
        wake_ = wake;
    }

    // When a committed activation ends by itself: at its end, or, open-ended,
    // once Cleori has not shown it for the grace period (`phases`).
    timestamp runs_until(tracked_activation const& a) const {
        return a.a.end_time ? *a.a.end_time : std::max(a.last_seen + prof_.open_ended_grace, a.a.start_time);
    }

    template <class Consider>
    void phases(core_time t, Consider&& consider) {
        for (auto& a : tracked_) {
            if (!is_committed(a.phase)) continue;
            // One rule for when a window is over, shared with `valid_until`
            // and the withdrawal check, so they cannot disagree.
            if (t.wall >= runs_until(a)) {
                end(a, a.a.end_time ? end_reason::completed : end_reason::lost_contact, t, {});
                continue;
            }
            // The wall clock stepped back before the start (it was fast): the
            // window has not begun after all, and the share leaves the setpoint
            // until it does. An `executing` already sent is not sent again.
            if (is_running(a.phase) && t.wall < a.a.start_time) {
                bool const was_executing = a.phase == activation_phase::executing;
                a.phase = activation_phase::scheduled;
                if (log) say(log_level::warning, "activation " + a.a.id + " waits for its start again: the wall clock stepped back before it");
                if (was_executing && journal) record(activation_changed{a, std::nullopt});
            }
            if (a.phase == activation_phase::scheduled && control_ready_ && t.wall >= a.a.start_time)
                a.phase = activation_phase::starting;
            if (a.phase == activation_phase::starting) {
                auto it = std::find_if(apply_by_.begin(), apply_by_.end(), [&](auto const& e) { return e.first == a.a.id; });
                if (it == apply_by_.end()) {
                    apply_by_.emplace_back(a.a.id, t.now + apply_timeout());
                    it = apply_by_.end() - 1;
                }
                if (t.now >= it->second) {
                    char buf[160];
                    std::snprintf(buf, sizeof buf, "the device did not accept the setpoint within %lld ms of the start",
                                  static_cast<long long>(apply_timeout().count()));
                    apply_by_.erase(it);
                    // The device's own words, when it gave any, tell Cleori why.
                    std::string why = buf;
                    if (!last_command_error_.empty()) why += " (last answer: " + last_command_error_ + ")";
                    end(a, end_reason::device_failed, t, why);
                    continue;
                }
                consider(it->second);
            }
            if (a.phase == activation_phase::scheduled) consider(mono_of(a.a.start_time, t));
            consider(mono_of(runs_until(a), t));
        }
        std::erase_if(apply_by_, [&](auto const& e) {
            auto const* a = find(e.first);
            return !a || a->phase != activation_phase::starting;
        });
    }

    // Stops a direction before the state of charge leaves the window: the
    // guard covers a command's deadline, the ramp, and one more second.
    template <class Consider>
    void energy_guard(core_time t, Consider&& consider) {
        if (!soc_) return;
        auto const soc = percent{soc_est_.in_pct()};
        auto const guard = std::chrono::duration_cast<mono_time::duration>(device_timeout() + r_.response_time +
                                                                           std::chrono::seconds(1) + wake_slack());
        double discharge = 0, charge = 0; // magnitudes, the larger of commanded and wanted
        double want = 0;
        for (auto const& a : tracked_)
            if (is_running(a.phase)) want += a.setpoint.in_kw();
        double const have = commanded().in_kw();
        discharge = std::max(std::max(-want, -have), 0.0);
        charge = std::max(std::max(want, have), 0.0);
        auto check = [&](bool down, double kw) {
            if (kw <= 0) return;
            double const limit = down ? r_.min_soc.in_pct() : r_.max_soc.in_pct();
            double const rate = std::abs(detail::soc_delta(r_, down ? -kw : kw, 1.0)); // points per hour
            double const room = down ? soc.in_pct() - limit : limit - soc.in_pct();
            auto const left = std::chrono::duration_cast<mono_time::duration>(
                std::chrono::duration<double, std::ratio<3600>>(std::max(room, 0.0) / rate));
            if (left > guard) {
                consider(t.now + (left - guard));
                return;
            }
            bool stopped_any = false;
            for (auto& a : tracked_) {
                if (!is_running(a.phase)) continue;
                if (down ? a.setpoint >= kilowatts{0.0} : a.setpoint <= kilowatts{0.0}) continue;
                char buf[200];
                std::snprintf(buf, sizeof buf,
                              "state of charge %.1f %% is at the %s limit %.1f %%: %s stopped to protect the battery",
                              soc.in_pct(), down ? "min_soc" : "max_soc", limit, down ? "discharge" : "charge");
                end(a, end_reason::soc_limit, t, buf);
                stopped_any = true;
            }
            if (stopped_any) counters_.add<&agent_counters::soc_limit_stops>();
        };
        check(true, discharge);
        check(false, charge);
    }

    template <class Consider>
    void telemetry(core_time t, Consider&& consider) {
        if (tele_req_) return;
        if (stopping_ && t.now >= stop_deadline_) return;
        if (t.now < tele_hold_) {
            if (!outbox_.empty()) consider(tele_hold_);
            return;
        }
        auto& samples = tele_samples_;
        samples.clear();
        tele_seqs_.clear();
        tele_was_live_ = false;
        if (auto live = outbox_.live(); live && live->seq >= tele_retry_from_seq_) {
            // The newest sample goes first, alone: a back-fill never delays it.
            samples.push_back(live->sample);
            tele_seqs_.push_back(live->seq);
            tele_was_live_ = true;
        } else if (!outbox_.empty() && !tele_failed_) {
            // While Cleori does not answer, the back-fill waits for the next sample.
            auto const batch = outbox_.backlog(prof_.max_telemetry_batch);
            samples.reserve(batch.size());
            tele_seqs_.reserve(batch.size());
            for (auto const& e : batch) {
                samples.push_back(e.sample);
                tele_seqs_.push_back(e.seq);
            }
        }
        if (samples.empty()) return;
        tele_req_ = ++next_req_;
        tele_started_ = t.now;
        auto const deadline = stopping_ ? stop_deadline_ : t.now + cfg_.telemetry_interval;
        actions_.push(send_telemetry{tele_req_, std::span<telemetry_sample const>(samples), deadline});
    }

    template <class Consider>
    void confirmations(core_time t, Consider&& consider) {
        for (auto& o : owed_) {
            if (o.in_flight) continue;
            if (t.now < o.next_attempt) {
                consider(o.next_attempt);
                continue;
            }
            o.in_flight = ++next_req_;
            actions_.push(queued_confirmation{o.in_flight, t.now + cfg_.confirm_retry_interval * 5});
        }
    }

    battery_ratings r_;
    agent_config cfg_;
    core_profile prof_;
    telemetry_outbox outbox_;
    detail::core_counts counters_;
    std::vector<tracked_activation> tracked_;
    std::vector<pending_assessment> awaiting_;
    detail::optional_time<mono_time> awaiting_deadline_;
    std::vector<owed> owed_;
    std::vector<std::pair<std::string, mono_time>> apply_by_; // starting activation → when the device must have it
    // Empty between events: its storage goes back to the thread's pool.
    detail::fifo<queued_action, 32, detail::pooled_allocator<queued_action>> actions_;
    detail::optional_time<mono_time> wake_;

    std::optional<device_op> dev_;
    std::optional<kilowatts> accepted_;
    std::vector<std::pair<std::string, kilowatts>> accepted_shares_;
    mono_time command_retry_at_{};
    std::string last_command_error_{}; // why the last failed command failed, for the unavailable reason
    // For status(): monitoring only, no decision reads them.
    detail::optional_time<timestamp> last_telemetry_ack_{};
    detail::optional_time<timestamp> last_poll_ok_{};
    detail::optional_time<timestamp> last_reading_{};
    std::optional<kilowatts> last_power_{};
    std::optional<percent> last_soc_{};
    std::optional<soc_reading> soc_;
    percent soc_est_{};
    mono_time soc_est_at_{};
    detail::optional_time<timestamp> last_sample_time_; // the newest sample's, so that no two share an instant

    mono_time next_sample_{}, next_poll_{}, poll_started_{};
    std::uint64_t poll_req_ = 0;
    std::uint64_t tele_req_ = 0;
    // The request in flight's samples and body, in the thread's pool until
    // its outcome is reported (a fleet's agents have few in flight at once).
    std::vector<std::uint64_t, detail::pooled_allocator<std::uint64_t>> tele_seqs_;
    std::vector<telemetry_sample, detail::pooled_allocator<telemetry_sample>> tele_samples_;
    std::uint64_t tele_retry_from_seq_ = 0;
    mono_time tele_started_{}, tele_hold_{};

    std::uint64_t next_op_ = 0, next_req_ = 0;
    mono_time stop_deadline_{};     // telemetry after stop
    mono_time baseline_deadline_{}; // baseline commands after stop

    // The small fields together, where they share their padding.
    unsigned auth_failures_ = 0;
    unsigned last_auth_status_ = 0;
    std::uint32_t wake_slack_ms_ = 0; // set_wake_slack
    std::uint32_t tele_evicted_in_flight_ = 0; // see evicted()
    op_kind last_op_ = op_kind::read;
    bool device_known_ = true; // false after a command that failed, timed out or answered late
    bool read_due_ = false;
    bool soc_read_wanted_ = false;
    bool tele_was_live_ = false;
    bool tele_failed_ = false;
    bool started_ = false, stopping_ = false, stopped_ = false, control_ready_ = false;

    // The hooks and the audit trail's energy accounts, made on first use
    // (a fleet has thousands of cores, and most have neither). The accounts
    // are only read while `auditing()`, which implies the block.
    struct extras {
        agent_hooks hooks;
        std::vector<audit_meter> meters;
        std::optional<audit_reading_point> audit_prev; // the last reading with power
        std::vector<timestamp> audit_cuts;              // reused by audit_attribute
    };
    std::unique_ptr<extras> extras_;
};

/// @brief The agent's decisions (`basic_agent_core` explains the template).
using agent_core = basic_agent_core<>;

} // namespace cleori
