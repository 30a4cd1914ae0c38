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
/// agent.hooks().on_activation_confirmed = [](auto const& a, auto const& c) { … };
/// if (auto started = agent.start(); !started) fail(started.error().message());
/// io.run();                                                // until agent.stop()
/// @endcode
///
/// Policies, each checked by one `static_assert` naming the concept:
/// @tparam Device a `BatteryDevice`. With static ratings the mFRR minimum is
///   checked at compile time; with `ratings()` at `start()`.
/// @tparam Transport a `Transport` (e.g. `beast_transport`); many agents may share one
/// @tparam P a `Policies` bundle (`<cleori/policies.hpp>`): `default_policies`,
///   or a type derived from it that shadows what differs:
///   - `P::clock` a `Clock` (`real_clock`, or `manual_clock` for virtual time)
///   - `P::retry` a `RetryStrategy` (`default_retry`)
///   - `P::profile` the API profile (`api_profile_v1`)
///   - `P::store` a `Store`: `memory_store` (keeps nothing) or `file_store`
///     (a journal; unsent telemetry, activations and owed confirmations
///     survive a crash — doc/concepts/Store.md)
///
/// Threading: everything runs on the transport's executor; call member
/// functions from that executor's thread (post to it from elsewhere).
/// Lifetime: destroying a running agent begins `stop()` (the baseline command
/// is issued, but nobody is left to see it accepted): call `stop()` and run the
/// executor until `stopped()` first. Operations already in flight keep the
/// agent's state alive until they complete on the executor, so the device and
/// the transport must outlive them too: run the executor until it is out of
/// work (or destroy the device and transport after it) before they go.
///
/// Every decision is made by `cleori::agent_core` (sans-I/O); this class only
/// performs its actions with the policies and feeds the results back. Device
/// operations are serialized and each has a deadline (doc/concepts/BatteryDevice.md).
/// What it guarantees and how each promise is tested: doc/engine.md.

#include <cleori/api/profile.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/client/api_client.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/device/battery_device.hpp>
#include <cleori/engine/agent_core.hpp>
#include <cleori/policies.hpp>
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/store/store.hpp>
#include <cleori/transport/http.hpp>
#include <cleori/detail/handler_pool.hpp>
#include <cleori/detail/optional_time.hpp>
#include <cleori/detail/shared_text.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cleori {

/// @brief The engine for one asset. See the file comment.
template <class Device, class Transport, class P = default_policies>
class basic_agent {
public:
    using policies_type = P;
    using clock_type = typename detail::checked_policies<P>::clock;
    using retry_type = typename detail::checked_policies<P>::retry;
    using profile_type = typename detail::checked_policies<P>::profile;
    using store_type = typename detail::checked_policies<P>::store;

private:
    using Clock = clock_type;
    using Retry = retry_type;
    using Profile = profile_type;
    using StoreT = store_type;

    static_assert(BatteryDevice<Device>,
                  "cleori::agent: 'Device' does not model BatteryDevice: it needs ratings, async_read_state(handler) "
                  "and async_apply_setpoint(kilowatts, handler). See doc/concepts/BatteryDevice.md");
    static_assert(cleori::Transport<Transport>,
                  "cleori::agent: 'Transport' does not model Transport: it needs async_request(http_request, h) "
                  "taking a move-only handler h(error_code, http_response const&), and get_executor() returning an Asio "
                  "executor. See doc/concepts/Transport.md");
    static_assert(cleori::Policies<P>, "cleori::agent: 'Policies' does not model Policies: derive it from "
                                       "cleori::default_policies and shadow what differs (clock, retry, profile, "
                                       "store). See doc/concepts/Policies.md");
    static_assert(!cleori::Policies<P> || cleori::Clock<Clock>,
                  "cleori::agent: 'Policies::clock' does not model Clock: it needs now() -> steady time_point, "
                  "wall_now() -> timestamp and make_timer(executor) whose timer has expires_at(time_point), "
                  "cancel() and async_wait(handler). See doc/concepts/Clock.md");
    static_assert(!cleori::Policies<P> || RetryStrategy<Retry>,
                  "cleori::agent: 'Policies::retry' does not model RetryStrategy: it needs "
                  "next_delay(retry_context) -> result<milliseconds> and on_success(time_point). See "
                  "doc/concepts/RetryStrategy.md");
    static_assert(!cleori::Policies<P> || cleori::Profile<Profile>,
                  "cleori::agent: 'Policies::profile' does not model Profile: derive it from cleori::api_profile_v1 "
                  "and shadow what differs. See doc/concepts/Profile.md");
    static_assert(!cleori::Policies<P> || Store<StoreT>,
                  "cleori::agent: 'Policies::store' does not model Store: it needs load() -> result<store_image> "
                  "and append(store_record) -> result<void>. See doc/concepts/Store.md");

    // With a policy that fails its concept, nothing below is instantiated, so
    // the static_assert above is the only error the user sees.
    static constexpr bool policies_ok = BatteryDevice<Device> && cleori::Transport<Transport> &&
                                        cleori::Policies<P> && cleori::Clock<Clock> && RetryStrategy<Retry> &&
                                        Store<StoreT> && cleori::Profile<Profile>;
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
    using client_type = basic_api_client<Transport, P>;

    /// @brief Longest allowed cadences (Cleori's rules).
    static constexpr std::chrono::milliseconds max_telemetry_interval = agent_core::max_telemetry_interval;
    static constexpr std::chrono::milliseconds max_poll_interval = agent_core::max_poll_interval;

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
    /// the store kept, and starts. Errors: `config_telemetry_interval`,
    /// `config_poll_interval`, `config_missing_token`, `config_timer_slack`, `ratings_below_mfrr_minimum`,
    /// or the store's `load()` error.
    ///
    /// After a restore, samples go out as back-fill, owed confirmations are
    /// sent, and the battery is commanded at once to what the restored
    /// activations ask now (baseline if they have ended), without waiting
    /// for the first poll.
    result<void> start() { return s_->start(); }

    /// @brief Stops: commands baseline (0 kW) as soon as the device is free
    /// (retried for `core().baseline_window()`: one telemetry interval, or two
    /// device deadlines and a retry pause if longer), ends every activation (reason
    /// `shutdown`), sends what is left in the outbox for at most one telemetry
    /// interval (the rest is counted in `samples_abandoned`), and lets the
    /// requests in flight finish.
    void stop() { s_->stop(); }
    /// @brief True once baseline was commanded and nothing is in flight.
    [[nodiscard]] bool stopped() const noexcept { return s_->core.stopped(); }

    /// @brief Replaces the token without restart; requests started from now on use it.
    void set_token(std::string token) {
        s_->token = detail::shared_text(token);
    }

    /// @brief Sets the log sink. Lines never contain the token.
    void set_logger(std::function<void(log_level, std::string_view)> sink) { s_->core.log = std::move(sink); }

    /// @brief The hooks (assign before `start()`).
    agent_hooks& hooks() { return s_->core.hooks(); }
    [[nodiscard]] agent_counters counters() const noexcept { return s_->core.counters(); }
    /// @brief A snapshot of the asset for monitoring, taken now (call it on
    /// the agent's executor, like every member; from another thread use
    /// `async_status`).
    [[nodiscard]] agent_status status() const { return s_->core.status(); }
    /// @brief The snapshot for any thread (a metrics endpoint, a supervisor):
    /// taken on the agent's executor, then handed to the completion, whose
    /// signature is `void(agent_status)`, on the completion's associated
    /// executor. Any completion token: a callback, `asio::use_future` (the
    /// agent's executor must be running for the future to become ready),
    /// `asio::use_awaitable`, `asio::deferred`. It never completes inline.
    /// If the executor never runs it (its `io_context` is stopped or
    /// destroyed), it never completes: a `use_future` caller should wait
    /// with a timeout (`wait_for`).
    ///
    /// The agent keeps no published copy: a fleet pays for a snapshot only
    /// when one is asked for.
    template <class CompletionToken>
    auto async_status(CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(agent_status)>(
            [](auto handler, std::shared_ptr<state> s) {
                auto const ex = s->transport.get_executor();
                auto work = boost::asio::make_work_guard(handler, ex);
                auto const alloc = boost::asio::get_associated_allocator(handler);
                boost::asio::post(ex, boost::asio::bind_allocator(alloc, [s = std::move(s), h = std::move(handler),
                                                                          work = std::move(work)]() mutable {
                    auto snapshot = s->core.status();
                    boost::asio::dispatch(work.get_executor(), boost::asio::append(std::move(h), std::move(snapshot)));
                    work.reset();
                }));
            },
            token, s_);
    }
    /// @brief Activations known to the agent, with their local state.
    [[nodiscard]] std::vector<tracked_activation> const& activations() const noexcept { return s_->core.activations(); }
    /// @brief Samples waiting to be sent.
    [[nodiscard]] std::size_t outbox_size() const noexcept { return s_->core.outbox_size(); }
    /// @brief Samples evicted from the full outbox while their request is in
    /// flight: counted as sent or evicted when it ends (`agent_core::evicted_in_flight`).
    [[nodiscard]] std::size_t evicted_in_flight() const noexcept { return s_->core.evicted_in_flight(); }
    /// @brief The setpoint last accepted by the device.
    [[nodiscard]] kilowatts commanded() const noexcept { return s_->core.commanded(); }
    /// @brief The decisions, for inspection (read only).
    [[nodiscard]] agent_core const& core() const noexcept { return s_->core; }

private:
    static core_profile profile_facts() {
        return core_profile{Profile::open_ended_grace, Profile::open_ended_horizon, Profile::max_telemetry_batch,
                            Profile::unavailable_after_executing};
    }

    struct state : std::enable_shared_from_this<state> {
        state(Device& d, Transport& t, agent_config c, Clock clk, Retry r, StoreT st)
            : device(d), transport(t), clock(std::move(clk)), store(std::move(st)), client(t, std::move(r), clock),
              core(ratings_of(d), c, profile_facts()), timer(clock.make_timer(t.get_executor())),
              token(c.token) {}

        Device& device;
        Transport& transport;
        Clock clock;
        StoreT store;
        client_type client;
        agent_core core;
        timer_type timer;
        // Shared with the requests in flight: a rotation replaces it, and
        // each request keeps the token it started with.
        detail::shared_text token;
        // The last poll's result, once the core has merged it: the next poll
        // is read into its storage.
        activation_poll spare_poll{};
        detail::optional_time<mono_time> armed{};
        std::uint64_t generation = 0; // of the timer's current wait
        bool pumping = false;
        bool started = false;

        core_time now() const { return {clock.now(), clock.wall_now()}; }

        result<void> start() {
            if (started) return {};
            auto const& config = core.config();
            // A clock whose timers may fire late (coalescing_clock) lengthens
            // every cadence by as much: Cleori's limits must hold with it.
            auto const slack = cleori::timer_slack_of(clock);
            if (config.telemetry_interval <= std::chrono::milliseconds::zero() ||
                config.telemetry_interval > max_telemetry_interval - slack)
                return error::config_telemetry_interval;
            if (config.poll_interval <= std::chrono::milliseconds::zero() ||
                config.poll_interval > max_poll_interval - slack)
                return error::config_poll_interval;
            if (slack > agent_core::max_wake_slack || slack >= config.telemetry_interval ||
                slack >= config.poll_interval)
                return error::config_timer_slack;
            if (token.view().empty()) return error::config_missing_token;
            if constexpr (!StaticallyRatedBattery<Device>) {
                if (!meets_mfrr_minimum(ratings_of(device))) return error::ratings_below_mfrr_minimum;
            }
            if constexpr (is_durable_store<StoreT>) {
                auto image = store.load();
                if (!image) return image.error();
                // Journal first: samples the restore evicts (a shorter outbox
                // since) are released from the store, not read back again.
                core.journal = [this](store_record const& r) {
                    if (auto kept = store.append(r); !kept) core.on_store_failure(kept.error().message());
                };
                core.restore(std::move(*image), now());
            }
            started = true;
            core.set_wake_slack(slack);
            core.start(now());
            pump();
            return {};
        }

        void stop() {
            if (!started || core.stopping()) return;
            core.stop(now());
            pump();
        }

        // Performs what the core asks until it asks nothing more, then sets
        // the one timer. Answers that arrive inline land here re-entrantly:
        // the outer loop picks up the actions they caused.
        void pump() {
            if (pumping) return;
            {
                // A hook or policy that throws leaves the agent able to go on.
                struct reset {
                    bool& flag;
                    ~reset() { flag = false; }
                } const guard{pumping};
                pumping = true;
                while (auto a = core.next_action()) std::visit([this](auto& x) { this->perform(std::move(x)); }, *a);
            }
            arm();
        }

        void arm() {
            detail::optional_time<mono_time> const want = core.stopped() ? std::nullopt : core.wake_at();
            if (want == armed) return;
            armed = want;
            ++generation;
            timer.cancel();
            if (!want) return;
            timer.expires_at(*want);
            timer.async_wait(bound([self = this->shared_from_this(), gen = generation](boost::system::error_code) {
                if (gen != self->generation) return; // re-armed or cancelled since
                self->armed.reset();
                self->core.on_wake(self->now());
                self->pump();
            }));
        }

        // A handler for one of this agent's operations: it keeps the state
        // alive and allocates from the thread's handler pool, which the
        // agents on a thread share (doc/performance.md, allocations).
        template <class F>
        static auto bound(F f) {
            return boost::asio::bind_allocator(detail::pooled_allocator<void>{}, std::move(f));
        }

        void perform(read_device a) {
            device.async_read_state(bound([self = this->shared_from_this(), op = a.op](boost::system::error_code ec,
                                                                                      battery_state st) {
                self->core.on_device_read(self->now(), op, ec, st);
                self->pump();
            }));
        }
        void perform(command_device a) {
            // Reached late (a journal write, a busy thread), the command
            // would carry an ended activation's power past its window.
            if (clock.wall_now() >= a.valid_until) {
                core.on_device_command_withdrawn(now(), a.op);
                return;
            }
            device.async_apply_setpoint(a.setpoint,
                                        bound([self = this->shared_from_this(), op = a.op](boost::system::error_code ec) {
                                            self->core.on_device_command(self->now(), op, ec);
                                            self->pump();
                                        }));
        }
        // Each request holds the token it started with (a rotation replaces
        // the agent's, not this one); the samples and the page belong to the
        // core until their outcome is reported.
        void perform(poll_activations a) {
            client.async_get_activations(token.view(), a.deadline, std::move(spare_poll),
                                         bound([self = this->shared_from_this(), req = a.request,
                                                held = token](api_result<activation_poll> r) {
                                             if (r) {
                                                 self->core.on_poll(self->now(), req, *r);
                                                 self->spare_poll = std::move(*r);
                                             } else {
                                                 self->core.on_poll_failed(self->now(), req, failure_of(r.error()));
                                             }
                                             self->pump();
                                         }));
        }
        void perform(send_telemetry a) {
            client.async_send_telemetry(token.view(), a.samples, a.deadline,
                                        bound([self = this->shared_from_this(), req = a.request,
                                               held = token](api_result<void> r) {
                                            done(*self, req, r, &agent_core::on_telemetry);
                                        }));
        }
        void perform(send_confirmation a) {
            client.async_confirm(token.view(), std::move(a.activation_id), std::move(a.body), a.deadline,
                                 bound([self = this->shared_from_this(), req = a.request, held = token](api_result<void> r) {
                                     done(*self, req, r, &agent_core::on_confirmation);
                                 }));
        }

        static void done(state& self, std::uint64_t req, api_result<void> const& r,
                         void (agent_core::*report)(core_time, std::uint64_t, call_failure const*)) {
            if (r) (self.core.*report)(self.now(), req, nullptr);
            else {
                auto const failed = failure_of(r.error());
                (self.core.*report)(self.now(), req, &failed);
            }
            self.pump();
        }

        static call_failure failure_of(api_failure const& f) {
            return call_failure{f.ec, f.status, f.retry_after, f.describe()};
        }
    };

    std::shared_ptr<state> s_;
};

} // namespace cleori
