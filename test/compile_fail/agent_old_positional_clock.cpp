// The positional spelling of earlier versions, a clock as the third template
// argument and the clock object passed to the constructor, gets one error
// saying what to write instead: not a second one about the constructor.
// expect: cleori::agent: 'Policies' does not model Policies
// expect: derive it from cleori::default_policies
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

int main() {
    boost::asio::io_context io;
    cleori::manual_clock clock;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, cleori::manual_clock> agent{
        battery, t, {.token = "t"}, clock};
    static_cast<void>(agent);
}
