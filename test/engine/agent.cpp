// The whole agent in virtual time: the simulated battery, an in-memory Cleori
// and the manual clock. Hours of operation run in milliseconds, and timings
// are asserted exactly.
#include <cleori/engine/agent.hpp>

#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>

#include "support/virtual_site.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <set>
#include "support/policies.hpp"

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Setpoints as (seconds after t0, kW), printable when a check fails.
struct cmd : std::vector<std::pair<double, double>> {
    using vector::vector;
    friend std::ostream& operator<<(std::ostream& os, cmd const& c) {
        for (auto const& [t, kw] : c) os << "{" << t << " s, " << kw << " kW}";
        return os;
    }
};

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();

struct fixture : cleori::test::virtual_site {
    using agent_type = cleori::basic_agent<battery_type, cleori::testing::memory_transport, cleori::test::virtual_time>;

    fixture() : virtual_site(t0) {}
    ~fixture() {
        if (agent) agent->stop();
        clock.run_for(io, std::chrono::hours(1));
    }

    std::optional<agent_type> agent;
    std::vector<std::string> log;

    agent_type& start(cleori::agent_config c = {.token = "token-A"}) {
        agent.emplace(battery, transport, std::move(c), clock);
        agent->set_logger([this](cleori::log_level, std::string_view line) { log.emplace_back(line); });
        auto started = agent->start();
        BOOST_TEST_REQUIRE(started.has_value(), started.error().message());
        return *agent;
    }
    // Setpoints commanded to the battery: (seconds after t0, kW).
    cmd commands() const {
        cmd out;
        for (auto const& c : battery.commands())
            out.emplace_back(std::chrono::duration<double>(c.time - t0).count(), c.setpoint.in_kw());
        return out;
    }
    double since_t0(cleori::mono_time at) const {
        return std::chrono::duration<double>(at - (clock.now() - (clock.wall_now() - t0))).count();
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_agent, fixture)

BOOST_AUTO_TEST_CASE(an_hour_of_cadence_is_exact) {
    start();
    run(1h);
    // t = 0, 5, …, 3600 s: 721 samples and 721 polls, every gap exactly 5 s.
    BOOST_TEST(cleori.samples.size() == 721u);
    BOOST_TEST(cleori.polls.size() == 721u);
    for (std::size_t i = 1; i < cleori.samples.size(); ++i) {
        BOOST_TEST_REQUIRE((cleori.samples[i].sample.time - cleori.samples[i - 1].sample.time == 5s));
        BOOST_TEST_REQUIRE((cleori.polls[i] - cleori.polls[i - 1] == 5s));
    }
    BOOST_TEST(cleori.samples.front().sample.soc.value() == 50.0_pct);
    BOOST_TEST(agent->counters().samples_sent == 721u);
    BOOST_TEST(agent->outbox_size() == 0u);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}})); // idle at baseline
}

BOOST_AUTO_TEST_CASE(configured_cadences_are_honoured_and_limits_refused) {
    start({.token = "token-A", .telemetry_interval = 10s, .poll_interval = 60s});
    run(10min);
    BOOST_TEST(cleori.samples.size() == 61u);
    BOOST_TEST(cleori.polls.size() == 11u);

    struct bad_case {
        cleori::agent_config config;
        cleori::error expected;
    };
    bad_case const cases[] = {
        {{.token = "t", .telemetry_interval = 10001ms}, cleori::error::config_telemetry_interval},
        {{.token = "t", .telemetry_interval = 0ms}, cleori::error::config_telemetry_interval},
        {{.token = "t", .poll_interval = 61s}, cleori::error::config_poll_interval},
        {{.token = ""}, cleori::error::config_missing_token},
    };
    for (auto const& c : cases) {
        agent_type a{battery, transport, c.config, clock};
        auto r = a.start();
        BOOST_TEST_REQUIRE(!r.has_value());
        BOOST_TEST(r.error() == make_error_code(c.expected), r.error().message());
    }
}

BOOST_AUTO_TEST_CASE(up_discharges_on_time_confirms_once_and_returns_to_baseline) {
    cleori.activations.push_back(make("up-1", cleori::mfrr_direction::up, 60.0_kW, 32s, 90s));
    start();
    run(5min);
    // Applied at start_time (32 s), baseline at end_time (122 s), exactly.
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {32.0, -60.0}, {122.0, 0.0}}));
    BOOST_TEST_REQUIRE(cleori.confirmations.size() == 1u); // served in 25 polls, confirmed once
    auto const& c = cleori.confirmations[0];
    BOOST_TEST(c.id == "up-1");
    BOOST_TEST((c.c.status == cleori::confirmation_status::executing));
    BOOST_TEST(c.c.setpoint.value() == -60.0_kW);
    BOOST_TEST(since_t0(c.at) == 32.0); // confirmed the moment execution started
    BOOST_TEST((c.c.time == t0 + 32s));
    auto const k = agent->counters();
    BOOST_TEST(k.activations_received == 1u);
    BOOST_TEST(k.activations_applied == 1u);
    BOOST_TEST(k.activations_ended == 1u);
    BOOST_TEST(k.confirmations_sent == 1u);
    // The telemetry shows the discharge after the response time.
    bool seen = false;
    for (auto const& s : cleori.samples)
        if (s.sample.time == t0 + 35s) seen = s.sample.power == -60.0_kW;
    BOOST_TEST(seen);
    BOOST_TEST(battery.soc() < 50.0_pct);
}

BOOST_AUTO_TEST_CASE(down_charges_and_power_is_clamped_to_the_ratings) {
    cleori.activations.push_back(make("down-1", cleori::mfrr_direction::down, 40.0_kW, 10s, 60s));
    cleori.activations.push_back(make("up-big", cleori::mfrr_direction::up, 150.0_kW, 100s, 60s));
    start();
    run(4min);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {10.0, 40.0}, {70.0, 0.0}, {100.0, -100.0}, {160.0, 0.0}}));
    BOOST_TEST_REQUIRE(cleori.confirmations.size() == 2u);
    BOOST_TEST(cleori.confirmations[1].c.setpoint.value() == -100.0_kW); // says what was really commanded
}

BOOST_AUTO_TEST_CASE(an_already_running_activation_starts_at_once) {
    cleori.activations.push_back(make("late", cleori::mfrr_direction::up, 50.0_kW, 0s, 600s));
    clock.advance(20s); // it started 20 s before the agent came up
    start();
    run(1s);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{20.0, -50.0}}));
    BOOST_TEST(cleori.confirmations.size() == 1u);
}

BOOST_AUTO_TEST_CASE(infeasible_activations_are_reported_unavailable_and_never_run) {
    battery = battery_type{clock, 10.0_pct}; // 20 kWh stored, min_soc 5 %
    cleori.activations.push_back(make("too-long", cleori::mfrr_direction::up, 100.0_kW, 60s, 3600s));
    cleori.activations.push_back(make("fits", cleori::mfrr_direction::down, 50.0_kW, 60s, 600s));
    std::vector<std::string> refused;
    start();
    agent->hooks().on_activation_refused = [&](cleori::activation const& a, std::string_view) { refused.push_back(a.id); };
    run(20min);
    BOOST_TEST((refused == std::vector<std::string>{"too-long"}));
    BOOST_TEST_REQUIRE(cleori.confirmations_of("too-long") == 1u);
    auto const& c = cleori.confirmations[0];
    BOOST_TEST(c.id == "too-long");
    BOOST_TEST((c.c.status == cleori::confirmation_status::unavailable));
    BOOST_TEST(since_t0(c.at) == 0.0); // at once, not at start_time: the aggregator must know early
    BOOST_TEST(c.c.reason.value().find("insufficient energy: discharging 100.0 kW for 3600 s needs 100.0 kWh") == 0u,
               *c.c.reason);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {60.0, 50.0}, {660.0, 0.0}}));
    BOOST_TEST(agent->counters().activations_refused == 1u);
}

BOOST_AUTO_TEST_CASE(energy_promised_to_earlier_activations_counts) {
    // 50 % of 200 kWh, min 5 %: about 85 kWh can be discharged. Two 50 kWh activations do not both fit.
    cleori.activations.push_back(make("first", cleori::mfrr_direction::up, 100.0_kW, 60s, 1800s));
    cleori.activations.push_back(make("second", cleori::mfrr_direction::up, 100.0_kW, 1900s, 1800s));
    start();
    run(1s);
    BOOST_TEST_REQUIRE(agent->activations().size() == 2u);
    BOOST_TEST((agent->activations()[0].phase == cleori::activation_phase::scheduled));
    BOOST_TEST((agent->activations()[1].phase == cleori::activation_phase::refused));
}

BOOST_AUTO_TEST_CASE(modification_and_cancellation_take_effect_at_the_next_poll) {
    cleori.activations.push_back(make("m-1", cleori::mfrr_direction::up, 60.0_kW, 10s, 600s));
    start();
    run(30s);
    cleori.activations[0].power = 80.0_kW; // the poll at 30 s has run: seen at 35 s
    cleori.activations[0].status = cleori::activation_status::active;
    run(30s);
    cleori.activations[0].status = cleori::activation_status::cancelled; // seen at 65 s
    run(1min);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {10.0, -60.0}, {35.0, -80.0}, {65.0, 0.0}}));
    BOOST_TEST(cleori.confirmations.size() == 1u);
    BOOST_TEST_REQUIRE(agent->activations().size() == 1u);
    BOOST_TEST((agent->activations()[0].ended == cleori::end_reason::cancelled));
    // A 0 kW modification also cancels.
    cleori.activations.push_back(make("m-2", cleori::mfrr_direction::down, 60.0_kW, 5s, 600s));
    run(30s);
    cleori.activations[1].power = 0.0_kW;
    run(10s);
    BOOST_TEST(battery.commanded() == 0.0_kW);
    BOOST_TEST((agent->activations()[1].ended == cleori::end_reason::cancelled));
}

BOOST_AUTO_TEST_CASE(an_activation_ends_on_time_with_cleori_unreachable) {
    cleori.activations.push_back(make("off-1", cleori::mfrr_direction::up, 60.0_kW, 10s, 120s));
    start();
    run(20s);
    cleori.down = true; // contact lost while executing
    run(5min);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {10.0, -60.0}, {130.0, 0.0}}));
    BOOST_TEST((agent->activations()[0].ended == cleori::end_reason::completed));
}

BOOST_AUTO_TEST_CASE(an_open_ended_activation_ends_locally_when_contact_is_lost) {
    cleori.activations.push_back(make("open", cleori::mfrr_direction::up, 50.0_kW, 10s, std::nullopt));
    start();
    run(2min);
    BOOST_TEST(battery.commanded() == -50.0_kW);
    cleori.down = true; // the last poll that saw it was at 120 s
    run(20min);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {10.0, -50.0}, {120.0 + 900.0, 0.0}}));
    BOOST_TEST((agent->activations()[0].ended == cleori::end_reason::lost_contact));
}

BOOST_AUTO_TEST_CASE(outage_backfill_delivers_every_sample_once_in_order_without_delaying_live_ones) {
    start();
    run(1min);
    cleori.down = true;
    run(10min);
    BOOST_TEST(agent->outbox_size() == 120u); // 10 min at 5 s, all kept
    cleori.down = false;
    run(10min);
    BOOST_TEST(agent->outbox_size() == 0u);
    // Every sample taken arrived exactly once.
    std::set<cleori::timestamp> times;
    for (auto const& s : cleori.samples) times.insert(s.sample.time);
    BOOST_TEST(times.size() == cleori.samples.size());
    BOOST_TEST(cleori.samples.size() == agent->counters().samples_taken);
    BOOST_TEST((*times.begin() == t0));
    BOOST_TEST((*times.rbegin() == t0 + 21min));
    BOOST_TEST(agent->counters().samples_evicted == 0u);
    // Live samples were never late: each arrived within the tick it was taken.
    // Back-filled ones arrived in time order.
    std::optional<cleori::timestamp> last_backfilled;
    for (auto const& s : cleori.samples) {
        double const taken = std::chrono::duration<double>(s.sample.time - t0).count();
        double const arrived = since_t0(s.at);
        if (arrived - taken < 5.0) continue; // live
        if (last_backfilled) BOOST_TEST_REQUIRE((s.sample.time > *last_backfilled));
        last_backfilled = s.sample.time;
    }
    BOOST_TEST(last_backfilled.has_value());
}

BOOST_AUTO_TEST_CASE(a_thirty_minute_outage_loses_nothing_inside_the_bound) {
    // An activation that runs entirely inside the outage, on the local clock.
    cleori.activations.push_back(make("during", cleori::mfrr_direction::up, 70.0_kW, 10min, 5min)); // 600..900 s
    start(); // the default outbox holds 30 min at 5 s, and one more: 361 samples
    run(1min);
    cleori.down = true; // from 60 s to 1860 s
    run(30min);
    auto k = agent->counters();
    BOOST_TEST(agent->outbox_size() == 360u); // 60 … 1855 s; 1860 s is taken as Cleori returns
    BOOST_TEST(k.samples_evicted == 0u);
    BOOST_TEST(k.confirmations_sent == 0u);
    cleori.down = false;
    run(10min);
    k = agent->counters(); // a copy: taken again after the run
    BOOST_TEST_CONTEXT("commands: " << commands())
    BOOST_TEST(commands() == cmd({{0.0, 0.0}, {600.0, -70.0}, {900.0, 0.0}}));
    BOOST_TEST(cleori.confirmations_of("during") == 1u); // owed through the outage, then sent once
    BOOST_TEST(agent->outbox_size() == 0u);
    std::set<cleori::timestamp> times;
    for (auto const& s : cleori.samples) BOOST_TEST_REQUIRE(times.insert(s.sample.time).second);
    BOOST_TEST(cleori.samples.size() == k.samples_taken); // every sample, once
    for (auto t = t0; t <= t0 + 41min; t += 5s) BOOST_TEST(times.count(t) == 1u, "sample of " << cleori::to_rfc3339(t));
    BOOST_TEST(k.samples_evicted == 0u);
    // The back-fill went out in time order, and no live sample waited for it.
    std::optional<cleori::timestamp> last_backfilled;
    for (auto const& s : cleori.samples) {
        double const taken = std::chrono::duration<double>(s.sample.time - t0).count();
        if (since_t0(s.at) - taken < 5.0) continue; // live
        if (last_backfilled) BOOST_TEST_REQUIRE((s.sample.time > *last_backfilled));
        last_backfilled = s.sample.time;
    }
    BOOST_TEST(last_backfilled.has_value());
}

BOOST_AUTO_TEST_CASE(beyond_the_outbox_bound_the_oldest_samples_are_dropped_and_counted) {
    std::size_t dropped = 0;
    cleori.down = true; // from the first request, which start() sends
    start({.token = "token-A", .outbox_span = 1min}); // 13 samples
    agent->hooks().on_telemetry_dropped = [&](std::size_t n) { dropped += n; };
    run(5min); // 60 samples taken, 13 kept
    cleori.down = false;
    run(1min);
    auto const k = agent->counters();
    BOOST_TEST(k.samples_evicted == 48u);
    BOOST_TEST(dropped == 48u);
    BOOST_TEST(k.samples_sent + k.samples_evicted == k.samples_taken);
    std::set<cleori::timestamp> times;
    for (auto const& s : cleori.samples) times.insert(s.sample.time);
    BOOST_TEST(times.size() == cleori.samples.size()); // no duplicates
    BOOST_TEST((*times.begin() == t0 + 240s)); // the 13 newest were kept
}

BOOST_AUTO_TEST_CASE(confirmation_is_retried_until_acknowledged) {
    cleori.fail_confirms = 20;
    cleori.activations.push_back(make("c-1", cleori::mfrr_direction::up, 60.0_kW, 5s, 600s));
    start();
    run(3min);
    BOOST_TEST(cleori.confirmations_of("c-1") == 1u);
    BOOST_TEST(agent->counters().confirmation_failures >= 1u);
    BOOST_TEST(agent->activations()[0].confirmed);
}

BOOST_AUTO_TEST_CASE(device_refusing_a_setpoint_is_retried_and_confirmed_only_when_applied) {
    battery.fail_next_setpoints(3); // baseline at 0 s and 0.5 s, then the activation at 1 s fail; 0.5 s between tries
    cleori.activations.push_back(make("d-1", cleori::mfrr_direction::up, 60.0_kW, 1s, 600s));
    start();
    run(1min);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{1.5, -60.0}}));
    BOOST_TEST_REQUIRE(cleori.confirmations.size() == 1u);
    BOOST_TEST(since_t0(cleori.confirmations[0].at) == 1.5);
    BOOST_TEST(agent->counters().setpoint_failures == 3u);
}

BOOST_AUTO_TEST_CASE(stop_returns_to_baseline_at_once) {
    cleori.activations.push_back(make("s-1", cleori::mfrr_direction::up, 60.0_kW, 5s, 600s));
    std::vector<cleori::end_reason> ended;
    start();
    agent->hooks().on_activation_ended = [&](cleori::activation const&, cleori::end_reason r) { ended.push_back(r); };
    run(1min);
    cleori.down = true; // even with the network gone
    agent->stop();
    run(1min);
    BOOST_TEST(agent->stopped());
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}, {5.0, -60.0}, {60.0, 0.0}}));
    BOOST_TEST((ended == std::vector{cleori::end_reason::shutdown}));
    BOOST_TEST(clock.pending_timers() == 0u);
    // Every sample is accounted for: sent, or still unsent when the agent stopped.
    auto const k = agent->counters();
    BOOST_TEST(k.samples_abandoned == 0u); // the sample taken at 60 s left before Cleori went away
    BOOST_TEST(k.samples_sent + k.samples_evicted + k.samples_abandoned == k.samples_taken);
}

BOOST_AUTO_TEST_CASE(stop_tries_to_deliver_the_outbox_and_counts_what_is_left) {
    start();
    run(30s);
    cleori.down = true;
    run(20s); // 4 samples queue up
    agent->stop();
    run(1min);
    BOOST_TEST(agent->stopped());
    auto const k = agent->counters();
    BOOST_TEST(k.samples_abandoned == 4u);
    BOOST_TEST(k.samples_sent + k.samples_evicted + k.samples_abandoned == k.samples_taken);
    // With Cleori back, the same stop delivers them.
    cleori.down = false;
    start();
    run(30s);
    cleori.down = true;
    run(20s);
    cleori.down = false;
    agent->stop();
    run(1min);
    BOOST_TEST(agent->counters().samples_abandoned == 0u);
    BOOST_TEST(agent->counters().samples_sent == agent->counters().samples_taken);
}

BOOST_AUTO_TEST_CASE(token_rotation_without_restart_and_no_token_in_logs) {
    start();
    run(20s);
    cleori.token = "token-B"; // Cleori rotated it: 401 until the agent has the new one
    run(20s);
    agent->set_token("token-B");
    run(20s);
    BOOST_TEST(cleori.bearer_tokens.back() == "token-B");
    BOOST_TEST(agent->counters().poll_failures >= 1u);
    BOOST_TEST(!log.empty());
    for (auto const& line : log) {
        BOOST_TEST_REQUIRE(line.find("token-A") == std::string::npos, line);
        BOOST_TEST_REQUIRE(line.find("token-B") == std::string::npos, line);
    }
    // Samples taken during the 401s were kept and delivered.
    BOOST_TEST(agent->outbox_size() == 0u);
    BOOST_TEST(cleori.samples.size() == agent->counters().samples_taken);
}

BOOST_AUTO_TEST_CASE(status_is_a_snapshot_of_the_asset_for_monitoring) {
    cleori.activations.push_back(make("up-1", cleori::mfrr_direction::up, 60.0_kW, 12s, 600s));
    cleori.activations.push_back(make("later", cleori::mfrr_direction::down, 20.0_kW, 300s, 60s));
    start();
    run(20s + 1ms);
    auto s = agent->status();
    BOOST_TEST(s.started);
    BOOST_TEST(!s.stopped);
    BOOST_TEST(s.counters.polls == agent->counters().polls);
    BOOST_TEST(s.counters.samples_taken == 5u); // t = 0, 5, 10, 15, 20 s
    BOOST_TEST((s.last_poll_ok.value() == t0 + 20s));
    BOOST_TEST((s.last_telemetry_ack.value() == t0 + 20s));
    BOOST_TEST((s.last_reading.value() == t0 + 20s));
    BOOST_TEST(s.measured_power.value() == -60.0_kW); // discharging since 12.5 s
    BOOST_TEST(s.soc.value() < 50.0_pct);
    BOOST_TEST(s.commanded == -60.0_kW);
    BOOST_TEST(s.activations[static_cast<std::size_t>(cleori::activation_phase::executing)] == 1u);
    BOOST_TEST(s.activations[static_cast<std::size_t>(cleori::activation_phase::scheduled)] == 1u);
    BOOST_TEST(s.outbox_depth == 0u);
    BOOST_TEST(s.consecutive_auth_failures == 0u);
    // A token Cleori no longer accepts: every call answers 401, counted in a row.
    cleori.token = "token-B";
    run(20s);
    s = agent->status();
    BOOST_TEST(s.consecutive_auth_failures >= 8u); // 4 polls and 4 telemetry requests at least
    BOOST_TEST(s.last_auth_status == 401u);
    BOOST_TEST((s.last_poll_ok.value() == t0 + 20s)); // unchanged: no poll succeeded since
    BOOST_TEST(s.outbox_depth >= 4u);
    agent->set_token("token-B");
    run(10s);
    s = agent->status();
    BOOST_TEST(s.consecutive_auth_failures == 0u);
    BOOST_TEST(s.outbox_depth == 0u);
    agent->stop();
    run(10s);
    s = agent->status();
    BOOST_TEST(s.stopped);
    BOOST_TEST(s.commanded == 0.0_kW);
}

BOOST_AUTO_TEST_CASE(async_status_completes_on_the_executor_with_the_snapshot_of_that_moment) {
    start();
    run(10s + 1ms);
    std::optional<cleori::agent_status> got;
    agent->async_status([&](cleori::agent_status s) { got = std::move(s); });
    BOOST_TEST(!got.has_value()); // never inline: the caller may hold locks the completion takes
    io.restart();
    io.poll();
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(got->started);
    BOOST_TEST(got->counters.samples_taken == 3u); // t = 0, 5, 10 s
    BOOST_TEST(!got->stopping);
    // A deferred operation starts when it is launched.
    auto later = agent->async_status(asio::deferred);
    run(10s);
    got.reset();
    std::move(later)([&](cleori::agent_status s) { got = std::move(s); });
    io.restart();
    io.poll();
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(got->counters.samples_taken == 5u);
    // Taken when the agent's executor runs it, not when it was asked for:
    // a stop between the two shows in it.
    got.reset();
    agent->async_status([&](cleori::agent_status s) { got = std::move(s); });
    agent->stop();
    io.restart();
    io.poll();
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(got->stopping);
}

BOOST_AUTO_TEST_CASE(set_token_during_a_poll_in_flight_is_safe) {
    // Tokens longer than the small-string buffer live on the heap, so a view
    // kept across the poll's suspension would read freed memory (ASan).
    std::string const first(64, 'A'), second(64, 'B');
    cleori.token = first;
    start({.token = first});
    // The first poll and telemetry are in flight (answered through post):
    // rotate now, before they run.
    agent->set_token(second);
    cleori.token = second;
    run(1ms);
    BOOST_TEST_REQUIRE(cleori.bearer_tokens.size() >= 2u);
    BOOST_TEST(cleori.bearer_tokens[0] == first); // requests started before the rotation keep their token
    BOOST_TEST(agent->counters().poll_failures == 1u);
    run(10s);
    BOOST_TEST(cleori.bearer_tokens.back() == second);
    BOOST_TEST(agent->counters().polls >= 2u);
}

BOOST_AUTO_TEST_CASE(invalid_activations_are_reported_not_executed) {
    cleori.activations.push_back(make("bad", cleori::mfrr_direction::up, 60.0_kW, 5s, 60s));
    cleori.activations.back().end_time = cleori.activations.back().start_time - 1s; // ends before it starts
    start(); // its first poll sees it
    run(30s);
    BOOST_TEST(agent->counters().activations_invalid >= 1u);
    BOOST_TEST_CONTEXT("commands: " << commands()) BOOST_TEST(commands() == cmd({{0.0, 0.0}}));
    bool named = false;
    for (auto const& line : log) named = named || line.find("activation bad is invalid") != std::string::npos;
    BOOST_TEST(named);
}

// A device that reports only some values, or configured ratings.
struct partial_battery {
    static constexpr cleori::battery_ratings ratings = fixture::battery_type::ratings;
    int n = 0;
    void async_read_state(auto h) {
        ++n; // power only, soc only, neither, then an absurd soc (dropped from the sample)
        cleori::battery_state s;
        if (n % 4 == 1) s.power = -5.0_kW;
        if (n % 4 == 2) s.soc = 40.0_pct;
        if (n % 4 == 0) s = {.power = 1.0_kW, .soc = cleori::percent{250.0}};
        h(boost::system::error_code{}, s);
    }
    void async_apply_setpoint(cleori::kilowatts, auto h) { h(boost::system::error_code{}); }
};

BOOST_AUTO_TEST_CASE(partial_readings_become_partial_samples) {
    partial_battery device;
    cleori::basic_agent<partial_battery, cleori::testing::memory_transport, cleori::test::virtual_time> a{
        device, transport, {.token = "token-A"}, clock};
    BOOST_TEST_REQUIRE(a.start().has_value());
    run(15s); // readings at 0, 5, 10, 15 s
    BOOST_TEST_REQUIRE(cleori.samples.size() == 3u);
    BOOST_TEST((cleori.samples[0].sample.power == -5.0_kW && !cleori.samples[0].sample.soc));
    BOOST_TEST((!cleori.samples[1].sample.power && cleori.samples[1].sample.soc == 40.0_pct));
    BOOST_TEST((cleori.samples[2].sample.power == 1.0_kW && !cleori.samples[2].sample.soc));
    BOOST_TEST(a.counters().sample_read_failures == 1u); // the reading with neither value
    a.stop();
    run(1s);
}

struct configured_battery {
    cleori::battery_ratings configured;
    cleori::battery_ratings ratings() const { return configured; }
    void async_read_state(auto h) { h(boost::system::error_code{}, cleori::battery_state{0.0_kW, 50.0_pct}); }
    void async_apply_setpoint(cleori::kilowatts, auto h) { h(boost::system::error_code{}); }
};

BOOST_AUTO_TEST_CASE(ratings_from_configuration_are_checked_at_start) {
    auto r = cleori::reference_battery::ratings;
    r.capacity = 80.0_kWh;
    configured_battery small{r};
    cleori::basic_agent<configured_battery, cleori::testing::memory_transport, cleori::test::virtual_time> a{
        small, transport, {.token = "token-A"}, clock};
    auto started = a.start();
    BOOST_TEST_REQUIRE(!started.has_value());
    BOOST_TEST(started.error() == make_error_code(cleori::error::ratings_below_mfrr_minimum));
    configured_battery ok{cleori::reference_battery::ratings};
    cleori::basic_agent<configured_battery, cleori::testing::memory_transport, cleori::test::virtual_time> b{
        ok, transport, {.token = "token-A"}, clock};
    BOOST_TEST(b.start().has_value());
    b.stop();
    run(1s);
}

// A device that answers 100 ms later, like one behind a PLC.
struct posting_battery {
    static constexpr cleori::battery_ratings ratings = fixture::battery_type::ratings;
    fixture::battery_type& plant;
    cleori::manual_clock clock;
    asio::any_io_executor ex;
    template <class F>
    void later(F f) {
        auto t = std::make_shared<cleori::manual_timer>(clock.make_timer(ex));
        t->expires_after(100ms);
        t->async_wait([t, f](boost::system::error_code) mutable { f(); });
    }
    void async_read_state(auto h) {
        later([this, h]() mutable { plant.async_read_state(h); });
    }
    void async_apply_setpoint(cleori::kilowatts p, auto h) {
        later([this, p, h]() mutable { plant.async_apply_setpoint(p, h); });
    }
};

BOOST_AUTO_TEST_CASE(an_asynchronous_device_is_assessed_with_a_fresh_soc) {
    // The first poll answers before the first reading: the agent must read
    // the SoC before it assesses, not refuse for "soc unknown".
    posting_battery device{battery, clock, io.get_executor()};
    cleori.activations.push_back(make("async", cleori::mfrr_direction::up, 60.0_kW, 10s, 60s));
    cleori::basic_agent<posting_battery, cleori::testing::memory_transport, cleori::test::virtual_time> a{
        device, transport, {.token = "token-A"}, clock};
    BOOST_TEST_REQUIRE(a.start().has_value());
    run(2min);
    BOOST_TEST(a.counters().activations_refused == 0u);
    BOOST_TEST(commands() == cmd({{0.2, 0.0}, {10.1, -60.0}, {70.1, 0.0}})); // each command takes 100 ms to arrive
    BOOST_TEST(cleori.confirmations_of("async") == 1u);
    a.stop();
    run(1s);
    BOOST_TEST(a.stopped());
}

BOOST_AUTO_TEST_SUITE_END()
