// The whole chain over real sockets: the Cleori simulator ↔ the agent ↔ a
// Modbus battery (the example vendor map) ↔ the libmodbus plant.
#include <cleori/engine/agent.hpp>

#include <cleori/modbus/modbus_battery.hpp>

#include "support/exemplar_battery.hpp"
#include "support/modbus_servers.hpp"
#include "support/sim_fixture.hpp"

#include <boost/test/unit_test.hpp>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace modbus = cleori::modbus;
using cleori::test::number;
using cleori::test::token;

BOOST_FIXTURE_TEST_SUITE(modbus_agent, cleori::test::sim_fixture)

BOOST_AUTO_TEST_CASE(activations_reach_the_plant_and_a_pcs_fault_is_refused_with_its_reason) {
    auto const err = sim.load_scenario(R"({"actions":[
        {"action":"create","asset":"asset-1","activation":{"id":"up","direction":"up","power":60,"start_in_s":1.5,"duration_s":3}},
        {"action":"create","asset":"asset-1","activation":{"id":"faulted","direction":"down","power":40,"start_in_s":6,"duration_s":3}}
    ]})");
    BOOST_TEST_REQUIRE(err.empty(), err);
    auto plant = cleori::test::libmodbus_plant({"--response-ms", "300", "--watchdog-ms", "3000"});
    modbus::client plc{io.get_executor(), "127.0.0.1", plant.port(), {.request_timeout = 500ms}};
    std::string why;
    auto map = modbus::load_register_map(std::string(CLEORI_MAPS_DIR) + "/example_pcs.json", &why);
    BOOST_TEST_REQUIRE(map.has_value(), why);
    map->heartbeat->period = 500ms;
    cleori::modbus_battery battery{plc, *map, cleori_test::plant_ratings};
    cleori::basic_agent<cleori::modbus_battery, cleori::beast_transport> agent{
        battery, transport, {.token = token, .telemetry_interval = 500ms, .poll_interval = 500ms}};
    std::vector<std::string> log;
    agent.set_logger([&](cleori::log_level, std::string_view l) { log.emplace_back(l); });
    BOOST_TEST_REQUIRE(agent.start().has_value());

    // Measured power from Modbus follows the setpoint while "up" runs.
    std::vector<double> measured;
    boost::asio::steady_timer probe{io};
    std::function<void()> sample = [&] {
        probe.expires_after(250ms);
        probe.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            battery.async_read_state([&](boost::system::error_code rec, cleori::battery_state s) {
                if (!rec && s.power) measured.push_back(s.power->in_kw());
            });
            sample();
        });
    };
    sample();
    run_for(5s);
    // The PCS faults before "faulted" starts.
    std::optional<boost::system::error_code> wrote;
    plc.async_write_single_register(1, 103, 3, [&](boost::system::error_code ec) { wrote = ec; });
    drive([&] { return wrote.has_value(); });
    BOOST_TEST_REQUIRE(!wrote.value());
    run_for(6s);
    probe.cancel();
    agent.stop();
    drive([&] { return agent.stopped(); });
    BOOST_TEST_REQUIRE(agent.stopped());

    auto const report = sim.report();
    auto const& acts = report.at("assets").at(0).at("activations").as_array();
    auto find = [&](std::string_view id) -> boost::json::object const& {
        for (auto const& a : acts)
            if (a.at("id").as_string() == id) return a.as_object();
        throw std::runtime_error("not in the report");
    };
    BOOST_TEST_MESSAGE("report: " << boost::json::serialize(report.at("assets").at(0)));
    auto const& up = find("up");
    BOOST_TEST(number(up.at("confirmations")) == 1.0);
    BOOST_TEST(number(up.at("confirmed_setpoint_kw")) == -60.0);
    // The plant's own measurement, through the samples: at least a third of
    // the requested energy (the rest is the ramp of a short window).
    BOOST_TEST(number(up.at("delivered_kwh")) < number(up.at("requested_kwh")) / 3.0);
    BOOST_TEST(std::count(measured.begin(), measured.end(), -60.0) >= 4);
    // The plant saw −60 kW as +60000 W (+ = discharge on this PCS), then baseline.
    BOOST_TEST(plant.log().find("unit=1 setpoint_w=60000") != std::string::npos, plant.log());
    // The fault's own words reached Cleori.
    auto const& faulted = find("faulted");
    BOOST_TEST_REQUIRE(faulted.contains("refusal"));
    auto const refusal = std::string(faulted.at("refusal").as_string());
    BOOST_TEST(refusal.find("PCS fault (status 3)") != std::string::npos, refusal);
    // The heartbeat kept the 3 s watchdog fed for the whole run.
    BOOST_TEST(battery.stats().heartbeats >= 15u);
    BOOST_TEST(plant.log().find("watchdog=expired") == std::string::npos);
    BOOST_TEST(number(report.at("assets").at(0).at("samples_received")) >= 15.0);
    for (auto const& l : log) BOOST_TEST_REQUIRE(l.find(token) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
