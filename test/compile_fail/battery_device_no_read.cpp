// A type that is not a complete BatteryDevice gets one error naming the missing part.
// expect: 'Device' does not model BatteryDevice: it has no async_read_state
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

using namespace cleori::literals;
struct battery {
    static constexpr cleori::battery_ratings ratings{.capacity = 200.0_kWh};
    void async_apply_setpoint(cleori::kilowatts, auto h) { h(boost::system::error_code{}); }
};
static_assert(cleori::assert_mfrr_minimum<battery>);
