// A policies bundle written from scratch that forgets a member gets one error
// naming the concept and saying how to write one.
// expect: cleori::agent: 'Policies' does not model Policies
// expect: derive it from cleori::default_policies
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

struct three_of_four {
    using clock = cleori::real_clock;
    using retry = cleori::no_retry;
    using profile = cleori::api_profile_v1;
};

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, three_of_four> agent{
        battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
