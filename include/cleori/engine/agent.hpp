#pragma once
/// @file
/// @brief `cleori::basic_agent` — the integration engine for one asset: it
/// samples the battery and sends telemetry, polls for activations, decides
/// whether each can be delivered, applies setpoints on time, confirms, and
/// returns the battery to baseline when an activation ends, is cancelled, or
/// the agent stops.
///
/// @code
/// asio::io_context io;
/// my_battery battery;                                      // models BatteryDevice
/// cleori::beast_transport transport{io.get_executor(), "https://cleori.example"};
/// cleori::agent<my_battery> agent{battery, transport, {.token = token_from_env()}};
/// agent.hooks.on_activation_confirmed = [](auto const& a, auto const& c) { … };
/// if (auto started = agent.start(); !started) fail(started.error().message());
/// io.run();                                                // until agent.stop()
/// @endcode
///
/// Policies, each checked by one `static_assert` naming the concept:
/// @tparam Device a `BatteryDevice`. With static ratings the mFRR minimum is
///   checked at compile time; with `ratings()` at `start()`.
/// @tparam Transport a `Transport` (e.g. `beast_transport`); many agents may share one
/// @tparam Clock a `Clock` (`real_clock`, or `manual_clock` for virtual time)
/// @tparam Retry a `RetryStrategy` (default `default_retry`)
/// @tparam Profile the API profile (`api_profile_v1`)
/// @tparam StoreT a `Store`: `memory_store` (default, keeps nothing) or
///   `file_store` (a journal; unsent telemetry, activations and owed
///   confirmations survive a crash — doc/concepts/Store.md)
///
/// Threading: everything runs on the transport's executor; call member
/// functions from that executor's thread (post to it from elsewhere).
/// Lifetime: the device and the transport must outlive the agent; destroying
/// a running agent stops it (no baseline command can then be guaranteed — call
/// `stop()` and run the executor until `stopped()` first).
///
/// What it guarantees and how each promise is tested: doc/engine.md.

#include <cleori/api/profile.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/client/api_client.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/device/battery_device.hpp>
#include <cleori/engine/lifecycle.hpp>
#include <cleori/engine/outbox.hpp>
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/store/store.hpp>
#include <cleori/transport/http.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace cleori {

/// @brief Settings of an agent. Defaults follow Cleori's rules with margin.
struct agent_config {
    std::string token{};                                   ///< the asset's bearer token (never logged)
    std::chrono::milliseconds telemetry_interval{5000};    ///< sampling and sending cadence; at most 10 s
    std::chrono::milliseconds poll_interval{5000};         ///< activation polling cadence; at most 60 s
    std::chrono::minutes outbox_span{30};                  ///< an outage this long loses no telemetry
    std::chrono::milliseconds confirm_retry_interval{2000}; ///< wait between confirmation rounds that failed
};

/// @brief Severity of a log line.
enum class log_level { debug, info, warning, error };

/// @brief Counters a user can read (from the agent's executor thread).
struct agent_counters {
    std::uint64_t samples_taken = 0;         ///< device readings turned into samples
    std::uint64_t sample_read_failures = 0;  ///< readings that failed or had no usable value
    std::uint64_t samples_sent = 0;          ///< samples acknowledged by Cleori
    std::uint64_t samples_evicted = 0;       ///< oldest samples dropped because the outbox was full
    std::uint64_t samples_abandoned = 0;     ///< samples still unsent when the agent stopped
    std::uint64_t telemetry_requests = 0;    ///< telemetry requests acknowledged
    std::uint64_t telemetry_failures = 0;    ///< telemetry requests that failed (after retries)
    std::uint64_t polls = 0;                 ///< successful polls
    std::uint64_t poll_failures = 0;         ///< polls that failed (after retries)
    std::uint64_t activations_received = 0;  ///< distinct activation ids accepted for consideration
    std::uint64_t activations_invalid = 0;   ///< activations the poll carried but could not be read
    std::uint64_t activations_refused = 0;   ///< reported unavailable (infeasible)
    std::uint64_t activations_applied = 0;   ///< started executing
    std::uint64_t activations_ended = 0;     ///< ended (any reason)
    std::uint64_t confirmations_sent = 0;    ///< confirmations acknowledged
    std::uint64_t confirmation_failures = 0; ///< confirmation attempts that failed (retried later)
    std::uint64_t setpoints_applied = 0;     ///< setpoint commands the device accepted
    std::uint64_t setpoint_failures = 0;     ///< setpoint commands the device refused (retried)
    std::uint64_t store_failures = 0;        ///< events the store could not keep (logged; the agent goes on)
    std::uint64_t samples_restored = 0;      ///< unsent samples read back from the store at start
    std::uint64_t activations_restored = 0;  ///< activations read back from the store at start
    std::uint64_t confirmations_restored = 0; ///< owed confirmations read back from the store at start
};

/// @brief Event hooks; each may be empty. They run on the agent's executor
/// and must not block.
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
};

/// @brief The engine for one asset. See the file comment.
template <class Device, class Transport, class Clock = real_clock, class Retry = default_retry,
          class Profile = api_profile_v1, class StoreT = memory_store>
class basic_agent {
    static_assert(BatteryDevice<Device>,
                  "cleori::agent: 'Device' does not model BatteryDevice: it needs ratings, async_read_state(handler) "
                  "and async_apply_setpoint(kilowatts, handler). See doc/concepts/BatteryDevice.md");
    static_assert(cleori::Transport<Transport>,
                  "cleori::agent: 'Transport' does not model Transport: it needs async_request(http_request, "
                  "handler(error_code, http_response)) and get_executor(). See doc/concepts/Transport.md");
    static_assert(cleori::Clock<Clock>, "cleori::agent: 'Clock' does not model Clock: it needs now() -> steady "
                                        "time_point, wall_now() -> timestamp and make_timer(executor). "
                                        "See doc/concepts/Clock.md");
    static_assert(RetryStrategy<Retry>, "cleori::agent: 'Retry' does not model RetryStrategy: it needs "
                                        "next_delay(retry_context) -> result<milliseconds> and on_success(time_point). "
                                        "See doc/concepts/RetryStrategy.md");
    static_assert(Store<StoreT>, "cleori::agent: 'StoreT' does not model Store: it needs load() -> "
                                 "result<store_image> and append(store_record) -> result<void>. "
                                 "See doc/concepts/Store.md");

    // With a policy that fails its concept, nothing below is instantiated, so
    // the static_assert above is the only error the user sees.
    static constexpr bool policies_ok = BatteryDevice<Device> && cleori::Transport<Transport> &&
                                        cleori::Clock<Clock> && RetryStrategy<Retry> && Store<StoreT>;
    template <class C, bool = policies_ok>
    struct timer_of {
        using type = decltype(std::declval<C&>().make_timer(std::declval<boost::asio::any_io_executor>()));
    };
    template <class C>
    struct timer_of<C, false> {
        using type = void*;
    };
    using timer_type = typename timer_of<Clock>::type;

public:
    using device_type = Device;
    using client_type = basic_api_client<Transport, Retry, Profile, Clock>;

    /// @brief Longest allowed cadences (Cleori's rules).
    static constexpr std::chrono::milliseconds max_telemetry_interval{10000};
    static constexpr std::chrono::milliseconds max_poll_interval{60000};

    basic_agent(Device& device, Transport& transport, agent_config config, Clock clock = Clock{}, Retry retry = Retry{},
                StoreT store = StoreT{}) {
        if constexpr (policies_ok) {
            if constexpr (StaticallyRatedBattery<Device>) static_assert(assert_mfrr_minimum<Device>);
            s_ = std::make_shared<state>(device, transport, std::move(config), std::move(clock), std::move(retry),
                                         std::move(store));
        }
    }
    /// @brief With a durable store, and the default clock and retry strategy.
    basic_agent(Device& device, Transport& transport, agent_config config, StoreT store)
        requires is_durable_store<StoreT>
        : basic_agent(device, transport, std::move(config), Clock{}, Retry{}, std::move(store)) {}
    basic_agent(basic_agent const&) = delete;
    basic_agent& operator=(basic_agent const&) = delete;
    ~basic_agent() {
        if constexpr (policies_ok) s_->stop();
    }

    /// @brief Checks the configuration (and run-time ratings), restores what
    /// the store kept, and starts the loops. Errors: `config_telemetry_interval`,
    /// `config_poll_interval`, `config_missing_token`, `ratings_below_mfrr_minimum`,
    /// or the store's `load()` error.
    ///
    /// After a restore, samples go out as back-fill, owed confirmations are
    /// sent, and the battery is commanded at once to what the restored
    /// activations ask now (baseline if they have ended), without waiting
    /// for the first poll.
    result<void> start() { return s_->start(s_); }

    /// @brief Stops: commands baseline (0 kW) at once, ends every activation
    /// (reason `shutdown`), sends what is left in the outbox for at most one
    /// telemetry interval (the rest is counted in `samples_abandoned`), and
    /// lets the loops finish their in-flight request.
    void stop() { s_->stop(); }
    /// @brief True once every loop has ended and baseline was commanded.
    [[nodiscard]] bool stopped() const noexcept { return s_->loops == 0 && s_->stopping; }

    /// @brief Replaces the token without restart; the next request uses it.
    void set_token(std::string token) { s_->config.token = std::move(token); }

    /// @brief Sets the log sink. Lines never contain the token.
    void set_logger(std::function<void(log_level, std::string_view)> sink) { s_->log = std::move(sink); }

    /// @brief The hooks (assign before `start()`).
    agent_hooks& hooks() noexcept { return s_->hooks; }
    [[nodiscard]] agent_counters const& counters() const noexcept { return s_->counters; }
    /// @brief Activations known to the agent, with their local state.
    [[nodiscard]] std::vector<tracked_activation> const& activations() const noexcept { return s_->tracked; }
    /// @brief Samples waiting to be sent.
    [[nodiscard]] std::size_t outbox_size() const noexcept { return s_->outbox.size(); }
    /// @brief The setpoint last accepted by the device.
    [[nodiscard]] kilowatts commanded() const noexcept { return s_->commanded; }

private:
    struct state {
        state(Device& d, Transport& t, agent_config c, Clock clk, Retry r, StoreT st)
            : device(d), transport(t), config(std::move(c)), clock(std::move(clk)), store(std::move(st)),
              client(t, std::move(r), clock),
              // An outage of a whole span, and the sample taken as it ends.
              outbox(static_cast<std::size_t>(std::max<std::int64_t>(
                  1, std::chrono::duration_cast<std::chrono::milliseconds>(config.outbox_span).count() /
                             std::max<std::int64_t>(1, config.telemetry_interval.count()) +
                         1))),
              telemetry_timer(clock.make_timer(t.get_executor())), send_timer(clock.make_timer(t.get_executor())),
              poll_timer(clock.make_timer(t.get_executor())),
              control_timer(clock.make_timer(t.get_executor())), confirm_timer(clock.make_timer(t.get_executor())) {}

        Device& device;
        Transport& transport;
        agent_config config;
        Clock clock;
        StoreT store;
        client_type client;
        telemetry_outbox outbox;
        timer_type telemetry_timer, send_timer, poll_timer, control_timer, confirm_timer;
        agent_hooks hooks;
        agent_counters counters;
        std::function<void(log_level, std::string_view)> log;
        std::vector<tracked_activation> tracked;
        std::vector<std::pair<std::string, confirmation>> confirm_queue; // activation id, what to send
        std::optional<percent> last_soc;
        kilowatts commanded{};
        bool has_commanded = false;
        bool control_dirty = true;
        bool confirm_waiting = false;
        bool first_poll_done = false;
        bool sender_waiting = false;
        bool last_send_failed = false;
        bool started = false;
        bool stopping = false;
        int loops = 0;
        std::weak_ptr<state> weak_self;

        void say(log_level l, std::string const& line) {
            if (log) log(l, line);
        }
        void error(std::string const& what) {
            say(log_level::warning, what);
            if (hooks.on_error) hooks.on_error(what);
        }

        // Hands one event to the store; `make` is not even called when the
        // store keeps nothing.
        template <class Make>
        void persist(Make&& make) {
            if constexpr (is_durable_store<StoreT>) {
                if (auto r = store.append(store_record(make())); !r) {
                    ++counters.store_failures;
                    error("store: " + r.error().message());
                }
            }
        }

        // A sample left the outbox unsent to make room.
        void evicted(std::uint64_t seq) {
            ++counters.samples_evicted;
            persist([&] { return samples_released{std::span(&seq, 1)}; });
        }

        result<void> restore() {
            auto image = store.load();
            if (!image) return image.error();
            for (auto const& e : image->samples)
                if (auto gone = outbox.restore(e.seq, e.sample)) evicted(*gone);
            // Restored samples are all back-fill: none of them is "live".
            outbox.skip_to(image->next_seq + 1);
            counters.samples_restored = outbox.size();
            auto const now = clock.wall_now();
            tracked = std::move(image->activations);
            for (auto& t : tracked) {
                // An open-ended activation gets a full grace period from the
                // restart; its last poll sighting before the crash was not kept.
                if (!t.a.end_time && (t.phase == activation_phase::scheduled || t.phase == activation_phase::executing))
                    t.last_seen = std::max(t.last_seen, now);
            }
            for (auto& c : image->confirmations) confirm_queue.emplace_back(std::move(c.id), std::move(c.c));
            counters.activations_restored = tracked.size();
            counters.confirmations_restored = confirm_queue.size();
            if (log && !image->empty()) {
                std::ostringstream os;
                os << "restored from the store: " << counters.samples_restored << " unsent samples, "
                   << tracked.size() << " activations, " << confirm_queue.size() << " owed confirmations";
                say(log_level::info, os.str());
            }
            return {};
        }

        result<void> start(std::shared_ptr<state> const& self) {
            if (started) return {};
            if (config.telemetry_interval <= std::chrono::milliseconds::zero() ||
                config.telemetry_interval > max_telemetry_interval)
                return error::config_telemetry_interval;
            if (config.poll_interval <= std::chrono::milliseconds::zero() || config.poll_interval > max_poll_interval)
                return error::config_poll_interval;
            if (config.token.empty()) return error::config_missing_token;
            if constexpr (!StaticallyRatedBattery<Device>) {
                if (!meets_mfrr_minimum(ratings_of(device))) return error::ratings_below_mfrr_minimum;
            }
            if constexpr (is_durable_store<StoreT>) {
                if (auto r = restore(); !r) return r;
            }
            started = true;
            weak_self = self;
            spawn(self, &state::telemetry_loop);
            spawn(self, &state::sender_loop);
            spawn(self, &state::poll_loop);
            spawn(self, &state::control_loop);
            spawn(self, &state::confirm_loop);
            return {};
        }

        void spawn(std::shared_ptr<state> const& self, boost::asio::awaitable<void> (state::*loop)()) {
            ++loops;
            boost::asio::co_spawn(
                transport.get_executor(),
                [](std::shared_ptr<state> s, boost::asio::awaitable<void> (state::*f)()) -> boost::asio::awaitable<void> {
                    co_await (s.get()->*f)();
                }(self, loop),
                [self](std::exception_ptr e) {
                    --self->loops;
                    if (e) {
                        try {
                            std::rethrow_exception(e);
                        } catch (std::exception const& x) {
                            self->error(std::string("agent loop ended by an exception: ") + x.what());
                        }
                    }
                });
        }

        void stop() {
            if (stopping) return;
            stopping = true;
            telemetry_timer.cancel();
            send_timer.cancel();
            poll_timer.cancel();
            control_timer.cancel();
            confirm_timer.cancel();
            if (!started) return;
            // Baseline first, whatever the network is doing.
            for (auto& t : tracked) {
                if (t.phase != activation_phase::scheduled && t.phase != activation_phase::executing) continue;
                t.phase = activation_phase::ended;
                t.ended = end_reason::shutdown;
                ++counters.activations_ended;
                if (hooks.on_activation_ended) hooks.on_activation_ended(t.a, end_reason::shutdown);
            }
            ++loops;
            device.async_apply_setpoint(kilowatts{0.0}, [self = weak_self.lock()](boost::system::error_code ec) {
                if (ec) self->error("baseline at shutdown failed: " + ec.message());
                else self->note_commanded(kilowatts{0.0});
                --self->loops;
            });
        }

        void note_commanded(kilowatts p) {
            commanded = p;
            has_commanded = true;
            ++counters.setpoints_applied;
            if (hooks.on_setpoint) hooks.on_setpoint(p);
        }

        // Waits on `t` until `tp`; false when the agent is stopping.
        boost::asio::awaitable<bool> sleep_until(timer_type& t, mono_time tp) {
            if (stopping) co_return false;
            t.expires_at(tp);
            co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            co_return !stopping;
        }

        template <class Token>
        auto async_read(Token&& token) {
            return boost::asio::async_initiate<Token, void(boost::system::error_code, battery_state)>(
                [this](auto handler) {
                    // Devices may copy handlers (BatteryDevice allows std::function).
                    auto h = std::make_shared<decltype(handler)>(std::move(handler));
                    device.async_read_state(
                        [h](boost::system::error_code ec, battery_state st) { std::move (*h)(ec, st); });
                },
                token);
        }
        template <class Token>
        auto async_apply(kilowatts p, Token&& token) {
            return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
                [this, p](auto handler) {
                    auto h = std::make_shared<decltype(handler)>(std::move(handler));
                    device.async_apply_setpoint(p, [h](boost::system::error_code ec) { std::move (*h)(ec); });
                },
                token);
        }

        // --- telemetry: sampling never waits for the network ---
        boost::asio::awaitable<void> telemetry_loop() {
            using boost::asio::as_tuple;
            using boost::asio::use_awaitable;
            auto next = clock.now();
            while (!stopping) {
                next += config.telemetry_interval;
                auto [ec, st] = co_await async_read(as_tuple(use_awaitable));
                if (stopping) break;
                if (ec) {
                    ++counters.sample_read_failures;
                    error("device reading failed: " + ec.message());
                } else if (auto smp = make_sample(clock.wall_now(), st)) {
                    ++counters.samples_taken;
                    if (st.soc && smp->soc) last_soc = smp->soc;
                    auto const gone = outbox.push(*smp);
                    persist([&] { return sample_taken{outbox.live()->seq, *smp}; });
                    if (gone) {
                        evicted(*gone);
                        if (hooks.on_telemetry_dropped) hooks.on_telemetry_dropped(1);
                    }
                    if (sender_waiting) send_timer.cancel();
                } else {
                    ++counters.sample_read_failures;
                    error("device reading had no usable power or soc");
                }
                // A slow device never makes the cadence drift: missed ticks
                // are skipped, the schedule keeps its phase.
                while (next <= clock.now()) next += config.telemetry_interval;
                if (!co_await sleep_until(telemetry_timer, next)) break;
            }
        }

        // Sends what the sampler produced: the newest sample first, then the
        // backlog, each attempt bounded by one telemetry interval.
        boost::asio::awaitable<void> sender_loop() {
            for (;;) {
                if (stopping) { // one last attempt, bounded by one interval
                    if (!outbox.empty()) co_await flush(clock.now() + config.telemetry_interval);
                    counters.samples_abandoned = outbox.size();
                    break;
                }
                if (outbox.live() || (!outbox.empty() && !backlog_paused())) {
                    co_await flush(clock.now() + config.telemetry_interval);
                    if (stopping) continue;
                    if (!last_send_failed) continue;
                }
                // Nothing new, or Cleori is not answering: wait for the next sample.
                sender_waiting = true;
                co_await sleep_until(send_timer, clock.now() + std::chrono::hours(24));
                sender_waiting = false;
            }
        }
        bool backlog_paused() const { return last_send_failed; }

        boost::asio::awaitable<void> flush(mono_time deadline) {
            last_send_failed = false;
            if (auto live = outbox.live()) {
                auto r = co_await client.send_telemetry(config.token, std::span(&live->sample, 1), deadline);
                if (!r) {
                    ++counters.telemetry_failures;
                    last_send_failed = true;
                    error("telemetry: " + r.error().describe());
                    co_return;
                }
                outbox.acknowledge(live->seq);
                persist([&] { return samples_released{std::span(&live->seq, 1)}; });
                sent(1);
            }
            while (!outbox.empty() && clock.now() < deadline) {
                if (outbox.live() && !stopping) break; // a new sample goes first: back to the top
                auto batch = outbox.backlog(Profile::max_telemetry_batch);
                if (batch.empty()) break;
                std::vector<telemetry_sample> samples;
                std::vector<std::uint64_t> seqs;
                for (auto const& e : batch) {
                    samples.push_back(e.sample);
                    seqs.push_back(e.seq);
                }
                auto r = co_await client.send_telemetry(config.token, samples, deadline);
                if (!r) {
                    ++counters.telemetry_failures;
                    last_send_failed = true;
                    error("telemetry back-fill: " + r.error().describe());
                    co_return;
                }
                outbox.acknowledge(seqs);
                persist([&] { return samples_released{seqs}; });
                sent(samples.size());
            }
        }
        void sent(std::size_t n) {
            ++counters.telemetry_requests;
            counters.samples_sent += n;
            if (hooks.on_telemetry_sent) hooks.on_telemetry_sent(n);
        }

        // --- polling ---
        boost::asio::awaitable<void> poll_loop() {
            auto next = clock.now();
            while (!stopping) {
                next += config.poll_interval;
                auto r = co_await client.get_activations(config.token, next);
                if (stopping) break;
                if (!r) {
                    ++counters.poll_failures;
                    error("poll: " + r.error().describe());
                } else {
                    ++counters.polls;
                    if (has_new(*r)) co_await refresh_soc(); // assess against the SoC of now
                    if (stopping) break;
                    merge(*r);
                }
                if (!first_poll_done) {
                    first_poll_done = true;
                    control_timer.cancel();
                }
                while (next <= clock.now()) next += config.poll_interval;
                if (!co_await sleep_until(poll_timer, next)) break;
            }
        }

        bool has_new(activation_poll const& poll) {
            return std::any_of(poll.activations.begin(), poll.activations.end(),
                               [&](activation const& a) { return find(a.id) == nullptr && !a.is_cancellation(); });
        }
        boost::asio::awaitable<void> refresh_soc() {
            auto [ec, st] = co_await async_read(boost::asio::as_tuple(boost::asio::use_awaitable));
            if (!ec && st.soc) {
                if (auto smp = make_sample(clock.wall_now(), battery_state{std::nullopt, st.soc})) last_soc = smp->soc;
            }
        }

        // Status moves (pending → confirmed → active) are Cleori's bookkeeping,
        // not a change of what the battery must do.
        static bool same_instruction(activation const& x, activation const& y) {
            return x.direction == y.direction && x.power == y.power && x.start_time == y.start_time &&
                   x.end_time == y.end_time && x.is_cancellation() == y.is_cancellation();
        }

        tracked_activation* find(std::string const& id) {
            for (auto& t : tracked)
                if (t.a.id == id) return &t;
            return nullptr;
        }

        void merge(activation_poll const& poll) {
            auto const now = clock.wall_now();
            for (auto const& bad : poll.rejected) {
                ++counters.activations_invalid;
                error("activation " + (bad.id.empty() ? std::string("(no id)") : bad.id) +
                      " is invalid and will not be executed: " + bad.reason);
            }
            for (auto const& a : poll.activations) {
                if (auto* t = find(a.id)) {
                    t->last_seen = now;
                    if (t->phase == activation_phase::ended || t->phase == activation_phase::refused) continue;
                    if (same_instruction(t->a, a)) continue;
                    bool const cancelled = a.is_cancellation() && !t->a.is_cancellation();
                    t->a = a;
                    t->setpoint = clamp_setpoint(a.setpoint(), ratings_of(device));
                    persist([&] { return activation_changed{*t}; });
                    if (log) say(log_level::info, "activation " + a.id + (cancelled ? " cancelled" : " modified"));
                    control_dirty = true;
                    continue;
                }
                if (a.is_cancellation() || a.has_ended(now)) {
                    // Nothing to do, but remember it so that it is never acted on.
                    tracked.push_back({a, activation_phase::ended, {}, now,
                                       a.is_cancellation() ? end_reason::cancelled : end_reason::completed, false});
                    persist([&] { return activation_changed{tracked.back()}; });
                    continue;
                }
                ++counters.activations_received;
                if (hooks.on_activation_received) hooks.on_activation_received(a);
                auto [up, down] = committed_energy(tracked, now, Profile::open_ended_grace);
                auto const verdict = assess(a, ratings_of(device), last_soc, up, down, now, Profile::open_ended_grace);
                tracked_activation t{a, activation_phase::scheduled, verdict.setpoint, now, std::nullopt, false};
                if (!verdict.feasible) {
                    t.phase = activation_phase::refused;
                    ++counters.activations_refused;
                    confirmation refusal{now, confirmation_status::unavailable, verdict.reason, std::nullopt};
                    // The refusal and the confirmation it owes are kept as one event.
                    persist([&] { return activation_changed{t, refusal}; });
                    if (log) say(log_level::info, "activation " + a.id + " refused: " + verdict.reason);
                    if (hooks.on_activation_refused) hooks.on_activation_refused(a, verdict.reason);
                    enqueue_confirmation(a.id, std::move(refusal));
                } else {
                    persist([&] { return activation_changed{t}; });
                    if (log) {
                        std::ostringstream os;
                        os << "activation " << a.id << " accepted: " << verdict.setpoint << " from "
                           << to_rfc3339(a.start_time);
                        if (a.end_time) os << " to " << to_rfc3339(*a.end_time);
                        say(log_level::info, os.str());
                    }
                }
                tracked.push_back(std::move(t));
                control_dirty = true;
            }
            prune(now);
            if (control_dirty) control_timer.cancel();
        }

        // Cleori serves an activation until its end time; keep what it might
        // still serve, so an old id is never executed twice.
        void prune(timestamp now) {
            std::erase_if(tracked, [&](tracked_activation const& t) {
                bool const over = t.phase == activation_phase::ended || t.phase == activation_phase::refused;
                bool const pending_confirm =
                    std::any_of(confirm_queue.begin(), confirm_queue.end(), [&](auto const& q) { return q.first == t.a.id; });
                bool const forget = over && !pending_confirm && now - t.last_seen > std::chrono::hours(1) &&
                                    (!t.a.end_time || now > *t.a.end_time + std::chrono::hours(1));
                if (forget) persist([&] { return activation_forgotten{t.a.id}; });
                return forget;
            });
        }

        // --- control: phases, setpoints, local expiry ---
        boost::asio::awaitable<void> control_loop() {
            using boost::asio::as_tuple;
            using boost::asio::use_awaitable;
            // Learn what Cleori wants before the first command, so that an
            // activation already running is joined directly.
            // Restored activations are known already: act on them at once.
            while (!first_poll_done && counters.activations_restored == 0 && !stopping)
                co_await sleep_until(control_timer, clock.now() + std::chrono::hours(24));
            while (!stopping) {
                control_dirty = false;
                auto const now = clock.wall_now();
                auto res = step(tracked, now, ratings_of(device), Profile::open_ended_grace);
                for (auto i : res.ended) {
                    ++counters.activations_ended;
                    auto const& t = tracked[i];
                    persist([&] { return activation_changed{t}; });
                    if (log) say(log_level::info, "activation " + t.a.id + " ended: " + std::string(to_string(*t.ended)));
                    if (hooks.on_activation_ended) hooks.on_activation_ended(t.a, *t.ended);
                }
                std::optional<mono_time> wake;
                if (!has_commanded || res.target != commanded) {
                    auto [ec] = co_await async_apply(res.target, as_tuple(use_awaitable));
                    if (stopping) break;
                    if (ec) {
                        ++counters.setpoint_failures;
                        error("setpoint " + to_text(res.target) + " refused by the device: " + ec.message());
                        wake = clock.now() + std::chrono::seconds(1); // try again soon
                    } else {
                        note_commanded(res.target);
                    }
                }
                if (!wake) { // the device has the setpoint: the started activations are executing
                    for (auto i : res.started) {
                        auto& t = tracked[i];
                        ++counters.activations_applied;
                        confirmation execution{clock.wall_now(), confirmation_status::executing, std::nullopt, t.setpoint};
                        // Executing and the confirmation it owes, as one event.
                        persist([&] { return activation_changed{t, execution}; });
                        if (log) say(log_level::info, "activation " + t.a.id + " executing at " + to_text(t.setpoint));
                        if (hooks.on_activation_applied) hooks.on_activation_applied(t.a, t.setpoint);
                        enqueue_confirmation(t.a.id, std::move(execution));
                    }
                } else {
                    // Not applied: let the next round start them again.
                    for (auto i : res.started) tracked[i].phase = activation_phase::scheduled;
                }
                if (control_dirty) continue;
                if (res.next) {
                    auto const at = clock.now() + std::chrono::duration_cast<mono_time::duration>(*res.next - clock.wall_now());
                    if (!wake || at < *wake) wake = at;
                }
                if (!co_await sleep_until(control_timer, wake ? *wake : clock.now() + std::chrono::hours(24)) &&
                    stopping)
                    break;
            }
        }

        static std::string to_text(kilowatts p) {
            std::ostringstream os;
            os << p;
            return os.str();
        }

        // --- confirmations: retried until acknowledged ---
        void enqueue_confirmation(std::string id, confirmation c) {
            confirm_queue.emplace_back(std::move(id), std::move(c));
            if (confirm_waiting) confirm_timer.cancel();
        }

        boost::asio::awaitable<void> confirm_loop() {
            while (!stopping) {
                bool failed = false;
                while (!confirm_queue.empty() && !stopping) {
                    auto const front = confirm_queue.front(); // a copy: the queue may change while awaiting
                    auto const& id = front.first;
                    auto const& c = front.second;
                    auto r = co_await client.confirm(config.token, id, c, clock.now() + config.confirm_retry_interval * 5);
                    if (stopping) break;
                    if (r) {
                        confirm_queue.erase(confirm_queue.begin());
                        persist([&] { return confirmation_done{id}; });
                        ++counters.confirmations_sent;
                        if (auto* t = find(id)) {
                            t->confirmed = true;
                            if (hooks.on_activation_confirmed) hooks.on_activation_confirmed(t->a, c);
                        }
                        continue;
                    }
                    ++counters.confirmation_failures;
                    error("confirm " + id + ": " + r.error().describe());
                    if (classify({r.error().ec, r.error().status, std::nullopt}) == failure_kind::permanent &&
                        r.error().status != 401 && r.error().status != 0) {
                        // Cleori refuses it for good (e.g. 404: unknown); retrying cannot help.
                        confirm_queue.erase(confirm_queue.begin());
                        persist([&] { return confirmation_done{id}; });
                        continue;
                    }
                    failed = true;
                    break;
                }
                if (stopping) break;
                confirm_waiting = true;
                auto const until = failed ? clock.now() + config.confirm_retry_interval : clock.now() + std::chrono::hours(24);
                bool const go_on = co_await sleep_until(confirm_timer, until);
                confirm_waiting = false;
                if (!go_on && stopping) break;
            }
        }
    };

    std::shared_ptr<state> s_;
};

} // namespace cleori
