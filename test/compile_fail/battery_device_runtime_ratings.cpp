// A type that is not a complete BatteryDevice gets one error naming the missing part.
// expect: 'Device' does not model StaticallyRatedBattery: its ratings are not static constexpr
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

using namespace cleori::literals;
struct battery {
    cleori::battery_ratings ratings() const { return {}; }
    void async_read_state(auto h) { h(boost::system::error_code{}, cleori::battery_state{}); }
    void async_apply_setpoint(cleori::kilowatts, auto h) { h(boost::system::error_code{}); }
};
static_assert(cleori::assert_mfrr_minimum<battery>);
