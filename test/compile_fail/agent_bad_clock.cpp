// An agent given std::chrono::steady_clock as its Clock policy gets one error naming the concept.
// expect: cleori::agent: 'Clock' does not model Clock
// expect: See doc/concepts/Clock.md
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>

#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, std::chrono::steady_clock> agent{
        battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
