#pragma once
/// @file
/// @brief The `Clock` concept and `cleori::real_clock`: wall time for payloads,
/// monotonic time for cadence and deadlines, and timers on an Asio executor.
///
/// The engine never reads `std::chrono` clocks or makes Asio timers directly;
/// it asks its Clock. That is what lets `cleori::manual_clock`
/// (`<cleori/clock/manual_clock.hpp>`) run a whole agent in virtual time.
///
/// | expression | type | semantics |
/// |---|---|---|
/// | `c.now()` | `std::chrono::steady_clock::time_point` | monotonic time: cadence, deadlines, retry waits |
/// | `c.wall_now()` | `cleori::timestamp` | UTC wall time: sample and confirmation `time`, activation windows |
/// | `c.make_timer(ex)` | a timer `t` | `t.expires_at(tp)`, `t.async_wait(token)` completing with `void(error_code)` (`operation_aborted` when cancelled), `t.cancel()` |
/// | `c.timer_slack()` (optional, `const`) | a `std::chrono::duration` | the most a timer fires after its expiry (at most 1 s); the agent checks its cadences with it and keeps its hard limits earlier by as much (`cleori::coalescing_clock`) |
///
/// See doc/concepts/Clock.md.

#include <cleori/detail/handler_archetype.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <concepts>
#include <utility>

namespace cleori {

/// @brief Monotonic time as the engine uses it, whatever the Clock.
using mono_time = std::chrono::steady_clock::time_point;

namespace detail {
template <class T>
concept ClockTimer = requires(T& t, mono_time tp, once_handler_archetype<boost::system::error_code> h) {
    t.expires_at(tp);
    t.cancel();
    t.async_wait(std::move(h));
};
} // namespace detail

/// @brief A clock policy: monotonic and wall time, and timers driven by the same time.
template <class C>
concept Clock = requires(C& c, boost::asio::any_io_executor ex) {
    { c.now() } -> std::same_as<mono_time>;
    { c.wall_now() } -> std::same_as<timestamp>;
    { c.make_timer(ex) } -> detail::ClockTimer;
};

/// @brief The real clocks: `std::chrono::steady_clock`, `std::chrono::system_clock`
/// and `asio::steady_timer`. Stateless; copies are free.
struct real_clock {
    [[nodiscard]] mono_time now() const noexcept { return std::chrono::steady_clock::now(); }
    [[nodiscard]] timestamp wall_now() const noexcept {
        return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    }
    [[nodiscard]] boost::asio::steady_timer make_timer(boost::asio::any_io_executor ex) const {
        return boost::asio::steady_timer(std::move(ex));
    }
};

/// @brief The most a timer of `c` fires after its expiry: `c.timer_slack()`
/// (a `const` member) if the clock has it, else zero; never negative.
template <class C>
[[nodiscard]] constexpr std::chrono::nanoseconds timer_slack_of(C const& c) {
    if constexpr (requires { c.timer_slack(); }) {
        auto const s = std::chrono::duration_cast<std::chrono::nanoseconds>(c.timer_slack());
        return s > std::chrono::nanoseconds::zero() ? s : std::chrono::nanoseconds::zero();
    } else {
        return std::chrono::nanoseconds::zero();
    }
}

// test/static/clock.cpp checks that real_clock models Clock, once, instead of
// every translation unit that includes this header.

} // namespace cleori
