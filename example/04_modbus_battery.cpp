// A real battery: the quick-start agent driving a PCS over Modbus TCP through a register map.
//
//   CLEORI_TOKEN=… modbus_battery_agent --base-url http://127.0.0.1:8080 --modbus 127.0.0.1:1502
//       --map example/maps/example_pcs.json --ratings ratings.json [--unit 1] [--duration 60]
//       [--telemetry-interval 5] [--poll-interval 5] [--token-file F] [--ca-file F]
//
// The map says where the PCS keeps power, SoC, setpoint, heartbeat and status
// (doc/devices.md); the ratings file says what the plant can do, in the format
// of cleori::parse_battery_ratings, and is checked against the mFRR minimum
// before the agent starts. scripts/demo --modbus runs this against the
// libmodbus plant in test/modbus/modbus_plant.cpp.
#include <cleori/cleori.hpp>
#include <cleori/device/ratings_json.hpp>
#include <cleori/modbus.hpp>

#include "console.hpp"

#include <boost/asio/io_context.hpp>

#include <fstream>
#include <iterator>

int main(int argc, char** argv) {
    std::string const program = "modbus_battery_agent";
    std::string base_url, modbus_at, map_file, ratings_file;
    std::optional<int> unit;
    std::optional<std::string> token_file;
    cleori::transport_options transport_opt;
    cleori::agent_config config;
    std::chrono::milliseconds duration{0};
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        auto value = [&]() -> char const* {
            if (i + 1 >= argc) example::fail(program, a + " needs a value");
            return argv[++i];
        };
        if (a == "--base-url") base_url = value();
        else if (a == "--modbus") modbus_at = value();
        else if (a == "--map") map_file = value();
        else if (a == "--ratings") ratings_file = value();
        else if (a == "--unit") unit = static_cast<int>(example::number(program, a, value(), 0, 255));
        else if (a == "--duration") duration = example::seconds(program, a, value(), 0, 7 * 86400.0);
        else if (a == "--telemetry-interval") config.telemetry_interval = example::seconds(program, a, value(), 0.1, 10);
        else if (a == "--poll-interval") config.poll_interval = example::seconds(program, a, value(), 0.1, 60);
        else if (a == "--token-file") token_file = value();
        else if (a == "--ca-file") transport_opt.ca_file = value();
        else if (a == "--token") example::fail(program, "tokens are never taken from the command line; use CLEORI_TOKEN or --token-file");
        else example::fail(program, "unknown option '" + a + "' (see the comment at the top of 04_modbus_battery.cpp)");
    }
    if (base_url.empty()) example::fail(program, "--base-url is required, e.g. http://127.0.0.1:8080");
    auto const colon = modbus_at.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == modbus_at.size())
        example::fail(program, "--modbus HOST:PORT is required, e.g. 192.168.1.20:502");
    if (map_file.empty()) example::fail(program, "--map FILE is required (example/maps/ has two)");
    if (ratings_file.empty()) example::fail(program, "--ratings FILE is required: the plant's ratings as JSON (doc/devices.md)");
    config.token = example::load_token(program, token_file);

    std::string why;
    auto map = cleori::modbus::load_register_map(map_file, &why);
    if (!map) example::fail(program, why);
    if (unit) map->unit_id = static_cast<std::uint8_t>(*unit);
    std::ifstream in(ratings_file);
    if (!in) example::fail(program, ratings_file + ": cannot be read");
    std::string const text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto ratings = cleori::parse_battery_ratings(text, &why);
    if (!ratings) example::fail(program, ratings_file + ": " + why);
    for (auto const& v : cleori::check_mfrr_minimum(*ratings)) example::fail(program, ratings_file + ": " + v.message);

    boost::asio::io_context io;
    cleori::beast_transport transport{io.get_executor(), base_url, transport_opt};
    if (auto ec = transport.config_error()) example::fail(program, "--base-url '" + base_url + "': " + ec.message());
    // A PCS answers in milliseconds; a second without an answer is a failure
    // (the agent's own deadline for the device is 2 × (response time + margin)).
    cleori::modbus::client plc{io.get_executor(), modbus_at.substr(0, colon), modbus_at.substr(colon + 1),
                               {.request_timeout = std::chrono::seconds(1)}};
    cleori::modbus_battery battery{plc, *map, *ratings};
    cleori::agent<cleori::modbus_battery> agent{battery, transport, config};
    example::narrate(agent, "agent");
    if (auto started = agent.start(); !started) example::fail(program, started.error().message());
    std::cout << example::clock_text() << " agent: started with " << (map->name.empty() ? map_file : map->name)
              << " at " << modbus_at << " unit " << int{map->unit_id} << std::endl;

    // Stop on SIGINT/SIGTERM or after --duration; the agent returns the battery to baseline first.
    example::run_until_stopped(io, agent, duration);

    auto const& k = agent.counters();
    auto const& m = battery.stats();
    std::cout << example::clock_text() << " agent: stopped at baseline. samples " << k.samples_sent << "/"
              << k.samples_taken << " sent, activations " << k.activations_applied << " executed, "
              << k.activations_refused << " refused; Modbus: " << m.reads << " readings (" << m.read_failures
              << " failed), " << m.setpoints << " setpoints (" << m.setpoint_failures << " refused), " << m.heartbeats
              << " heartbeats, " << plc.stats().connects << " connection(s)" << std::endl;
    return 0;
}
