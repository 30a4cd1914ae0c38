// An agent given a store whose append cannot report an error gets one error naming the concept.
// expect: cleori::agent: 'StoreT' does not model Store
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

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, cleori::real_clock,
                        cleori::default_retry, cleori::api_profile_v1, silent_store>
        agent{battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
