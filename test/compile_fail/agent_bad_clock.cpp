// An agent given std::chrono::steady_clock as its Clock policy gets one error naming the concept.
// expect: cleori::agent: 'Policies::clock' does not model Clock
// expect: See doc/concepts/Clock.md
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>

#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

struct std_clock_policies : cleori::default_policies {
    using clock = std::chrono::steady_clock;
};

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, std_clock_policies> agent{
        battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
