// The simulator's compliance checks (tools/sim/compliance.hpp) on runs built
// by hand, where every energy is known analytically; and the market in
// virtual time (tools/sim/market.hpp) over the in-memory transport.
#include "sim/compliance.hpp"
#include "sim/market.hpp"

#include <cleori/clock/manual_clock.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace sim = cleori::sim;

namespace {

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-27T10:00:00Z").value();

cleori::timestamp at(double s) { return t0 + std::chrono::microseconds(static_cast<long long>(s * 1e6)); }

// A plant that follows `power(t)` exactly, sampled every `step` seconds over [from, to].
template <class Power>
std::vector<cleori::telemetry_sample> sampled(double from, double to, double step, Power power) {
    std::vector<cleori::telemetry_sample> out;
    for (double s = from; s <= to + 1e-9; s += step)
        out.push_back({at(s), cleori::kilowatts{power(s)}, cleori::percent{50.0}});
    return out;
}

// An activation served 60 s ahead and confirmed executing at its start.
sim::activation_history activation(std::string id, cleori::mfrr_direction d, double kw, double start, double end) {
    sim::activation_history h;
    h.a = {.id = std::move(id), .direction = d, .power = cleori::kilowatts{kw}, .start_time = at(start),
           .end_time = at(end), .status = cleori::activation_status::pending};
    h.first_served_wall = at(start - 60);
    h.first_served = cleori::mono_time{} + 1h;
    h.requested.push_back({h.a.start_time, h.a.setpoint().in_kw()});
    h.first_confirmation = cleori::confirmation{at(start), cleori::confirmation_status::executing, {}, h.a.setpoint()};
    h.confirmed_wall = at(start);
    h.confirmations = 1;
    return h;
}

sim::asset_assessment judge(std::vector<cleori::telemetry_sample> samples, std::vector<sim::activation_history const*> acts,
                            double now_s = 7200, sim::compliance_rules rules = {.response_time = 500ms}) {
    std::vector<cleori::timestamp> polls;
    for (double s = 0; s <= now_s; s += 10) polls.push_back(at(s));
    return sim::assess_asset({"asset-1", samples, polls, std::move(acts)}, rules, at(now_s));
}

sim::activation_energy const& energy_of(sim::asset_assessment const& a, std::string const& id) {
    for (auto const& e : a.activations)
        if (e.id == id) return e;
    BOOST_FAIL("no activation " << id);
    return a.activations.front();
}

} // namespace

BOOST_AUTO_TEST_SUITE(sim_compliance)

BOOST_AUTO_TEST_CASE(a_device_that_follows_the_request_passes_with_exact_energies) {
    // 60 kW of charge for 10 minutes from t=600 s; the plant gets there 0.5 s late.
    auto const a = activation("a", cleori::mfrr_direction::down, 60, 600, 1200);
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 1200.5 ? 60.0 : 0.0; }), {&a});
    auto const& e = energy_of(r, "a");
    BOOST_TEST(e.requested_kwh == 10.0, boost::test_tools::tolerance(1e-9));
    // Linear between samples: the ramp at the start costs half a sample
    // interval (60 kW × 2.5 s); the window ends at 1200 s, where the sample
    // still shows 60 kW. Within the ramp allowance (60 kW × 5 s).
    BOOST_TEST(e.delivered_kwh == 10.0 - 60.0 * 2.5 / 3600.0, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(e.allowance_kwh == 60.0 * 5.0 / 3600.0, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(e.verdict == "pass");
    BOOST_TEST(r.outside_windows == 0u);
    BOOST_TEST(r.baseline_misses == 0u);
}

BOOST_AUTO_TEST_CASE(a_device_at_half_power_or_three_percent_short_fails) {
    auto const a = activation("a", cleori::mfrr_direction::up, 80, 600, 1500);
    for (double const k : {0.5, 0.97}) {
        auto r = judge(sampled(0, 3600, 5, [k](double s) { return s >= 600.5 && s < 1500.5 ? -80.0 * k : 0.0; }), {&a});
        auto const& e = energy_of(r, "a");
        BOOST_TEST(e.requested_kwh == -20.0, boost::test_tools::tolerance(1e-9));
        BOOST_TEST(e.verdict == "fail", "at " << k << " of the power: " << e.delivered_kwh << " kWh");
        BOOST_TEST(!e.pass);
    }
    // 99 % of the power is within the tolerance.
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 1500.5 ? -79.2 : 0.0; }), {&a});
    BOOST_TEST(energy_of(r, "a").verdict == "pass");
}

BOOST_AUTO_TEST_CASE(overlapping_activations_share_the_measured_power_in_proportion) {
    // A: 60 kW over [600, 1200); B: 30 kW over [900, 1500). The plant delivers the sum.
    auto const a = activation("a", cleori::mfrr_direction::down, 60, 600, 1200);
    auto const b = activation("b", cleori::mfrr_direction::down, 30, 900, 1500);
    auto const plant = [](double s) { return (s >= 600.5 && s < 1200.5 ? 60.0 : 0.0) + (s >= 900.5 && s < 1500.5 ? 30.0 : 0.0); };
    auto r = judge(sampled(0, 3600, 5, plant), {&a, &b});
    BOOST_TEST(energy_of(r, "a").requested_kwh == 10.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(energy_of(r, "b").requested_kwh == 5.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(energy_of(r, "a").delivered_kwh == 10.0, boost::test_tools::tolerance(0.01));
    BOOST_TEST(energy_of(r, "b").delivered_kwh == 5.0, boost::test_tools::tolerance(0.02));
    BOOST_TEST(energy_of(r, "a").pass);
    BOOST_TEST(energy_of(r, "b").pass);
    BOOST_TEST(r.baseline_misses == 0u); // after A ends the plant holds B's 30 kW
}

BOOST_AUTO_TEST_CASE(opposite_directions_are_each_credited_with_their_request_when_the_net_is_delivered) {
    // 60 kW down and 40 kW up over the same window: the plant charges the net 20 kW.
    auto const a = activation("down", cleori::mfrr_direction::down, 60, 600, 1200);
    auto const b = activation("up", cleori::mfrr_direction::up, 40, 600, 1200);
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 1200.5 ? 20.0 : 0.0; }), {&a, &b});
    BOOST_TEST(energy_of(r, "down").delivered_kwh == 10.0, boost::test_tools::tolerance(0.01));
    BOOST_TEST(energy_of(r, "up").delivered_kwh == -40.0 / 6.0, boost::test_tools::tolerance(0.01));
    BOOST_TEST(energy_of(r, "down").pass);
    BOOST_TEST(energy_of(r, "up").pass);
}

BOOST_AUTO_TEST_CASE(a_modification_changes_the_request_from_when_it_is_made) {
    auto a = activation("a", cleori::mfrr_direction::down, 60, 600, 1200);
    a.a.power = 30.0_kW;
    a.changed(at(900)); // at 900 s: 60 → 30 kW; the agent sees it at its next poll (910 s)
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 910.5 ? 60.0 : s < 1200.5 ? 30.0 : 0.0; }),
                   {&a});
    auto const& e = energy_of(r, "a");
    BOOST_TEST(e.requested_kwh == 60.0 * 300 / 3600 + 30.0 * 300 / 3600, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(e.pass, e.delivered_kwh << " of " << e.requested_kwh << " kWh, allowance " << e.allowance_kwh);
}

BOOST_AUTO_TEST_CASE(refused_unconfirmed_and_released_activations) {
    auto refused = activation("refused", cleori::mfrr_direction::up, 100, 600, 9000);
    refused.first_confirmation = cleori::confirmation{at(540), cleori::confirmation_status::unavailable,
                                                      std::string("insufficient energy"), {}};
    auto unconfirmed = activation("unconfirmed", cleori::mfrr_direction::down, 50, 1800, 2400);
    unconfirmed.first_confirmation.reset();
    auto released = activation("released", cleori::mfrr_direction::up, 50, 3000, 3600);
    released.released_wall = at(3300); // stopped at a limit and said so
    auto const plant = [](double s) {
        return (s >= 1800.5 && s < 2400.5 ? 50.0 : 0.0) + (s >= 3000.5 && s < 3300.5 ? -50.0 : 0.0);
    };
    auto r = judge(sampled(0, 7200, 5, plant), {&refused, &unconfirmed, &released}, 7200);
    BOOST_TEST(energy_of(r, "refused").verdict == "refused");
    BOOST_TEST(energy_of(r, "refused").pass);
    BOOST_TEST(energy_of(r, "refused").delivered_kwh == 0.0);
    BOOST_TEST(energy_of(r, "unconfirmed").verdict == "unconfirmed");
    BOOST_TEST(!energy_of(r, "unconfirmed").pass);
    BOOST_TEST(energy_of(r, "released").verdict == "released");
    BOOST_TEST(energy_of(r, "released").requested_kwh == -50.0 * 300 / 3600, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(r.outside_windows == 0u);
}

BOOST_AUTO_TEST_CASE(a_partial_confirmation_is_judged_against_the_confirmed_setpoint) {
    // 150 kW requested from a 100 kW battery: confirmed executing at 100 kW.
    auto a = activation("big", cleori::mfrr_direction::down, 150, 600, 1200);
    a.first_confirmation->setpoint = 100.0_kW;
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 1200.5 ? 100.0 : 0.0; }), {&a});
    BOOST_TEST(energy_of(r, "big").requested_kwh == 25.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(energy_of(r, "big").verdict == "partial");
    BOOST_TEST(energy_of(r, "big").pass);
    // … but delivering less than it confirmed fails.
    r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 1200.5 ? 90.0 : 0.0; }), {&a});
    BOOST_TEST(energy_of(r, "big").verdict == "partial-fail");
}

BOOST_AUTO_TEST_CASE(power_away_from_baseline_outside_windows_and_a_late_return_are_counted) {
    auto const a = activation("a", cleori::mfrr_direction::down, 60, 600, 1200);
    // The plant starts 60 s early and keeps charging 30 s after the end.
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 540 && s < 1230 ? 60.0 : 0.0; }), {&a});
    // 540…595 before the start; 1210…1225 after the end ramp (the end, the
    // response time, and the next sample: 1200 → 1205).
    BOOST_TEST(r.outside_windows == 12u + 4u);
    BOOST_TEST(r.baseline_misses == 1u);
}

BOOST_AUTO_TEST_CASE(no_credit_without_power_and_no_pass_for_executing_at_zero) {
    auto const a = activation("a", cleori::mfrr_direction::up, 90, 600, 1200);
    // Samples carry SoC but no power through the window: nothing was measured.
    std::vector<cleori::telemetry_sample> soc_only;
    for (double s = 0; s <= 3600; s += 5)
        soc_only.push_back({at(s), s >= 590 && s <= 1210 ? std::nullopt : std::optional(0.0_kW), 50.0_pct});
    auto r = judge(soc_only, {&a});
    BOOST_TEST(energy_of(r, "a").delivered_kwh == 0.0);
    BOOST_TEST(energy_of(r, "a").verdict == "fail");
    // "executing" at 0 kW is not a way to decline.
    auto zero = activation("zero", cleori::mfrr_direction::up, 90, 600, 1200);
    zero.first_confirmation->setpoint = 0.0_kW;
    r = judge(sampled(0, 3600, 5, [](double) { return 0.0; }), {&zero});
    BOOST_TEST(energy_of(r, "zero").verdict == "fail");
}

BOOST_AUTO_TEST_CASE(a_confirmation_after_a_modification_before_the_start_is_not_partial) {
    // 90 kW, modified to 40 kW before the start; confirmed and delivered at 40.
    auto a = activation("a", cleori::mfrr_direction::up, 90, 600, 1200);
    a.a.power = 40.0_kW;
    a.changed(at(300));
    a.first_confirmation->setpoint = -40.0_kW;
    auto r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 1200.5 ? -40.0 : 0.0; }), {&a});
    BOOST_TEST(energy_of(r, "a").verdict == "pass");
    // Clamped to 50 of 100 kW, then modified down to 40: owed 50, then 40.
    auto b = activation("b", cleori::mfrr_direction::down, 100, 600, 1200);
    b.first_confirmation->setpoint = 50.0_kW;
    b.a.power = 40.0_kW;
    b.changed(at(900));
    r = judge(sampled(0, 3600, 5, [](double s) { return s >= 600.5 && s < 910.5 ? 50.0 : s < 1200.5 ? 40.0 : 0.0; }),
              {&b});
    BOOST_TEST(energy_of(r, "b").verdict == "partial", energy_of(r, "b").delivered_kwh);
}

BOOST_AUTO_TEST_CASE(a_running_activation_is_judged_up_to_now_and_a_late_refusal_owes_until_it) {
    auto const a = activation("a", cleori::mfrr_direction::down, 60, 600, 7200);
    auto r = judge(sampled(0, 1800, 5, [](double s) { return s >= 600.5 ? 60.0 : 0.0; }), {&a}, 1800);
    BOOST_TEST(energy_of(r, "a").requested_kwh == 20.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(energy_of(r, "a").verdict == "running");
    // Refused 25 s after its start, having delivered nothing: owed until then.
    auto late = activation("late", cleori::mfrr_direction::up, 90, 600, 1200);
    late.first_confirmation = cleori::confirmation{at(625), cleori::confirmation_status::unavailable, std::string("fault"), {}};
    late.confirmed_wall = at(625);
    r = judge(sampled(0, 3600, 5, [](double) { return 0.0; }), {&late});
    BOOST_TEST(energy_of(r, "late").verdict == "refused-late-fail");
    // … 2 s after it, within the ramp: fine.
    late.first_confirmation->time = at(602);
    late.confirmed_wall = at(602);
    r = judge(sampled(0, 3600, 5, [](double) { return 0.0; }), {&late});
    BOOST_TEST(energy_of(r, "late").verdict == "refused-late");
}

BOOST_AUTO_TEST_CASE(a_device_short_of_what_remains_is_not_a_baseline_miss) {
    // A and B overlap; after A ends the device gives half of B's 30 kW:
    // the energy rule's failure, not the return to baseline's.
    auto const a = activation("a", cleori::mfrr_direction::down, 60, 600, 1200);
    auto const b = activation("b", cleori::mfrr_direction::down, 30, 900, 1500);
    auto r = judge(sampled(0, 3600, 5, [](double s) {
                       return 0.5 * ((s >= 600.5 && s < 1200.5 ? 60.0 : 0.0) + (s >= 900.5 && s < 1500.5 ? 30.0 : 0.0));
                   }),
                   {&a, &b});
    BOOST_TEST(r.baseline_misses == 0u);
    BOOST_TEST(!energy_of(r, "a").pass);
}

BOOST_AUTO_TEST_CASE(rules_pass_and_fail_at_their_limits_and_the_worst_asset_is_named) {
    sim::compliance_rules const rules;
    sim::asset_assessment ok, late;
    late.max_confirmation_delay_s = 31;
    late.slowest_confirmation = "a-7";
    auto r1 = sim::asset_rules("asset-1", ok, 10.0, 60.0, rules);
    for (auto const& r : r1) BOOST_TEST(r.pass, r.name);
    auto r2 = sim::asset_rules("asset-2", late, 10.001, 12.0, rules);
    std::vector<sim::rule_result> all;
    sim::merge_rules(all, r1);
    sim::merge_rules(all, r2);
    auto rule = [&](std::string const& n) {
        for (auto const& r : all)
            if (r.name == n) return r;
        BOOST_FAIL("no rule " << n);
        return all.front();
    };
    BOOST_TEST(!rule("telemetry gap").pass);
    BOOST_TEST(rule("telemetry gap").where == "asset-2");
    BOOST_TEST(rule("poll gap").pass);
    BOOST_TEST(!rule("confirmation delay").pass);
    BOOST_TEST(rule("confirmation delay").where == "asset-2 a-7");
}

BOOST_AUTO_TEST_CASE(the_time_series_has_one_row_per_sample_with_what_was_in_force) {
    auto const a = activation("a", cleori::mfrr_direction::down, 60, 10, 20);
    std::vector<cleori::telemetry_sample> samples{{at(15), 60.0_kW, 55.0_pct}, {at(5), {}, 50.0_pct}, {at(25), 0.0_kW, {}}};
    auto const csv = sim::write_csv({{"asset-1", samples, {}, {&a}}}, at(30));
    BOOST_TEST(csv == "time,asset,requested_kw,confirmed_kw,measured_kw,soc_pct,activations\n"
                      "2026-11-27T10:00:05.000Z,asset-1,0.000,0.000,,50.000,\n"
                      "2026-11-27T10:00:15.000Z,asset-1,60.000,60.000,60.000,55.000,a\n"
                      "2026-11-27T10:00:25.000Z,asset-1,0.000,0.000,0.000,,\n");
}

// The market on the manual clock: scheduled actions happen at their virtual
// time, and requests go through the in-memory transport.
BOOST_AUTO_TEST_CASE(the_market_runs_in_virtual_time_over_the_memory_transport) {
    boost::asio::io_context io;
    cleori::manual_clock clock{t0};
    sim::basic_market<cleori::manual_clock> market{io.get_executor(), {.tokens = {"tok"}}, clock};
    cleori::testing::memory_transport transport{io.get_executor(), market.responder()};
    BOOST_TEST(market.load_scenario(R"({"actions": [
        {"at_s": 30, "action": "create", "asset": "asset-1",
         "activation": {"id": "x", "direction": "up", "power": 50, "start_in_s": 60, "duration_s": 300}},
        {"at_s": 45, "action": "outage", "duration_s": 10}]})") == "");
    BOOST_TEST(market.scheduled_actions() == 2u);

    std::vector<std::pair<boost::system::error_code, cleori::http_response>> answers;
    auto poll = [&] {
        transport.async_request({.method = cleori::http_method::get, .target = "/v1/activations?limit=100&offset=0",
                                 .bearer_token = "tok"},
                                [&](boost::system::error_code ec, cleori::http_response r) { answers.emplace_back(ec, r); });
        clock.run_for(io, 0s);
    };
    clock.run_for(io, 29s);
    poll();
    BOOST_TEST(answers.back().second.body.find("\"id\":\"x\"") == std::string::npos);
    clock.run_for(io, 2s);
    poll();
    BOOST_TEST(answers.back().second.status == 200u);
    BOOST_TEST(answers.back().second.body.find("\"start_time\":\"2026-11-27T10:01:30.000Z\"") != std::string::npos,
               answers.back().second.body);
    clock.run_for(io, 15s); // 46 s: inside the outage
    poll();
    BOOST_TEST(answers.back().first == boost::asio::error::connection_reset);
    clock.run_for(io, 10s);
    poll();
    BOOST_TEST(!answers.back().first);
    BOOST_TEST(market.scheduled_actions() == 0u);

    // A wrong token is refused, and the report never contains the token.
    transport.async_request({.target = "/v1/activations", .bearer_token = "nope"},
                            [&](boost::system::error_code ec, cleori::http_response r) { answers.emplace_back(ec, r); });
    clock.run_for(io, 0s);
    BOOST_TEST(answers.back().second.status == 401u);
    auto const report = boost::json::serialize(market.report());
    BOOST_TEST(report.find("tok\"") == std::string::npos);
    BOOST_TEST(market.report().at("pass").as_bool());

    // Attempts count even when an outage drops them; silence does not, and
    // it runs up to the report.
    BOOST_TEST(market.apply(boost::json::parse(R"({"at_s": 30, "action": "outage", "duration_s": 5})").as_object()) == "");
    clock.run_for(io, 31s);
    poll(); // dropped by the outage, 31 s after the last
    BOOST_TEST(answers.back().first == boost::asio::error::connection_reset);
    clock.run_for(io, 40s);
    poll(); // 40 s later
    clock.run_for(io, 70s); // then silence until the report
    auto const rules = market.report().at("rules").as_array();
    for (auto const& v : rules)
        if (v.at("rule").as_string() == "poll gap") {
            BOOST_TEST(v.at("value").to_number<double>() == 70.0, boost::test_tools::tolerance(0.01));
            BOOST_TEST(!v.at("pass").as_bool());
        }
}

BOOST_AUTO_TEST_SUITE_END()
