// A profile written from scratch that misses what the engine reads gets one
// error naming the concept and saying how to write one.
// expect: cleori::agent: 'Policies::profile' does not model Profile
// expect: derive it from cleori::api_profile_v1
// expect-errors: 1
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

struct paths_only {
    static constexpr std::string_view telemetry_path = "/v2/telemetry";
    static constexpr std::string_view activations_path = "/v2/activations";
};

struct v2_policies : cleori::default_policies {
    using profile = paths_only;
};

int main() {
    boost::asio::io_context io;
    cleori::simulated_battery battery;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_agent<cleori::simulated_battery, cleori::testing::memory_transport, v2_policies> agent{
        battery, t, {.token = "t"}};
    static_cast<void>(agent);
}
