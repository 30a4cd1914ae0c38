// A type that is not a complete BatteryDevice gets one error naming the missing part.
// expect: 'Device' does not model BatteryDevice: it has no async_apply_setpoint
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

using namespace cleori::literals;
struct battery {
    static constexpr cleori::battery_ratings ratings{.capacity = 200.0_kWh};
    void async_read_state(auto h) { h(boost::system::error_code{}, cleori::battery_state{}); }
    void async_apply_setpoint(double kw, auto h) { (void)kw; h(boost::system::error_code{}); } // raw double
};
static_assert(cleori::assert_mfrr_minimum<battery>);
