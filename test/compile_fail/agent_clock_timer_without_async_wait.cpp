// A Clock whose timer cannot be waited on (no async_wait) gets one error
// naming the concept, not an error deep inside the engine.
// expect: cleori::agent: 'Policies::clock' does not model Clock
// expect: async_wait\(handler\)
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

struct deaf_timer {
    void expires_at(cleori::mono_time) {}
    void cancel() {}
};
struct deaf_clock {
    cleori::mono_time now() const { return {}; }
    cleori::timestamp wall_now() const { return {}; }
    deaf_timer make_timer(boost::asio::any_io_executor) const { return {}; }
};

struct deaf_policies : cleori::default_policies {
    using clock = deaf_clock;
};

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, deaf_policies> agent{
        battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
