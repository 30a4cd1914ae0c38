#pragma once
/// @file
/// @brief `cleori::telemetry_sample` — one telemetry reading as Cleori receives
/// it — and `make_sample`, which builds a valid sample from a device reading.
///
/// @code
/// auto s = cleori::make_sample(now, cleori::battery_state{.power = -42.5_kW, .soc = 63.2_pct});
/// // {"time":"2026-11-26T16:17:20.000Z","power":-42.5,"soc":63.2}
/// @endcode

#include <cleori/device/battery_device.hpp>
#include <cleori/error.hpp>
#include <cleori/time/rfc3339.hpp>
#include <cleori/units/quantity.hpp>

#include <cmath>
#include <optional>

namespace cleori {

/// @brief The largest power magnitude accepted anywhere on the wire. No single
/// asset comes near it; values beyond it are treated as corrupt.
inline constexpr kilowatts max_plausible_power{1'000'000.0};

/// @brief One telemetry reading: the time it was taken plus power and/or SoC.
/// A sample with neither measurement is invalid (Cleori's partial-update rule).
struct telemetry_sample {
    timestamp time{};               ///< when the reading was taken (UTC)
    std::optional<kilowatts> power{}; ///< + import/charge, − export/discharge
    std::optional<percent> soc{};     ///< state of charge, 0–100 %

    friend bool operator==(telemetry_sample const&, telemetry_sample const&) = default;
};

/// @brief Checks a sample against the contract: at least one measurement,
/// power finite and plausible, SoC finite and within 0–100 %.
inline boost::system::error_code validate(telemetry_sample const& s) noexcept {
    if (!s.power && !s.soc) return error::sample_without_measurement;
    if (s.power) {
        if (!std::isfinite(s.power->in_kw())) return error::json_value_not_finite;
        if (abs(*s.power) > max_plausible_power) return error::json_value_out_of_range;
    }
    if (s.soc) {
        if (!std::isfinite(s.soc->in_pct())) return error::json_value_not_finite;
        if (*s.soc < percent{0.0} || *s.soc > percent{100.0}) return error::json_value_out_of_range;
    }
    return {};
}

/// @brief A sample from a device reading, keeping only the measurements that
/// are valid: a NaN power or a SoC of 140 % is dropped, the rest is sent.
/// @return the sample, or `error::sample_without_measurement` when nothing valid remains.
inline result<telemetry_sample> make_sample(timestamp time, battery_state const& state) noexcept {
    telemetry_sample s{time, state.power, state.soc};
    if (s.power && validate(telemetry_sample{time, s.power, std::nullopt})) s.power.reset();
    if (s.soc && validate(telemetry_sample{time, std::nullopt, s.soc})) s.soc.reset();
    if (!s.power && !s.soc) return error::sample_without_measurement;
    return s;
}

} // namespace cleori
