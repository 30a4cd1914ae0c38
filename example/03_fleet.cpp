// A fleet: many batteries (one token each) on one thread, sharing keep-alive
// connections, their timers on a 20 ms grid (cleori::coalescing_clock), so that
// the agents due within one tick wake the thread once.
//
//   03_fleet [--assets 1000] [--connections 4] [--duration 20]
//
// Self-contained: an embedded simulator plays Cleori, with an activation for
// every tenth asset. Prints what was delivered and the CPU time used.
#include <cleori/cleori.hpp>
#include <cleori/clock/coalescing_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include "sim/server.hpp"

#include "console.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/resource.h>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

// The default policies, but timers on a grid: every timed action happens up
// to one tick late, and many agents share each wake-up (doc/concepts/Clock.md).
struct fleet_policies : cleori::default_policies {
    using clock = cleori::coalescing_clock<>;
};
using fleet_agent = cleori::basic_agent<cleori::simulated_battery, cleori::beast_transport, fleet_policies>;

int main(int argc, char** argv) {
    std::string const program = "03_fleet";
    std::size_t assets = 1000, connections = 4;
    std::chrono::milliseconds duration = 20s;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string const a = argv[i];
        if (a == "--assets") assets = static_cast<std::size_t>(example::number(program, a, argv[i + 1], 1, 100000));
        else if (a == "--connections") connections = static_cast<std::size_t>(example::number(program, a, argv[i + 1], 1, 64));
        else if (a == "--duration") duration = example::seconds(program, a, argv[i + 1], 1, 3600);
        else example::fail(program, "unknown option '" + a + "'");
    }

    asio::io_context io;
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < assets; ++i) tokens.push_back("fleet-" + std::to_string(i));
    cleori::sim::server sim{io.get_executor(), {.tokens = tokens}};
    auto const url = "http://127.0.0.1:" + std::to_string(sim.start().value());
    auto const now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    for (std::size_t i = 0; i < assets; i += 10)
        sim.add_activation("asset-" + std::to_string(i + 1),
                           {.id = "act-" + std::to_string(i), .direction = i % 20 ? cleori::mfrr_direction::down
                                                                                 : cleori::mfrr_direction::up,
                            .power = 60.0_kW, .start_time = now + 3s, .end_time = now + 3s + duration,
                            .status = cleori::activation_status::pending});

    std::vector<std::unique_ptr<cleori::beast_transport>> transports;
    for (std::size_t c = 0; c < connections; ++c)
        transports.push_back(std::make_unique<cleori::beast_transport>(io.get_executor(), url));
    std::vector<std::unique_ptr<cleori::simulated_battery>> batteries;
    std::vector<std::unique_ptr<fleet_agent>> agents;
    cleori::coalescing_clock<> const clock{20ms};
    for (std::size_t i = 0; i < assets; ++i) {
        batteries.push_back(std::make_unique<cleori::simulated_battery>());
        // Cleori wants a sample at least every 10 s: with the tick, 9 s leaves room.
        agents.push_back(std::make_unique<fleet_agent>(
            *batteries.back(), *transports[i % connections],
            cleori::agent_config{.token = tokens[i], .telemetry_interval = 9s, .poll_interval = 30s}, clock,
            cleori::default_retry{cleori::exponential_backoff{{.seed = i + 1}}}));
        if (auto r = agents.back()->start(); !r) example::fail(program, r.error().message());
    }

    asio::steady_timer stop_timer(io, duration);
    stop_timer.async_wait([&](boost::system::error_code) {
        for (auto& a : agents) a->stop();
    });
    auto const all_stopped = [&] { return std::all_of(agents.begin(), agents.end(), [](auto& a) { return a->stopped(); }); };
    while (!all_stopped() && io.run_one()) {}

    std::uint64_t samples = 0, polls = 0, confirmed = 0, applied = 0;
    for (auto& a : agents) {
        samples += a->counters().samples_sent;
        polls += a->counters().polls;
        confirmed += a->counters().confirmations_sent;
        applied += a->counters().activations_applied;
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double const cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    std::cout << assets << " assets over " << connections << " connection(s) for " << duration.count() / 1000
              << " s: " << samples << " samples, " << polls << " polls, " << applied << " activations executed, "
              << confirmed << " confirmed; CPU " << cpu << " s (agents and simulator together), max RSS "
              << ru.ru_maxrss / 1024 << " MiB\n";
    return 0;
}
