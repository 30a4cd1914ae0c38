// The real agent (real clock, Beast transport, simulated battery) against the
// real simulator over loopback sockets, judged by the simulator's report.
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>

#include "support/sim_fixture.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>
#include <vector>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using cleori::test::number;
using cleori::test::token;

namespace {
using agent_type = cleori::basic_agent<cleori::simulated_battery, cleori::beast_transport>;

boost::json::object const& activation_report(boost::json::value const& report, std::size_t asset, std::string_view id) {
    for (auto const& a : report.at("assets").at(asset).at("activations").as_array())
        if (a.at("id").as_string() == id) return a.as_object();
    throw std::runtime_error("activation not in report: " + std::string(id));
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(net_agent, cleori::test::sim_fixture)

BOOST_AUTO_TEST_CASE(scenario_with_outage_meets_cleoris_rules) {
    auto const err = sim.load_scenario(R"({"actions":[
        {"action":"create","asset":"asset-1","activation":{"id":"up","direction":"up","power":60,"start_in_s":1.5,"duration_s":3}},
        {"action":"create","asset":"asset-1","activation":{"id":"down","direction":"down","power":50,"start_in_s":6,"duration_s":2}},
        {"action":"create","asset":"asset-1","activation":{"id":"cancel-me","direction":"up","power":30,"start_in_s":3,"duration_s":60}},
        {"at_s":5.5,"action":"cancel","id":"cancel-me"},
        {"at_s":2.5,"action":"outage","duration_s":1.5}
    ]})");
    BOOST_TEST_REQUIRE(err.empty(), err);
    cleori::simulated_battery battery{{}, 50.0_pct};
    agent_type agent{battery, transport, {.token = token, .telemetry_interval = 500ms, .poll_interval = 500ms}};
    std::vector<std::string> log;
    agent.set_logger([&](cleori::log_level, std::string_view l) { log.emplace_back(l); });
    BOOST_TEST_REQUIRE(agent.start().has_value());
    run_for(9s);
    agent.stop();
    drive([&] { return agent.stopped(); });
    BOOST_TEST_REQUIRE(agent.stopped());

    auto const report = sim.report();
    auto const& a = report.at("assets").at(0);
    BOOST_TEST_MESSAGE("report: " << boost::json::serialize(a));
    // The outage was felt: nothing reached the server for its 1.5 s, and the agent saw failures.
    auto const k = agent.counters();
    BOOST_TEST(number(a.at("max_telemetry_gap_s")) >= 1.4);
    BOOST_TEST(number(a.at("max_poll_gap_s")) >= 1.4);
    BOOST_TEST(k.poll_failures + k.telemetry_failures >= 1u);
    // Cleori's 10 s / 60 s rules at this run's 500 ms cadences: the samples
    // taken during the outage were back-filled, so sample time has no hole;
    // polling resumed within a second of the outage's end.
    BOOST_TEST(number(a.at("max_sample_gap_s")) <= 1.0);
    BOOST_TEST(number(a.at("max_poll_gap_s")) <= 4.0);
    BOOST_TEST(number(a.at("duplicate_samples")) == 0.0);
    BOOST_TEST(number(a.at("samples_received")) == static_cast<double>(agent.counters().samples_taken));
    // Every activation applied and confirmed exactly once, with the right sign.
    for (auto [id, kw] : {std::pair{"up", -60.0}, {"down", 50.0}, {"cancel-me", -30.0}}) {
        auto const& r = activation_report(report, 0, id);
        BOOST_TEST(number(r.at("confirmations")) == 1.0, id);
        BOOST_TEST(number(r.at("confirmed_setpoint_kw")) == kw, id);
    }
    // Measured power moved the right way (how far depends on the 500 ms response time vs sampling).
    BOOST_TEST(number(activation_report(report, 0, "up").at("delivered_kwh")) < 0.0);
    BOOST_TEST(number(activation_report(report, 0, "down").at("delivered_kwh")) > 0.0);
    // Within the ramp allowance of the simulator's default 2 s response time.
    BOOST_TEST(activation_report(report, 0, "up").at("verdict").as_string() == "pass");
    BOOST_TEST(activation_report(report, 0, "down").at("verdict").as_string() == "pass");
    // Confirmed when execution started, not a poll cycle or more later (generous bound: shared machines).
    BOOST_TEST(number(activation_report(report, 0, "up").at("confirmation_latency_ms")) < 5000.0);
    BOOST_TEST(number(activation_report(report, 0, "down").at("confirmation_latency_ms")) < 5000.0);
    // The battery saw each change once, and ends at baseline.
    std::vector<double> setpoints;
    for (auto const& c : battery.commands()) setpoints.push_back(c.setpoint.in_kw());
    // In order (extra steps may appear if a poll is late on a loaded machine):
    // baseline, up, up + cancel-me, cancel-me alone, down, baseline.
    std::vector<double> const phases{0.0, -60.0, -90.0, -30.0, 50.0, 0.0};
    auto it = setpoints.begin();
    for (double p : phases) {
        it = std::find(it, setpoints.end(), p);
        BOOST_TEST_REQUIRE((it != setpoints.end()), "setpoint " << p << " missing or out of order");
        ++it;
    }
    BOOST_TEST(battery.commanded() == 0.0_kW);
    // The token appears in no log line — and there were lines, the outage's among them.
    BOOST_TEST_REQUIRE(!log.empty());
    BOOST_TEST(std::any_of(log.begin(), log.end(), [](std::string const& l) { return l.find("poll") != std::string::npos; }));
    for (auto const& l : log) BOOST_TEST_REQUIRE(l.find(token) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_fleet_shares_one_keep_alive_connection) {
    constexpr std::size_t n = 200;
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < n; ++i) tokens.push_back("fleet-token-" + std::to_string(i));
    cleori::sim::server fleet_sim{io.get_executor(), {.tokens = tokens}};
    auto const fleet_port = fleet_sim.start().value();
    cleori::beast_transport shared{io.get_executor(), "http://127.0.0.1:" + std::to_string(fleet_port)};
    std::vector<std::unique_ptr<cleori::simulated_battery>> batteries;
    std::vector<std::unique_ptr<agent_type>> agents;
    for (std::size_t i = 0; i < n; ++i) {
        batteries.push_back(std::make_unique<cleori::simulated_battery>());
        agents.push_back(std::make_unique<agent_type>(
            *batteries.back(), shared,
            cleori::agent_config{.token = tokens[i], .telemetry_interval = 1s, .poll_interval = 1s},
            cleori::real_clock{}, cleori::default_retry{cleori::exponential_backoff{{.seed = i + 1}}}));
        BOOST_TEST_REQUIRE(agents.back()->start().has_value());
    }
    fleet_sim.add_activation("asset-" + std::to_string(n), {.id = "fleet-act", .direction = cleori::mfrr_direction::up,
                                                            .power = 55.0_kW, .start_time = cleori::test::wall_now(),
                                                            .end_time = cleori::test::wall_now() + 1min,
                                                            .status = cleori::activation_status::pending});
    run_for(3500ms);
    for (auto& a : agents) a->stop();
    drive([&] { return std::all_of(agents.begin(), agents.end(), [](auto const& a) { return a->stopped(); }); });
    auto const report = fleet_sim.report();
    for (std::size_t i = 0; i < n; ++i) {
        auto const& a = report.at("assets").at(i);
        BOOST_TEST_REQUIRE(number(a.at("samples_received")) >= 3.0, i);
        BOOST_TEST_REQUIRE(number(a.at("polls")) >= 3.0, i);
        BOOST_TEST_REQUIRE(number(a.at("max_sample_gap_s")) <= 10.0, i);
        BOOST_TEST_REQUIRE(number(a.at("duplicate_samples")) == 0.0, i);
    }
    BOOST_TEST(number(activation_report(report, n - 1, "fleet-act").at("confirmations")) == 1.0);
    BOOST_TEST(batteries.back()->commands().front().setpoint == -55.0_kW); // joined at its first poll
    BOOST_TEST(shared.connections_opened() == 1u);
}

BOOST_AUTO_TEST_CASE(a_monitoring_thread_reads_status_while_the_agent_runs) {
    cleori::simulated_battery battery{{}, 50.0_pct};
    agent_type agent{battery, transport, {.token = token, .telemetry_interval = 200ms, .poll_interval = 200ms}};
    BOOST_TEST_REQUIRE(agent.start().has_value());
    io.restart();
    auto work = asio::make_work_guard(io);
    std::thread runner([this] { io.run(); });
    // From this thread, as a metrics endpoint would: each snapshot is taken
    // on the agent's thread (ThreadSanitizer checks that nothing is shared).
    std::vector<cleori::agent_status> seen;
    bool all_ready = true;
    for (int i = 0; i < 8 && all_ready; ++i) {
        auto f = agent.async_status(asio::use_future);
        all_ready = f.wait_for(10s) == std::future_status::ready;
        if (all_ready) seen.push_back(f.get());
        std::this_thread::sleep_for(150ms);
    }
    asio::post(io, [&] { agent.stop(); });
    bool stopped = false;
    for (int i = 0; i < 100 && all_ready && !stopped; ++i) {
        auto f = agent.async_status(asio::use_future);
        all_ready = f.wait_for(10s) == std::future_status::ready;
        stopped = all_ready && f.get().stopped;
        if (!stopped) std::this_thread::sleep_for(50ms);
    }
    work.reset();
    io.stop();
    runner.join();
    BOOST_TEST_REQUIRE(all_ready);
    BOOST_TEST(stopped);
    BOOST_TEST_REQUIRE(seen.size() == 8u);
    BOOST_TEST(seen.front().started);
    BOOST_TEST(seen.back().counters.samples_taken > seen.front().counters.samples_taken);
    BOOST_TEST(seen.back().counters.polls > seen.front().counters.polls);
    BOOST_TEST(seen.back().last_poll_ok.has_value());
    BOOST_TEST(agent.stopped());
}

BOOST_AUTO_TEST_SUITE_END()
