#pragma once
/// @file
/// @brief A battery's nameplate: `cleori::battery_ratings`, `cleori::chemistry`,
/// the mFRR minimum Cleori requires, and the run-time check of ratings
/// against it (`check_mfrr_minimum`).
///
/// The compile-time check of the same minimum lives in
/// `cleori/device/battery_device.hpp`; both use the predicates defined here,
/// so they cannot disagree.

#include <cleori/units/quantity.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace cleori {

/// @brief Battery chemistries Cleori accepts for mFRR.
enum class chemistry { li_ion, lifepo4, flow, sodium_ion, other };

/// @brief The chemistry's name as written in configuration (`"li-ion"`, `"lifepo4"`,
/// `"flow"`, `"sodium-ion"`, `"other"`).
constexpr std::string_view to_string(chemistry c) noexcept {
    switch (c) {
    case chemistry::li_ion: return "li-ion";
    case chemistry::lifepo4: return "lifepo4";
    case chemistry::flow: return "flow";
    case chemistry::sodium_ion: return "sodium-ion";
    case chemistry::other: return "other";
    }
    return "other";
}

/// @brief A battery's ratings: what it can do, as a device declares it.
///
/// Power limits are magnitudes (positive numbers); the sign convention applies
/// only to measured power and setpoints. `min_soc`/`max_soc` bound the state of
/// charge the engine will drive the battery to (its operating window).
struct battery_ratings {
    kilowatt_hours capacity{};                 ///< usable energy capacity
    kilowatts max_charge{};                    ///< largest charging (import) power, magnitude
    kilowatts max_discharge{};                 ///< largest discharging (export) power, magnitude
    std::chrono::milliseconds response_time{}; ///< time from setpoint to full power
    percent round_trip_efficiency{};           ///< energy out / energy in over a full cycle
    cleori::chemistry chemistry = cleori::chemistry::other;
    percent min_soc{0.0};                   ///< lowest state of charge the engine may use
    percent max_soc{100.0};                 ///< highest state of charge the engine may use
};

/// @brief `p` clamped to what the ratings allow: at most `max_charge`
/// (+, import) and `max_discharge` (−, export).
constexpr kilowatts clamp_setpoint(kilowatts p, battery_ratings const& r) noexcept {
    return p > r.max_charge ? r.max_charge : (p < -r.max_discharge ? -r.max_discharge : p);
}

/// @brief Cleori's minimum for a battery to take part in mFRR.
struct mfrr_minimum {
    static constexpr kilowatt_hours capacity{100.0};         ///< at least
    static constexpr kilowatts charge_power{50.0};          ///< at least
    static constexpr kilowatts discharge_power{50.0};       ///< at least
    static constexpr std::chrono::milliseconds response_time{2000}; ///< strictly below
    static constexpr percent round_trip_efficiency{85.0};   ///< strictly above
};

/// @brief Each requirement a battery's ratings are checked against.
enum class requirement {
    capacity,              ///< capacity ≥ 100 kWh
    charge_power,          ///< max charge ≥ 50 kW
    discharge_power,       ///< max discharge ≥ 50 kW
    response_time,         ///< response time < 2 s
    round_trip_efficiency, ///< round-trip efficiency > 85 % (and at most 100 %)
    soc_window,            ///< 0 % ≤ min_soc < max_soc ≤ 100 %
};

namespace detail {
// The predicates shared by the compile-time and the run-time check. Written so
// that NaN fails every one of them.
constexpr bool capacity_ok(battery_ratings const& r) noexcept { return r.capacity >= mfrr_minimum::capacity; }
constexpr bool charge_ok(battery_ratings const& r) noexcept { return r.max_charge >= mfrr_minimum::charge_power; }
constexpr bool discharge_ok(battery_ratings const& r) noexcept { return r.max_discharge >= mfrr_minimum::discharge_power; }
constexpr bool response_ok(battery_ratings const& r) noexcept {
    return r.response_time >= std::chrono::milliseconds{0} && r.response_time < mfrr_minimum::response_time;
}
constexpr bool efficiency_ok(battery_ratings const& r) noexcept {
    return r.round_trip_efficiency > mfrr_minimum::round_trip_efficiency && r.round_trip_efficiency <= percent{100.0};
}
constexpr bool soc_window_ok(battery_ratings const& r) noexcept {
    return r.min_soc >= percent{0.0} && r.min_soc < r.max_soc && r.max_soc <= percent{100.0};
}
} // namespace detail

/// @brief One requirement a battery's ratings miss.
struct spec_violation {
    cleori::requirement requirement;
    std::string message; ///< names the requirement, the device's value and the limit
};

/// @brief Checks ratings (typically read from configuration) against the mFRR
/// minimum and for consistency.
/// @return every violation, in the order of `cleori::requirement`; empty when
/// the ratings qualify.
///
/// @code
/// for (auto const& v : cleori::check_mfrr_minimum(ratings))
///     std::cerr << v.message << '\n';
/// // capacity is 80 kWh; the mFRR minimum is 100 kWh
/// @endcode
inline std::vector<spec_violation> check_mfrr_minimum(battery_ratings const& r) {
    std::vector<spec_violation> out;
    char buf[160];
    auto add = [&](requirement req, int n) {
        out.push_back({req, std::string(buf, static_cast<std::size_t>(n > 0 ? std::min<int>(n, sizeof buf - 1) : 0))});
    };
    if (!detail::capacity_ok(r))
        add(requirement::capacity, std::snprintf(buf, sizeof buf, "capacity is %g kWh; the mFRR minimum is %g kWh",
                                                 r.capacity.in_kwh(), mfrr_minimum::capacity.in_kwh()));
    if (!detail::charge_ok(r))
        add(requirement::charge_power, std::snprintf(buf, sizeof buf, "max charge power is %g kW; the mFRR minimum is %g kW",
                                                     r.max_charge.in_kw(), mfrr_minimum::charge_power.in_kw()));
    if (!detail::discharge_ok(r))
        add(requirement::discharge_power,
            std::snprintf(buf, sizeof buf, "max discharge power is %g kW; the mFRR minimum is %g kW",
                          r.max_discharge.in_kw(), mfrr_minimum::discharge_power.in_kw()));
    if (!detail::response_ok(r))
        add(requirement::response_time,
            std::snprintf(buf, sizeof buf, "response time is %lld ms; mFRR requires less than %lld ms",
                          static_cast<long long>(r.response_time.count()),
                          static_cast<long long>(mfrr_minimum::response_time.count())));
    if (!detail::efficiency_ok(r))
        add(requirement::round_trip_efficiency,
            std::snprintf(buf, sizeof buf,
                          "round-trip efficiency is %g %%; mFRR requires more than %g %% (and at most 100 %%)",
                          r.round_trip_efficiency.in_pct(), mfrr_minimum::round_trip_efficiency.in_pct()));
    if (!detail::soc_window_ok(r))
        add(requirement::soc_window,
            std::snprintf(buf, sizeof buf, "SoC window is %g %% to %g %%; it must satisfy 0 <= min_soc < max_soc <= 100",
                          r.min_soc.in_pct(), r.max_soc.in_pct()));
    return out;
}

/// @brief True when the ratings meet the mFRR minimum and are consistent.
constexpr bool meets_mfrr_minimum(battery_ratings const& r) noexcept {
    return detail::capacity_ok(r) && detail::charge_ok(r) && detail::discharge_ok(r) && detail::response_ok(r) &&
           detail::efficiency_ok(r) && detail::soc_window_ok(r);
}

} // namespace cleori
