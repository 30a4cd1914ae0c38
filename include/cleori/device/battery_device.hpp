#pragma once
/// @file
/// @brief The `BatteryDevice` concept — what cleori needs from a battery — and
/// the compile-time check of a device's ratings against Cleori's mFRR minimum.
///
/// A model declares its ratings and offers two asynchronous operations:
///
/// @code
/// struct my_battery {
///     static constexpr cleori::battery_ratings ratings{
///         .capacity = 200.0_kWh, .max_charge = 100.0_kW, .max_discharge = 100.0_kW,
///         .response_time = std::chrono::milliseconds{500},
///         .round_trip_efficiency = 90.0_pct, .chemistry = cleori::chemistry::lifepo4};
///
///     void async_read_state(auto handler)                 // handler(error_code, battery_state)
///     { handler(boost::system::error_code{}, cleori::battery_state{plc.power(), plc.soc()}); }
///
///     void async_apply_setpoint(cleori::kilowatts kw, auto handler)   // handler(error_code)
///     { plc.write_setpoint(kw); handler(boost::system::error_code{}); }
/// };
/// static_assert(cleori::BatteryDevice<my_battery>);
/// static_assert(cleori::assert_mfrr_minimum<my_battery>);   // readable error per missed requirement
/// @endcode
///
/// Why completion handlers: a real battery answers over Modbus/TCP, CAN or a
/// vendor API, with round trips of milliseconds to seconds. One thread serves a
/// whole fleet, so no device operation may block. A handler lets a device that
/// has the answer at hand (a cache refreshed by its own poller) complete inline,
/// and a device that must ask its PLC complete later — with no allocation and
/// no dependency on a particular future or coroutine type. The full rules are
/// in doc/concepts/BatteryDevice.md.

#include <cleori/device/ratings.hpp>
#include <cleori/units/quantity.hpp>

#include <boost/system/error_code.hpp>

#include <concepts>
#include <optional>
#include <type_traits>

namespace cleori {

/// @brief What a battery reports. Either value may be missing (a partial
/// reading); Cleori accepts telemetry with at least one of them.
struct battery_state {
    std::optional<kilowatts> power{}; ///< measured power: + import/charge, − export/discharge
    std::optional<percent> soc{};     ///< state of charge, % of capacity
};

namespace detail {

// Archetypes: the weakest handlers the engine promises to pass. Copyable,
// invocable with exactly the documented arguments, nothing else.
struct state_handler_archetype {
    void operator()(boost::system::error_code, battery_state) const {}
};
struct setpoint_handler_archetype {
    void operator()(boost::system::error_code) const {}
};

template <class D>
concept HasStaticRatings = requires {
    { D::ratings } -> std::same_as<battery_ratings const&>;
    // ratings must be usable in constant expressions (static constexpr):
    // reading one member as a template argument proves it
    typename std::integral_constant<long long, D::ratings.response_time.count()>;
};

template <class D>
concept HasRuntimeRatings = requires(D const& d) {
    { d.ratings() } -> std::convertible_to<battery_ratings>;
};

template <class D>
concept HasRatings = HasStaticRatings<D> || HasRuntimeRatings<D>;

template <class D>
concept ReadsState = requires(D& d, state_handler_archetype h) { d.async_read_state(h); };

template <class D>
concept AppliesSetpoint = requires(D& d, kilowatts p, setpoint_handler_archetype h) { d.async_apply_setpoint(p, h); };

} // namespace detail

/// @brief A battery cleori can drive.
///
/// Requirements (for `D& d`, a `kilowatts p`, and handlers `rh`, `sh`):
/// | expression | meaning |
/// |---|---|
/// | `D::ratings` (static constexpr `battery_ratings`) or `d.ratings()` | power, energy, SoC-window and response-time traits |
/// | `d.async_read_state(rh)` | read power and/or SoC; call `rh(ec, battery_state)` once |
/// | `d.async_apply_setpoint(p, sh)` | command `p` (+ charge, − discharge); call `sh(ec)` once the device accepted it |
///
/// Handlers are copyable; call each exactly once, inline or later, on the
/// thread that runs the agent's executor. See doc/concepts/BatteryDevice.md.
template <class D>
concept BatteryDevice = detail::HasRatings<D> && detail::ReadsState<D> && detail::AppliesSetpoint<D>;

/// @brief A `BatteryDevice` whose ratings are known at compile time
/// (`static constexpr battery_ratings ratings`).
template <class D>
concept StaticallyRatedBattery = BatteryDevice<D> && detail::HasStaticRatings<D>;

/// @brief A statically rated battery that meets Cleori's mFRR minimum. Silent
/// predicate for overloading and tests; use `assert_mfrr_minimum` for diagnostics.
template <class D>
concept MfrrCapableBattery = StaticallyRatedBattery<D> && meets_mfrr_minimum(D::ratings);

/// @brief A device's ratings, whichever way it declares them.
template <BatteryDevice D>
constexpr battery_ratings ratings_of(D const& d) noexcept(detail::HasStaticRatings<D>) {
    if constexpr (detail::HasStaticRatings<D>) {
        static_cast<void>(d);
        return D::ratings;
    } else {
        return d.ratings();
    }
}

/// @brief Compile-time diagnostics for the mFRR minimum.
///
/// Each failed requirement instantiates one of these templates; the compiler
/// prints its name with the device's value and the limit as template
/// arguments, e.g. `device_capacity_Wh<80000>::must_be_at_least<100000>`.
namespace mfrr_minimum_check {

template <auto>
inline constexpr bool dependent_false = false;

template <long long DeviceWh>
struct device_capacity_Wh {
    template <long long MinimumWh>
    struct must_be_at_least {
        static_assert(dependent_false<MinimumWh>,
                      "cleori::device: battery capacity is below the mFRR minimum of 100 kWh. "
                      "See doc/concepts/BatteryDevice.md#the-mfrr-minimum");
    };
};
template <long long DeviceW>
struct device_max_charge_W {
    template <long long MinimumW>
    struct must_be_at_least {
        static_assert(dependent_false<MinimumW>,
                      "cleori::device: battery max charge power is below the mFRR minimum of 50 kW. "
                      "See doc/concepts/BatteryDevice.md#the-mfrr-minimum");
    };
};
template <long long DeviceW>
struct device_max_discharge_W {
    template <long long MinimumW>
    struct must_be_at_least {
        static_assert(dependent_false<MinimumW>,
                      "cleori::device: battery max discharge power is below the mFRR minimum of 50 kW. "
                      "See doc/concepts/BatteryDevice.md#the-mfrr-minimum");
    };
};
template <long long DeviceMs>
struct device_response_time_ms {
    template <long long LimitMs>
    struct must_be_below {
        static_assert(dependent_false<LimitMs>,
                      "cleori::device: battery response time is not below the mFRR limit of 2 s. "
                      "See doc/concepts/BatteryDevice.md#the-mfrr-minimum");
    };
};
template <long long DeviceHundredthsPct>
struct device_round_trip_efficiency_hundredths_pct {
    template <long long LimitHundredthsPct>
    struct must_exceed_and_be_at_most_10000 {
        static_assert(dependent_false<LimitHundredthsPct>,
                      "cleori::device: battery round-trip efficiency must exceed the mFRR minimum of 85 % "
                      "(and cannot exceed 100 %). See doc/concepts/BatteryDevice.md#the-mfrr-minimum");
    };
};
template <long long MinSocHundredthsPct, long long MaxSocHundredthsPct>
struct device_soc_window_hundredths_pct {
    struct must_satisfy_0_le_min_lt_max_le_10000 {
        static_assert(dependent_false<MinSocHundredthsPct>,
                      "cleori::device: battery SoC window is inconsistent: need 0 % <= min_soc < max_soc <= 100 %. "
                      "See doc/concepts/BatteryDevice.md#the-mfrr-minimum");
    };
};

// Values for display only (the decision uses the exact predicates): truncated
// toward zero, so a value shown equal to the limit was just short of it.
constexpr long long scaled(double v, double factor) noexcept {
    double const x = v * factor;
    if (!(x == x)) return -1; // NaN shows as -1
    if (x > 9e18) return 9'000'000'000'000'000'000LL;
    if (x < -9e18) return -9'000'000'000'000'000'000LL;
    return static_cast<long long>(x);
}

template <class D>
constexpr auto diagnose_minimum() noexcept {
    constexpr battery_ratings r = D::ratings;
    if constexpr (!detail::capacity_ok(r))
        static_cast<void>(sizeof(typename device_capacity_Wh<scaled(r.capacity.in_kwh(), 1000)>::template must_be_at_least<
                                 scaled(mfrr_minimum::capacity.in_kwh(), 1000)>));
    if constexpr (!detail::charge_ok(r))
        static_cast<void>(sizeof(typename device_max_charge_W<scaled(r.max_charge.in_kw(), 1000)>::template must_be_at_least<
                                 scaled(mfrr_minimum::charge_power.in_kw(), 1000)>));
    if constexpr (!detail::discharge_ok(r))
        static_cast<void>(
            sizeof(typename device_max_discharge_W<scaled(r.max_discharge.in_kw(), 1000)>::template must_be_at_least<
                   scaled(mfrr_minimum::discharge_power.in_kw(), 1000)>));
    if constexpr (!detail::response_ok(r))
        static_cast<void>(sizeof(typename device_response_time_ms<r.response_time.count()>::template must_be_below<
                                 mfrr_minimum::response_time.count()>));
    if constexpr (!detail::efficiency_ok(r))
        static_cast<void>(sizeof(
            typename device_round_trip_efficiency_hundredths_pct<scaled(r.round_trip_efficiency.in_pct(), 100)>::
                template must_exceed_and_be_at_most_10000<scaled(mfrr_minimum::round_trip_efficiency.in_pct(), 100)>));
    if constexpr (!detail::soc_window_ok(r))
        static_cast<void>(sizeof(typename device_soc_window_hundredths_pct<
                                 scaled(r.min_soc.in_pct(), 100),
                                 scaled(r.max_soc.in_pct(), 100)>::must_satisfy_0_le_min_lt_max_le_10000));
    return true;
}

template <class>
inline constexpr bool dependent_false_type = false;

// One readable error for the first missing part of the device's shape.
template <class D>
constexpr auto diagnose_shape() noexcept {
    if constexpr (!detail::HasRatings<D>)
        static_assert(dependent_false_type<D>,
                      "cleori::device: 'Device' does not model BatteryDevice: it declares no ratings "
                      "(static constexpr cleori::battery_ratings ratings, or cleori::battery_ratings ratings() const). "
                      "See doc/concepts/BatteryDevice.md");
    else if constexpr (!detail::ReadsState<D>)
        static_assert(dependent_false_type<D>,
                      "cleori::device: 'Device' does not model BatteryDevice: it has no "
                      "async_read_state(handler) taking a handler(error_code, cleori::battery_state). "
                      "See doc/concepts/BatteryDevice.md");
    else if constexpr (!detail::AppliesSetpoint<D>)
        static_assert(dependent_false_type<D>,
                      "cleori::device: 'Device' does not model BatteryDevice: it has no "
                      "async_apply_setpoint(cleori::kilowatts, handler) taking a handler(error_code). "
                      "See doc/concepts/BatteryDevice.md");
    return true;
}

// The diagnostics run when the return type is deduced (`decltype` below),
// never in a constant evaluation: so each failed requirement is one error,
// and the failed instantiation does not cascade into "not a constant
// expression" errors (clang reports those for an evaluated call).
template <class D>
constexpr auto diagnose() noexcept {
    if constexpr (!BatteryDevice<D>)
        static_cast<void>(diagnose_shape<D>());
    else if constexpr (!detail::HasStaticRatings<D>)
        static_assert(dependent_false_type<D>,
                      "cleori::device: 'Device' does not model StaticallyRatedBattery: its ratings are not "
                      "static constexpr, so they can only be checked at run time (cleori::check_mfrr_minimum). "
                      "See doc/concepts/BatteryDevice.md#ratings-known-only-at-run-time");
    else
        static_cast<void>(diagnose_minimum<D>());
    return true;
}

} // namespace mfrr_minimum_check

/// @brief `true`; instantiating it for a type that is not a statically rated
/// `BatteryDevice` fails compilation with one error naming what is missing, and
/// for one that misses the mFRR minimum with one error per missed requirement,
/// naming the requirement, the device's value and the limit.
///
/// @code
/// static_assert(cleori::assert_mfrr_minimum<my_battery>);
/// @endcode
template <class D>
inline constexpr bool assert_mfrr_minimum = std::is_same_v<decltype(mfrr_minimum_check::diagnose<D>()), bool>;

} // namespace cleori
