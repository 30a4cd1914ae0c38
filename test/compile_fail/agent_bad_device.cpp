// An agent given a device without async_apply_setpoint gets one error naming the concept.
// expect: cleori::agent: 'Device' does not model BatteryDevice
// expect: See doc/concepts/BatteryDevice.md
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

using namespace cleori::literals;
struct read_only_battery {
    static constexpr cleori::battery_ratings ratings{.capacity = 200.0_kWh};
    void async_read_state(auto h) { h(boost::system::error_code{}, cleori::battery_state{}); }
};

int main() {
    boost::asio::io_context io;
    read_only_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<read_only_battery, cleori::testing::memory_transport> agent{battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
