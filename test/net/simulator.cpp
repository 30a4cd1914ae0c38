// The simulator's own surface: control endpoints under /sim/, scenario files,
// outage windows and the report — over real loopback sockets.
#include "sim/server.hpp"

#include "support/sim_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using cleori::test::token;
using cleori::test::token2;
using cleori::test::wall_now;

namespace {
struct simulator_fixture : cleori::test::sim_fixture {
    cleori::http_response control(cleori::http_method method, std::string target, std::string body = {}) {
        auto [ec, res] = exchange({.method = method, .target = std::move(target), .body = std::move(body)});
        BOOST_TEST_REQUIRE(!ec, ec.message());
        return res;
    }
    cleori::activation_poll poll(const char* tok = token) {
        auto r = await(client.get_activations(tok, deadline()));
        BOOST_TEST_REQUIRE(r.has_value(), r.error().describe());
        return std::move(*r);
    }
};
} // namespace

BOOST_FIXTURE_TEST_SUITE(net_simulator, simulator_fixture)

BOOST_AUTO_TEST_CASE(control_endpoints_create_modify_and_cancel) {
    auto res = control(cleori::http_method::post, "/sim/activations",
                       R"({"asset":"asset-1","activation":{"id":"a-1","direction":"up","power":80,
                           "start_in_s":0,"duration_s":900,"type":"direct"}})");
    BOOST_TEST_REQUIRE(res.status == 202u, res.body);
    auto p = poll();
    BOOST_TEST_REQUIRE(p.activations.size() == 1u);
    BOOST_TEST(p.activations[0].id == "a-1");
    BOOST_TEST(p.activations[0].setpoint() == -80.0_kW);
    BOOST_TEST((p.activations[0].status == cleori::activation_status::pending));
    BOOST_TEST((*p.activations[0].end_time - p.activations[0].start_time == 900s));
    BOOST_TEST(poll(token2).activations.empty()); // asset-2 does not see it

    res = control(cleori::http_method::patch, "/sim/activations/a-1", R"({"power":55,"direction":"down"})");
    BOOST_TEST_REQUIRE(res.status == 202u, res.body);
    p = poll();
    BOOST_TEST_REQUIRE(p.activations.size() == 1u);
    BOOST_TEST(p.activations[0].setpoint() == 55.0_kW);

    res = control(cleori::http_method::post, "/sim/activations/a-1/cancel");
    BOOST_TEST_REQUIRE(res.status == 202u, res.body);
    p = poll();
    BOOST_TEST_REQUIRE(p.activations.size() == 1u); // still served, so the agent sees the cancellation
    BOOST_TEST(p.activations[0].is_cancellation());
}

BOOST_AUTO_TEST_CASE(control_errors_say_what_is_wrong) {
    struct bad_case {
        cleori::http_method method;
        const char* target;
        const char* body;
        unsigned status;
        const char* says;
    };
    const bad_case cases[] = {
        {cleori::http_method::post, "/sim/activations", "{not json", 400, "JSON object"},
        {cleori::http_method::post, "/sim/activations", R"({"asset":"asset-9","activation":{"id":"x","direction":"up","power":60,"start_in_s":0}})",
         422, "unknown asset"},
        {cleori::http_method::post, "/sim/activations", R"({"asset":"asset-1","activation":{"id":"x","direction":"sideways","power":60,"start_in_s":0}})",
         422, "direction"},
        {cleori::http_method::post, "/sim/activations", R"({"asset":"asset-1"})", 422, "missing"},
        {cleori::http_method::patch, "/sim/activations/nope", R"({"power":1})", 422, "unknown activation"},
        {cleori::http_method::post, "/sim/faults", R"({"fault":{"kind":"gremlins"}})", 422, "must be status, latency"},
        {cleori::http_method::post, "/sim/outage", R"({"duration_s":-1})", 422, "duration_s"},
        {cleori::http_method::get, "/sim/nothing", "", 405, "POST"},
        {cleori::http_method::post, "/sim/nothing", "{}", 404, "unknown control endpoint"},
    };
    for (auto const& c : cases) {
        auto res = control(c.method, c.target, c.body);
        BOOST_TEST(res.status == c.status, c.target << ": " << res.body);
        BOOST_TEST(res.body.find(c.says) != std::string::npos, c.target << ": " << res.body);
    }
    BOOST_TEST(poll().activations.empty());
}

BOOST_AUTO_TEST_CASE(faults_through_the_control_endpoint) {
    auto res = control(cleori::http_method::post, "/sim/faults",
                       R"({"fault":{"kind":"status","status":429,"retry_after":0,"count":2,"path":"/v1/activations"}})");
    BOOST_TEST_REQUIRE(res.status == 202u, res.body);
    poll(); // succeeds after two 429s
    BOOST_TEST(sim.api_requests() == 3u);
}

BOOST_AUTO_TEST_CASE(scenario_runs_actions_at_their_times) {
    auto const err = sim.load_scenario(R"({"actions":[
        {"at_s":0,   "action":"create","asset":"asset-1","activation":{"id":"s-1","direction":"down","power":60,"start_in_s":0,"duration_s":600}},
        {"at_s":0.3, "action":"create","asset":"asset-1","activation":{"id":"s-2","direction":"up","power":70,"start_in_s":60,"duration_s":600}},
        {"at_s":0.3, "action":"cancel","id":"s-1"}
    ]})");
    BOOST_TEST_REQUIRE(err.empty(), err);
    auto p = poll();
    BOOST_TEST_REQUIRE(p.activations.size() == 1u);
    BOOST_TEST(p.activations[0].id == "s-1");
    BOOST_TEST(!p.activations[0].is_cancellation());
    // Let the timed actions fire (the simulator runs on this io_context).
    auto const until = std::chrono::steady_clock::now() + 400ms;
    drive([&] { return std::chrono::steady_clock::now() >= until; });
    p = poll();
    BOOST_TEST_REQUIRE(p.activations.size() == 2u);
    BOOST_TEST(p.activations[0].id == "s-1");
    BOOST_TEST(p.activations[0].is_cancellation());
    BOOST_TEST(p.activations[1].id == "s-2");
    BOOST_TEST(sim.report().at("control_errors").as_array().empty());
}

BOOST_AUTO_TEST_CASE(a_bad_scenario_is_refused_whole) {
    auto const err = sim.load_scenario(R"({"actions":[
        {"action":"create","asset":"asset-1","activation":{"id":"ok","direction":"down","power":60,"start_in_s":0}},
        {"action":"explode"}
    ]})");
    BOOST_TEST(err == "scenario: action 1: unknown action \"explode\"");
    BOOST_TEST(poll().activations.empty());
    BOOST_TEST(sim.load_scenario("[").find("not JSON") != std::string::npos);
    BOOST_TEST(sim.load_scenario("{}") == R"(scenario: expected {"actions": [ … ]})");
}

BOOST_AUTO_TEST_CASE(outage_window_drops_requests_then_service_returns) {
    auto res = control(cleori::http_method::post, "/sim/outage", R"({"duration_s":0.4})");
    BOOST_TEST_REQUIRE(res.status == 202u);
    cleori::telemetry_sample s{wall_now(), 5.0_kW, 50.0_pct};
    // With a deadline shorter than the outage: a clear failure, in time.
    auto const t0 = std::chrono::steady_clock::now();
    auto r = await(client.send_telemetry(token, std::span(&s, 1), deadline(150ms)));
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().ec == make_error_code(cleori::error::connection_closed), r.error().describe());
    BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
    // With a deadline past the outage, retries carry it through.
    cleori::basic_api_client<cleori::beast_transport> patient{
        transport, cleori::default_retry{cleori::exponential_backoff{{.base = 20ms, .cap = 100ms, .max_attempts = 100}}}};
    r = await(patient.send_telemetry(token, std::span(&s, 1), deadline(3s)));
    BOOST_TEST_REQUIRE(r.has_value(), r.error().describe());
    BOOST_TEST((sim.samples("asset-1") == std::vector{s}));
}

BOOST_AUTO_TEST_CASE(report_over_http_matches_the_embedded_one) {
    cleori::telemetry_sample s{wall_now(), -20.0_kW, 40.0_pct};
    BOOST_TEST_REQUIRE(await(client.send_telemetry(token, std::span(&s, 1), deadline())).has_value());
    auto res = control(cleori::http_method::get, "/sim/report");
    BOOST_TEST_REQUIRE(res.status == 200u);
    auto v = boost::json::parse(res.body);
    auto embedded = sim.report();
    // The gaps run up to the report, so the rules' values differ by the time
    // between the two reports; everything else is the same.
    auto const& rules = v.at("rules").as_array();
    BOOST_TEST_REQUIRE(rules.size() == embedded.at("rules").as_array().size());
    for (std::size_t i = 0; i < rules.size(); ++i) {
        BOOST_TEST(rules[i].at("rule") == embedded.at("rules").at(i).at("rule"));
        BOOST_TEST(rules[i].at("pass") == embedded.at("rules").at(i).at("pass"));
    }
    v.as_object().erase("rules");
    embedded.as_object().erase("rules");
    BOOST_TEST(v == embedded);
    BOOST_TEST(v.at("assets").at(0).at("samples_received").to_number<std::uint64_t>() == 1u);
    BOOST_TEST(res.body.find(token) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
