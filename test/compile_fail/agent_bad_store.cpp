// An agent given a store whose append cannot report an error gets one error naming the concept.
// expect: cleori::agent: 'Policies::store' does not model Store
// expect: See doc/concepts/Store.md
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>

#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

struct silent_store {
    cleori::result<cleori::store_image> load() { return cleori::store_image{}; }
    void append(cleori::store_record const&) {}
};

struct silent_policies : cleori::default_policies {
    using store = silent_store;
};

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, silent_policies> agent{
        battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
