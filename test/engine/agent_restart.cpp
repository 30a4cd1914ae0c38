// Restart safety in virtual time: an agent with a `file_store` is "killed"
// (its io_context is never run again, and the journal is copied as it is on
// disk at that instant, which is what SIGKILL leaves), and a new agent starts
// from the copy. The crash test over real processes is test/net/crash.cpp.
#include <cleori/engine/agent.hpp>

#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/store/file_store.hpp>

#include <cleori/testing/fake_cleori.hpp>
#include <cleori/testing/memory_transport.hpp>
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();

// The file_store, whose next activation record can take a while of virtual
// time to write (a slow disk: an fsync on a busy SD card).
struct slow_journal {
    cleori::file_store file;
    cleori::manual_clock clock;
    std::optional<cleori::mono_time::duration>* stall;

    cleori::result<cleori::store_image> load() { return file.load(); }
    cleori::result<void> append(cleori::store_record const& r) {
        auto kept = file.append(r);
        if (*stall && std::holds_alternative<cleori::activation_changed>(r)) {
            clock.advance(**stall);
            stall->reset();
        }
        return kept;
    }
};

struct journaled_virtual_time : cleori::default_policies {
    using clock = cleori::manual_clock;
    using store = slow_journal;
};

struct restart_fixture {
    using battery_type = cleori::basic_simulated_battery<cleori::manual_clock>;
    using agent_type = cleori::basic_agent<battery_type, cleori::testing::memory_transport, journaled_virtual_time>;

    // One life of the agent: its own io_context, transport and agent.
    struct life {
        asio::io_context io;
        cleori::testing::memory_transport transport;
        std::optional<agent_type> agent;
        std::vector<std::string> log;
        explicit life(cleori::testing::fake_cleori& c)
            : transport{io.get_executor(), [&c](cleori::http_request const& r) { return c(r); }} {}
    };

    ~restart_fixture() {
        // Drain every life's pending waits (see the manual clock's lifetime rule).
        for (auto& l : lives) {
            if (l->agent) l->agent->stop();
            clock.run_for(l->io, 1h);
        }
    }

    cleori::test::temp_dir dir;
    cleori::manual_clock clock{t0};
    cleori::testing::fake_cleori cleori{clock};
    battery_type battery{clock, 50.0_pct}; // the physical battery outlives every agent
    std::vector<std::unique_ptr<life>> lives;
    int journals = 0;
    std::optional<cleori::mono_time::duration> next_stall; // of the next activation record written

    // Starts an agent on `journal`.
    life& boot(std::filesystem::path const& journal, cleori::agent_config config = {.token = "token-A"}) {
        auto& l = *lives.emplace_back(std::make_unique<life>(cleori));
        auto store = cleori::file_store::open(journal);
        BOOST_TEST_REQUIRE(store.has_value(), store.error().message());
        l.agent.emplace(battery, l.transport, std::move(config), clock, cleori::default_retry{},
                        slow_journal{std::move(*store), clock, &next_stall});
        l.agent->set_logger([&l](cleori::log_level, std::string_view line) { l.log.emplace_back(line); });
        auto started = l.agent->start();
        BOOST_TEST_REQUIRE(started.has_value(), started.error().message());
        return l;
    }
    // What SIGKILL leaves: the journal's bytes at this instant; the agent never runs again.
    std::filesystem::path crash(std::filesystem::path const& journal) {
        auto copy = dir / ("after-crash-" + std::to_string(++journals));
        std::filesystem::copy_file(journal, copy);
        return copy;
    }
    void run(life& l, cleori::mono_time::duration d) { clock.run_for(l.io, d); }
    cleori::activation make(std::string id, cleori::kilowatts kw, std::chrono::seconds start_in, std::chrono::seconds length) {
        return {.id = std::move(id), .direction = cleori::mfrr_direction::up, .power = kw,
                .start_time = clock.wall_now() + start_in, .end_time = clock.wall_now() + start_in + length,
                .status = cleori::activation_status::pending};
    }
    std::vector<double> setpoints_since(cleori::timestamp from) const {
        std::vector<double> out;
        for (auto const& c : battery.commands())
            if (c.time >= from) out.push_back(c.setpoint.in_kw());
        return out;
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_agent_restart, restart_fixture)

BOOST_AUTO_TEST_CASE(unsent_samples_owed_confirmation_and_the_running_activation_survive) {
    cleori.activations.push_back(make("r-1", 60.0_kW, 30s, 600s)); // 30 s .. 630 s
    cleori.fail_confirms = 1000; // Cleori takes telemetry but not the confirmation
    auto& first = boot(dir / "journal");
    run(first, 60s);
    BOOST_TEST(battery.commanded() == -60.0_kW);
    cleori.down = true; // from 60 s nothing reaches Cleori
    run(first, 120s);
    auto const taken = first.agent->counters().samples_taken; // 0, 5, …, 180 s
    auto const sent = first.agent->counters().samples_sent;
    BOOST_TEST(taken == 37u);
    BOOST_TEST(first.agent->outbox_size() == taken - sent);

    auto const crashed_at = clock.wall_now();
    auto const journal = crash(dir / "journal");
    clock.advance(2s); // the process restarts in 2 s
    auto& second = boot(journal);
    auto k = second.agent->counters();
    BOOST_TEST(k.samples_restored == taken - sent);
    BOOST_TEST(k.activations_restored == 1u);
    BOOST_TEST(k.confirmations_restored == 1u);
    run(second, 0s);
    // The battery is told to keep delivering at once, without waiting for a poll.
    BOOST_TEST(setpoints_since(crashed_at) == std::vector<double>({-60.0}), "setpoints after the restart");

    cleori.down = false;
    cleori.fail_confirms = 0;
    run(second, 10min);
    k = second.agent->counters(); // a copy: taken again after the run
    // The activation ran to its end, once: never applied again, confirmed once, baseline at 630 s.
    BOOST_TEST(k.activations_applied == 0u);
    BOOST_TEST(cleori.confirmations_of("r-1") == 1u);
    BOOST_TEST(cleori.confirmations.at(0).c.setpoint.value() == -60.0_kW);
    BOOST_TEST((battery.commands().back().time == t0 + 630s));
    BOOST_TEST(battery.commanded() == 0.0_kW);
    // Every sample either life took arrived exactly once.
    std::set<cleori::timestamp> times;
    for (auto const& s : cleori.samples)
        BOOST_TEST(times.insert(s.sample.time).second, "sample of " << cleori::to_rfc3339(s.sample.time) << " arrived twice");
    BOOST_TEST(cleori.samples.size() == taken + k.samples_taken);
    BOOST_TEST(second.agent->outbox_size() == 0u);
    bool logged = false;
    for (auto const& line : second.log)
        logged |= line.find("restored from the store: 24 unsent samples, 1 activations, 1 owed confirmations") == 0;
    BOOST_TEST(logged);
}

BOOST_AUTO_TEST_CASE(samples_a_shorter_outbox_evicts_at_restart_are_released_from_the_journal) {
    cleori.down = true; // nothing reaches Cleori: every sample stays in the journal
    auto& first = boot(dir / "journal");
    run(first, 180s);
    auto const unsent = first.agent->outbox_size();
    BOOST_TEST_REQUIRE(unsent == first.agent->counters().samples_taken);
    auto const journal = crash(dir / "journal");

    // Restarted with a one-minute outbox (13 samples at 5 s): the oldest go.
    cleori::agent_config const short_outbox{.token = "token-A", .outbox_span = std::chrono::minutes(1)};
    std::size_t dropped = 0;
    auto& second = boot(journal, short_outbox);
    auto const k = second.agent->counters();
    BOOST_TEST(k.samples_restored == unsent);
    BOOST_TEST(second.agent->outbox_size() == 13u);
    BOOST_TEST(k.samples_evicted == unsent - 13);
    // Killed before it runs: the third life reads back only what the second kept.
    auto const again = crash(journal);
    auto& third = boot(again, short_outbox);
    third.agent->hooks().on_telemetry_dropped = [&](std::size_t n) { dropped += n; };
    BOOST_TEST(third.agent->counters().samples_restored == 13u);
    BOOST_TEST(third.agent->counters().samples_evicted == 0u);
    BOOST_TEST(third.agent->outbox_size() == 13u);
    cleori.down = false;
    run(third, 30s);
    BOOST_TEST(dropped == 0u);
    auto const k3 = third.agent->counters();
    BOOST_TEST(k3.samples_sent >= 13u); // the back-fill went
    BOOST_TEST(k3.samples_sent + third.agent->outbox_size() == 13u + k3.samples_taken);
}

BOOST_AUTO_TEST_CASE(an_activation_that_ended_while_the_agent_was_dead_is_not_resumed) {
    cleori.activations.push_back(make("short", 60.0_kW, 10s, 60s)); // 10 s .. 70 s
    auto& first = boot(dir / "journal");
    run(first, 30s);
    BOOST_TEST(battery.commanded() == -60.0_kW);
    auto const journal = crash(dir / "journal");
    clock.advance(90s); // dead from 30 s to 120 s: the battery keeps its last setpoint
    auto const restarted_at = clock.wall_now();
    auto& second = boot(journal);
    run(second, 0s);
    // Baseline the moment it is back: never the activation's power again.
    BOOST_TEST(setpoints_since(restarted_at) == std::vector<double>({0.0}), "setpoints after the restart");
    BOOST_TEST_REQUIRE(second.agent->activations().size() == 1u);
    BOOST_TEST((second.agent->activations()[0].ended == cleori::end_reason::completed));
    run(second, 5min);
    BOOST_TEST(setpoints_since(restarted_at) == std::vector<double>({0.0}));
    BOOST_TEST(cleori.confirmations_of("short") == 1u);
}

BOOST_AUTO_TEST_CASE(a_journal_write_that_outlasts_the_window_sends_no_power_after_it) {
    cleori.activations.push_back(make("edge", 60.0_kW, 10s, 30s)); // 10 s .. 40 s
    auto& only = boot(dir / "journal");
    run(only, 33s);
    BOOST_TEST(battery.commanded() == -60.0_kW);
    cleori.activations.front().power = 80.0_kW; // modified: seen by the poll at 35 s,
    next_stall = 6s;                            // whose journal write takes 6 s
    run(only, 10s);
    // The agent decided at 35 s to go to -80 kW and got to the battery at
    // 41 s: that command is withdrawn, and the battery goes to baseline.
    auto const end = t0 + 40s;
    for (auto const& c : battery.commands())
        if (c.time >= end)
            BOOST_TEST(c.setpoint.in_kw() == 0.0, c.setpoint.in_kw() << " kW at " << cleori::to_rfc3339(c.time));
    BOOST_TEST(only.agent->counters().commands_withdrawn == 1u);
    BOOST_TEST(only.agent->counters().setpoint_failures == 0u);
    BOOST_TEST((battery.commands().back().time == t0 + 41s));
    BOOST_TEST(battery.commanded() == 0.0_kW);
    BOOST_TEST(cleori.confirmations_of("edge") == 1u);
}

BOOST_AUTO_TEST_CASE(a_refusal_survives_and_is_not_reconsidered) {
    // 500 kW for an hour is far beyond a 200 kWh battery: refused.
    cleori.activations.push_back(make("big", 500.0_kW, 60s, 3600s));
    cleori.fail_confirms = 1000;
    auto& first = boot(dir / "journal");
    run(first, 20s);
    BOOST_TEST(first.agent->counters().activations_refused == 1u);
    auto& second = boot(crash(dir / "journal"));
    cleori.fail_confirms = 0;
    run(second, 5min);
    BOOST_TEST(second.agent->counters().confirmations_restored == 1u);
    BOOST_TEST(second.agent->counters().activations_received == 0u); // known already: not assessed again
    BOOST_TEST(cleori.confirmations_of("big") == 1u);
    BOOST_TEST((cleori.confirmations.at(0).c.status == cleori::confirmation_status::unavailable));
    BOOST_TEST(cleori.confirmations.at(0).c.reason.value().find("insufficient energy") == 0u);
    BOOST_TEST(battery.commanded() == 0.0_kW);
}

BOOST_AUTO_TEST_CASE(the_journal_refuses_a_second_agent_while_the_first_holds_it) {
    auto& first = boot(dir / "journal");
    run(first, 10s);
    auto again = cleori::file_store::open(dir / "journal");
    BOOST_TEST_REQUIRE(!again.has_value());
    BOOST_TEST(again.error().message() == std::string("Resource temporarily unavailable"));
}

BOOST_AUTO_TEST_SUITE_END()
