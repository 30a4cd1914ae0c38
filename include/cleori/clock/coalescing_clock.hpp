#pragma once
/// @file
/// @brief `cleori::coalescing_clock`: a Clock whose timers fire on a shared
/// grid of ticks, so that the agents of a fleet that fall due within one tick
/// wake the thread once instead of once each.
///
/// Every timer's expiry is rounded up to the next multiple of the tick (of
/// the monotonic clock's epoch, the same grid for every timer in the
/// process). A thread serving thousands of agents then wakes once per tick
/// with the work of all the agents due in it, and their requests leave
/// together: fewer wake-ups, fewer system calls, less CPU per asset
/// (doc/performance.md, fleet scale). The price is that every timed action
/// of the agent — sampling, polling, retries, an activation's start and end —
/// happens up to one tick late, never early.
///
/// @code
/// // A fleet on one thread, timers on a 20 ms grid:
/// struct fleet : cleori::default_policies {
///     using clock = cleori::coalescing_clock<>;
/// };
/// cleori::basic_agent<my_battery, cleori::beast_transport, fleet> agent{
///     battery, transport, config, cleori::coalescing_clock<>{std::chrono::milliseconds(20)}};
/// @endcode
///
/// The agent checks its cadences with the tick included: a telemetry interval
/// plus the tick must stay within Cleori's 10 s, a poll interval plus the tick
/// within 60 s, and the tick itself at most 1 s and below both intervals
/// (`timer_slack()` is what it reads; `error::config_timer_slack` otherwise).
/// The agent's core then keeps its hard limits — 60 s between polls, 10 s of
/// telemetry held for `Retry-After`, the energy guard — earlier by the tick.
/// A tick of zero or less disables the rounding. See doc/concepts/Clock.md.

#include <cleori/clock/clock.hpp>

#include <chrono>
#include <concepts>
#include <utility>

namespace cleori {

/// @brief A Clock whose timers fire on a grid of `tick()`: `Base`'s time, and
/// `Base`'s timers with their expiry rounded up to the grid.
/// @tparam Base the clock that gives the time and the timers (`real_clock`,
/// or `manual_clock` for virtual time); a Clock through a `const` reference,
/// since a copy of this clock hands out timers from its `const` members
template <class Base = real_clock>
    requires Clock<Base const>
class coalescing_clock {
public:
    /// @brief The tick of a default-constructed clock.
    static constexpr std::chrono::milliseconds default_tick{20};

    /// @brief A timer of `Base` whose expiry is rounded up to the next tick.
    class timer {
    public:
        using base_timer = decltype(std::declval<Base const&>().make_timer(std::declval<boost::asio::any_io_executor>()));

        timer(base_timer t, std::chrono::nanoseconds tick) : timer_(std::move(t)), tick_(tick) {}

        /// @brief Sets the expiry to `tp` rounded up to the grid; pending
        /// waits complete with `operation_aborted`.
        decltype(auto) expires_at(mono_time tp) { return timer_.expires_at(round_up(tp, tick_)); }
        /// @brief Pending waits complete with `operation_aborted`.
        decltype(auto) cancel() { return timer_.cancel(); }
        /// @brief Waits until the (rounded) expiry; any completion token `Base`'s timer takes.
        template <class Token>
        decltype(auto) async_wait(Token&& token) {
            return timer_.async_wait(std::forward<Token>(token));
        }
        /// @brief The expiry as set, rounded.
        [[nodiscard]] mono_time expiry() const
            requires requires(base_timer const& t) {
                { t.expiry() } -> std::convertible_to<mono_time>;
            }
        {
            return timer_.expiry();
        }

    private:
        base_timer timer_;
        std::chrono::nanoseconds tick_;
    };

    coalescing_clock()
        requires std::default_initializable<Base>
    = default;
    /// @param tick the grid; zero or less: no rounding
    /// @param base the clock to take the time and the timers from (a copy shares its time line)
    explicit coalescing_clock(std::chrono::nanoseconds tick, Base base = Base{})
        : base_(std::move(base)), tick_(tick.count() > 0 ? tick : std::chrono::nanoseconds::zero()) {}

    [[nodiscard]] mono_time now() const noexcept(noexcept(std::declval<Base const&>().now())) { return base_.now(); }
    [[nodiscard]] timestamp wall_now() const noexcept(noexcept(std::declval<Base const&>().wall_now())) {
        return base_.wall_now();
    }
    [[nodiscard]] timer make_timer(boost::asio::any_io_executor ex) const {
        return timer(base_.make_timer(std::move(ex)), tick_);
    }

    /// @brief The grid; zero when rounding is off.
    [[nodiscard]] std::chrono::nanoseconds tick() const noexcept { return tick_; }
    /// @brief The most a timer fires after the instant it was set for: the
    /// tick, and the base clock's own slack if it has one.
    [[nodiscard]] std::chrono::nanoseconds timer_slack() const { return tick_ + timer_slack_of(base_); }
    /// @brief The clock the time comes from.
    [[nodiscard]] Base const& base() const noexcept { return base_; }

    /// @brief `tp` rounded up to the next multiple of `tick` since the epoch
    /// (unchanged if `tick` is not positive, or if rounding would overflow).
    [[nodiscard]] static constexpr mono_time round_up(mono_time tp, std::chrono::nanoseconds tick) noexcept {
        auto const t = std::chrono::duration_cast<std::chrono::nanoseconds>(tick).count();
        if (t <= 0) return tp;
        auto const since = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
        auto rem = since % t;
        if (rem < 0) rem += t; // a time point before the epoch
        if (rem == 0 || since > std::chrono::nanoseconds::max().count() - (t - rem)) return tp;
        return tp + std::chrono::duration_cast<mono_time::duration>(std::chrono::nanoseconds(t - rem));
    }

private:
    Base base_{};
    std::chrono::nanoseconds tick_{default_tick};
};

} // namespace cleori
