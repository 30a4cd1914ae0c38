#pragma once
/// @file
/// @brief `cleori::basic_simulated_battery` — a plant model for tests, examples
/// and the demo: the state of charge integrates power with the charge and
/// discharge efficiencies, power respects the ratings and stops at 0 % and
/// 100 %, and a new setpoint takes effect after the response time.
///
/// It models `BatteryDevice` with static ratings (so the mFRR minimum is
/// checked at compile time) and completes every operation inline.
///
/// @code
/// cleori::manual_clock clock;
/// cleori::basic_simulated_battery<cleori::manual_clock> battery{clock, 50.0_pct};
/// battery.async_apply_setpoint(-80.0_kW, [](auto ec) {});  // discharge 80 kW after 500 ms
/// @endcode
///
/// @tparam Clock a `Clock`: the model integrates over its monotonic time
/// @tparam Rated a type with `static constexpr battery_ratings ratings`
/// (default: `reference_battery`, 200 kWh / 100 kW / 500 ms / 90 %)

#include <cleori/clock/clock.hpp>
#include <cleori/device/battery_device.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace cleori {

/// @brief Ratings of the simulated battery used by examples and the demo:
/// comfortably above the mFRR minimum.
struct reference_battery {
    static constexpr battery_ratings ratings{.capacity = kilowatt_hours{200.0},
                                             .max_charge = kilowatts{100.0},
                                             .max_discharge = kilowatts{100.0},
                                             .response_time = std::chrono::milliseconds{500},
                                             .round_trip_efficiency = percent{90.0},
                                             .chemistry = chemistry::lifepo4,
                                             .min_soc = percent{5.0},
                                             .max_soc = percent{95.0}};
};

template <class Clock = real_clock, class Rated = reference_battery>
class basic_simulated_battery {
public:
    static constexpr battery_ratings ratings = Rated::ratings;

    explicit basic_simulated_battery(Clock clock = Clock{}, percent initial_soc = percent{50.0},
                                     kilowatts initial_power = kilowatts{0.0})
        : clock_(std::move(clock)), energy_(ratings.capacity * std::clamp(initial_soc, percent{0.0}, percent{100.0})),
          power_(limit(initial_power)), target_(power_), last_(clock_.now()), switch_at_(last_) {}

    /// @brief Reads power and SoC now (inline completion).
    template <class Handler>
    void async_read_state(Handler&& h) {
        if (fail_reads_ > 0) {
            --fail_reads_;
            std::forward<Handler>(h)(make_error_code(boost::system::errc::io_error), battery_state{});
            return;
        }
        update();
        std::forward<Handler>(h)(boost::system::error_code{}, battery_state{.power = actual(), .soc = soc()});
    }

    /// @brief Commands `p` (+ charge, − discharge), clamped to the ratings;
    /// it takes effect after the response time (inline completion).
    template <class Handler>
    void async_apply_setpoint(kilowatts p, Handler&& h) {
        if (fail_setpoints_ > 0) {
            --fail_setpoints_;
            std::forward<Handler>(h)(make_error_code(boost::system::errc::io_error));
            return;
        }
        update();
        target_ = limit(p);
        switch_at_ = clock_.now() + ratings.response_time;
        commands_.push_back({clock_.wall_now(), p});
        std::forward<Handler>(h)(boost::system::error_code{});
    }

    /// @brief State of charge now.
    [[nodiscard]] percent soc() const noexcept { return percent{100.0 * (energy_ / ratings.capacity)}; }
    /// @brief Power flowing now (0 at an empty or full battery).
    [[nodiscard]] kilowatts actual() const noexcept { return flowing(power_); }
    /// @brief The last commanded setpoint, after clamping.
    [[nodiscard]] kilowatts commanded() const noexcept { return target_; }
    /// @brief Every command received: wall time and the value as given.
    struct command {
        timestamp time;
        kilowatts setpoint;
    };
    [[nodiscard]] std::vector<command> const& commands() const noexcept { return commands_; }
    /// @brief Makes the next `n` reads / setpoints fail with `io_error` (fault injection).
    void fail_next_reads(std::size_t n) noexcept { fail_reads_ = n; }
    void fail_next_setpoints(std::size_t n) noexcept { fail_setpoints_ = n; }
    /// @brief Integrates up to now (reads do this themselves).
    void update() {
        auto const now = clock_.now();
        if (switch_at_ > last_ && switch_at_ <= now) {
            integrate(switch_at_ - last_);
            last_ = switch_at_;
        }
        if (now >= switch_at_) power_ = target_;
        integrate(now - last_);
        last_ = now;
    }

private:
    static kilowatts limit(kilowatts p) noexcept { return clamp_setpoint(p, ratings); }
    kilowatts flowing(kilowatts p) const noexcept {
        if (p > kilowatts{0.0} && energy_ >= ratings.capacity) return kilowatts{0.0};
        if (p < kilowatts{0.0} && energy_ <= kilowatt_hours{0.0}) return kilowatts{0.0};
        return p;
    }
    void integrate(mono_time::duration d) {
        if (d <= mono_time::duration::zero()) return;
        double const eta = std::sqrt(ratings.round_trip_efficiency.in_pct() / 100.0);
        kilowatts const p = flowing(power_);
        auto const hours = std::chrono::duration<double, std::ratio<3600>>(d);
        kilowatt_hours const delta = p > kilowatts{0.0} ? p * hours * eta : p * hours / eta;
        energy_ = std::clamp(energy_ + delta, kilowatt_hours{0.0}, ratings.capacity);
    }

    Clock clock_;
    kilowatt_hours energy_;
    kilowatts power_;   // flowing now (before the 0 %/100 % stop)
    kilowatts target_;  // commanded, effective from switch_at_
    mono_time last_;
    mono_time switch_at_;
    std::vector<command> commands_;
    std::size_t fail_reads_ = 0;
    std::size_t fail_setpoints_ = 0;
};

/// @brief The simulated battery on the real clocks.
using simulated_battery = basic_simulated_battery<>;

} // namespace cleori
