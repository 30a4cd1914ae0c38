#pragma once
// The minimal BatteryDevice model used by the tests and quoted in
// doc/concepts/BatteryDevice.md: it answers from memory, inline.

#include <cleori/device/battery_device.hpp>

#include <chrono>

namespace cleori_test {

using namespace cleori::literals;

struct exemplar_battery {
    static constexpr cleori::battery_ratings ratings{
        .capacity = 200.0_kWh,
        .max_charge = 100.0_kW,
        .max_discharge = 100.0_kW,
        .response_time = std::chrono::milliseconds{500},
        .round_trip_efficiency = 90.0_pct,
        .chemistry = cleori::chemistry::lifepo4,
    };

    cleori::battery_state state{.power = 0.0_kW, .soc = 50.0_pct};
    cleori::kilowatts last_setpoint{};

    void async_read_state(auto handler) { handler(boost::system::error_code{}, state); }
    void async_apply_setpoint(cleori::kilowatts kw, auto handler) {
        last_setpoint = kw;
        handler(boost::system::error_code{});
    }
};

// The exemplar's ratings with a 10–90 % SoC window: the plant that the
// agent_core tests simulate.
inline constexpr cleori::battery_ratings plant_ratings = [] {
    auto r = exemplar_battery::ratings;
    r.min_soc = 10.0_pct;
    r.max_soc = 90.0_pct;
    return r;
}();

} // namespace cleori_test
