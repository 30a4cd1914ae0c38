// Quick start: one battery (the simulated plant model) taking part in mFRR through Cleori.
//
//   CLEORI_TOKEN=… battery_agent --base-url http://127.0.0.1:8080 [--duration 60]
//       [--telemetry-interval 5] [--poll-interval 5] [--token-file F] [--ca-file F]
//
// The battery starts at 50 % SoC and idle (0 kW); it moves only for activations.
#include <cleori/cleori.hpp>
#include <cleori/device/simulated_battery.hpp>

#include "console.hpp"

#include <boost/asio/io_context.hpp>

using namespace cleori::literals;

int main(int argc, char** argv) {
    std::string const program = "battery_agent";
    std::string base_url;
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
        else if (a == "--duration") duration = example::seconds(program, a, value(), 0, 7 * 86400.0);
        else if (a == "--telemetry-interval") config.telemetry_interval = example::seconds(program, a, value(), 0.1, 10);
        else if (a == "--poll-interval") config.poll_interval = example::seconds(program, a, value(), 0.1, 60);
        else if (a == "--token-file") token_file = value();
        else if (a == "--ca-file") transport_opt.ca_file = value();
        else if (a == "--token") example::fail(program, "tokens are never taken from the command line; use CLEORI_TOKEN or --token-file");
        else example::fail(program, "unknown option '" + a + "' (see the comment at the top of 01_battery_agent.cpp)");
    }
    if (base_url.empty()) example::fail(program, "--base-url is required, e.g. http://127.0.0.1:8080");
    config.token = example::load_token(program, token_file);

    boost::asio::io_context io;
    cleori::beast_transport transport{io.get_executor(), base_url, transport_opt};
    if (auto ec = transport.config_error()) example::fail(program, "--base-url '" + base_url + "': " + ec.message());

    cleori::simulated_battery battery{{}, 50.0_pct, 0.0_kW};
    cleori::agent<cleori::simulated_battery> agent{battery, transport, config};
    example::narrate(agent, "agent");
    if (auto started = agent.start(); !started) example::fail(program, started.error().message());
    std::cout << example::clock_text() << " agent: started: telemetry every " << config.telemetry_interval.count()
              << " ms, polling every " << config.poll_interval.count() << " ms, battery at " << battery.soc() << std::endl;

    // Stop on SIGINT/SIGTERM or after --duration; the agent returns the battery to baseline first.
    example::run_until_stopped(io, agent, duration);

    auto const& k = agent.counters();
    std::cout << example::clock_text() << " agent: stopped at baseline. samples " << k.samples_sent << "/"
              << k.samples_taken << " sent, polls " << k.polls << " (" << k.poll_failures << " failed), activations "
              << k.activations_applied << " executed, " << k.activations_refused << " refused, confirmations "
              << k.confirmations_sent << ", battery at " << battery.soc() << std::endl;
    return 0;
}
