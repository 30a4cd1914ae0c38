// A full run with everything captured: every log line at every level, every
// error the hooks see, every simulator event, the report, and the errors of
// direct client calls — through faults, an outage, a refused activation, a
// cancellation and a token rotated to a wrong one and back. Neither token
// appears anywhere, and the capture is proven to hold real content.
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>

#include "support/sim_fixture.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include "support/policies.hpp"

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr char const* secret = "tok-3f9a1c77-live-asset";
constexpr char const* rotated_to = "tok-0b44e2d1-not-registered";

struct capture {
    std::string text;
    std::size_t lines = 0;
    void add(std::string_view where, std::string_view line) {
        text.append(where).append(": ").append(line).append("\n");
        ++lines;
    }
};

struct secret_fixture {
    capture all;   // everything
    capture agent_lines; // the agent's own lines: its log and its hooks
    asio::io_context io;
    cleori::sim::server sim{io.get_executor(),
                            {.tokens = {secret}, .on_event = [this](std::string const& e) { all.add("sim", e); }}};
    unsigned short port = sim.start().value();
    cleori::beast_transport transport{io.get_executor(), "http://127.0.0.1:" + std::to_string(port)};
    void run_for(std::chrono::milliseconds d) { cleori::test::run_for(io, d); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(net_secrets, secret_fixture)

BOOST_AUTO_TEST_CASE(no_token_in_anything_a_full_run_writes) {
    auto const err = sim.load_scenario(R"({"actions":[
        {"action":"create","asset":"asset-1","activation":{"id":"runs","direction":"up","power":60,"start_in_s":0.5,"duration_s":1.5}},
        {"action":"create","asset":"asset-1","activation":{"id":"too-big","direction":"up","power":400,"start_in_s":1,"duration_s":36000}},
        {"action":"create","asset":"asset-1","activation":{"id":"cancelled","direction":"down","power":40,"start_in_s":1,"duration_s":60}},
        {"at_s":2.2,"action":"cancel","id":"cancelled"},
        {"at_s":0.3,"action":"fault","fault":{"kind":"status","status":429,"retry_after":"1","count":2}},
        {"at_s":0.8,"action":"fault","fault":{"kind":"status","status":503,"count":2}},
        {"at_s":1.2,"action":"fault","fault":{"kind":"drop","count":2}},
        {"at_s":1.6,"action":"fault","fault":{"kind":"malformed","count":2}},
        {"at_s":2.0,"action":"fault","fault":{"kind":"truncate","count":2}},
        {"at_s":2.4,"action":"outage","duration_s":0.8}
    ]})");
    BOOST_TEST_REQUIRE(err.empty(), err);
    cleori::simulated_battery battery{{}, 50.0_pct};
    // No retries inside the client: every fault reaches the agent's log.
    cleori::basic_agent<cleori::simulated_battery, cleori::beast_transport, cleori::test::no_retries> agent{
        battery, transport, {.token = secret, .telemetry_interval = 250ms, .poll_interval = 250ms}};
    auto from_agent = [&](std::string_view where, std::string_view line) {
        all.add(where, line);
        agent_lines.add(where, line);
    };
    agent.set_logger([&](cleori::log_level l, std::string_view line) {
        from_agent(l == cleori::log_level::debug  ? "debug"
                   : l == cleori::log_level::info ? "info"
                   : l == cleori::log_level::warning ? "warning"
                                                     : "error",
                   line);
    });
    auto& h = agent.hooks();
    h.on_error = [&](std::string_view what) { from_agent("on_error", what); };
    h.on_activation_refused = [&](cleori::activation const& a, std::string_view why) { from_agent("refused " + a.id, why); };
    h.on_activation_ended = [&](cleori::activation const& a, cleori::end_reason r) { from_agent("ended " + a.id, to_string(r)); };
    BOOST_TEST_REQUIRE(agent.start().has_value());
    run_for(3500ms);
    agent.set_token(rotated_to); // Cleori refuses it: 401s, with Cleori's message
    run_for(1000ms);
    agent.set_token(secret);
    run_for(1500ms);
    agent.stop();
    cleori::test::drive(io, [&] { return agent.stopped(); }, 10s);
    BOOST_TEST_REQUIRE(agent.stopped());

    // Direct client calls that fail, as an integrator's code would log them.
    cleori::basic_api_client<cleori::beast_transport, cleori::test::no_retries> client{transport};
    for (auto const* token : {rotated_to, ""}) {
        std::optional<cleori::api_result<cleori::activation_poll>> r;
        asio::co_spawn(io, client.get_activations(token, std::chrono::steady_clock::now() + 5s),
                       [&](std::exception_ptr, cleori::api_result<cleori::activation_poll> x) { r.emplace(std::move(x)); });
        cleori::test::drive(io, [&] { return r.has_value(); }, 10s);
        BOOST_TEST_REQUIRE((r && !r->has_value()));
        all.add("client", r->error().describe());
    }
    all.add("report", boost::json::serialize(sim.report()));

    // The capture is real: the agent's own lines hold the errors of every
    // fault, the refusal and the 401s (not the simulator's lines about them).
    auto const k = agent.counters();
    BOOST_TEST_MESSAGE("captured " << all.lines << " lines (" << agent_lines.lines << " from the agent), "
                                   << all.text.size() << " bytes; telemetry failures " << k.telemetry_failures
                                   << ", poll failures " << k.poll_failures);
    BOOST_TEST(agent_lines.lines >= 20u);
    for (std::string_view expected : {"401 Unauthorized", "429", "503", "malformed JSON", "connection closed",
                                      "refused too-big", "insufficient energy", "ended cancelled: cancelled",
                                      "activation runs executing"})
        BOOST_TEST(agent_lines.text.find(expected) != std::string::npos, "the agent's lines lack \"" << expected << "\"");
    BOOST_TEST(all.text.find("\"samples_received\"") != std::string::npos, "the capture lacks the report");
    // And no token in it.
    BOOST_TEST(all.text.find(secret) == std::string::npos);
    BOOST_TEST(all.text.find(rotated_to) == std::string::npos);
    BOOST_TEST(all.text.find("tok-") == std::string::npos); // not even a prefix
}

BOOST_AUTO_TEST_SUITE_END()
