// One process serving a fleet with cleori: N agents (one token and one
// simulated battery each) on one thread, over K shared keep-alive
// connections. Agents start spread over one telemetry interval, as a real
// fleet would. Prints one JSON line: CPU seconds and RSS over the run, and
// the work done (samples sent, polls, failed requests, agents that did not
// start). Exits 1 if any agent failed to start: a fleet missing some of its
// agents does less work and would look cheap. With --tick-ms the agents'
// timers are on that grid (cleori::coalescing_clock).
//   fleet_client --url U [--ca F] --assets N --telemetry-ms T --poll-ms P --duration-s D [--connections K]
//                [--tick-ms G]
#include "support/fleet_common.hpp"

#include <cleori/agent.hpp>
#include <cleori/clock/coalescing_clock.hpp>
#include <cleori/device/simulated_battery.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <iostream>

namespace asio = boost::asio;

namespace {
struct fleet_policies : cleori::default_policies {
    using clock = cleori::coalescing_clock<>; // a tick of 0 rounds nothing
};
using fleet_agent = cleori::basic_agent<cleori::simulated_battery, cleori::beast_transport, fleet_policies>;
} // namespace

int main(int argc, char** argv) {
    auto const o = bench::parse_fleet_args(argc, argv);
    asio::io_context io{1};
    auto const rss_before = bench::rss();
    std::vector<std::unique_ptr<cleori::beast_transport>> transports;
    for (std::size_t c = 0; c < o.connections; ++c)
        transports.push_back(std::make_unique<cleori::beast_transport>(io.get_executor(), o.url,
                                                                       cleori::transport_options{.ca_file = o.ca}));
    std::vector<std::unique_ptr<cleori::simulated_battery>> batteries;
    std::vector<std::unique_ptr<fleet_agent>> agents;
    std::vector<bool> started(o.assets, false);
    bench::fleet_work w;
    for (std::size_t i = 0; i < o.assets; ++i) {
        batteries.push_back(std::make_unique<cleori::simulated_battery>());
        agents.push_back(std::make_unique<fleet_agent>(
            *batteries.back(), *transports[i % o.connections],
            cleori::agent_config{.token = bench::fleet_token(i), .telemetry_interval = o.telemetry,
                                 .poll_interval = o.poll},
            cleori::coalescing_clock<>{o.tick}, cleori::default_retry{cleori::exponential_backoff{{.seed = i + 1}}}));
        // The first failures, so that a row with failed requests says why. The
        // sink's two captures fit in std::function's own buffer: no heap per agent.
        agents.back()->set_logger([&w, i](cleori::log_level level, std::string_view line) {
            if (level >= cleori::log_level::warning && ++w.errors_logged <= 5)
                std::cerr << "asset " << i << ": " << line << "\n";
        });
    }
    // One timer starts the agents in order, each at its offset (they grow
    // with i), on the same grid as their own timers, as the baselines do.
    auto const t0 = asio::steady_timer::clock_type::now();
    auto const start_at = [&](std::size_t i) { return cleori::coalescing_clock<>::round_up(t0 + bench::start_offset(i, o), o.tick); };
    asio::steady_timer starter(io);
    std::size_t next = 0;
    std::function<void()> start_due = [&] {
        for (; next < o.assets && asio::steady_timer::clock_type::now() >= start_at(next); ++next) {
            if (auto r = agents[next]->start()) started[next] = true;
            else if (++w.start_failures <= 5)
                std::cerr << "agent " << next << " did not start: " << r.error().message() << "\n";
        }
        if (next == o.assets) return;
        starter.expires_at(start_at(next));
        starter.async_wait([&](boost::system::error_code) { start_due(); });
    };
    asio::post(io, [&] { start_due(); });
    auto const cpu_before = bench::cpu_seconds();
    asio::steady_timer stop(io, o.duration);
    bool stopping = false;
    stop.async_wait([&](boost::system::error_code) {
        stopping = true;
        for (auto& a : agents) a->stop();
    });
    auto const all_stopped = [&] {
        if (!stopping) return false;
        for (std::size_t i = 0; i < o.assets; ++i)
            if (started[i] && !agents[i]->stopped()) return false;
        return true;
    };
    while (!all_stopped() && io.run_one()) {}
    for (auto const& a : agents) {
        w.samples_sent += a->counters().samples_sent;
        w.polls += a->counters().polls;
        w.failures += a->counters().telemetry_failures + a->counters().poll_failures;
    }
    bench::print_fleet_result(bench::cpu_seconds() - cpu_before, rss_before, bench::rss(), w);
    if (w.start_failures != 0) {
        std::cerr << w.start_failures << " of " << o.assets << " agents did not start\n";
        return 1;
    }
    return 0;
}
