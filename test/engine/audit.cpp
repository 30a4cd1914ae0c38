// The settlement audit trail: the records the core emits through on_audit,
// checked with the whole agent in virtual time (simulated battery, in-memory
// Cleori, manual clock), their energy accounts against the plant, and the
// JSON Lines file with its rotation.
#include <cleori/engine/audit.hpp>

#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/engine/agent.hpp>
#include <cleori/engine/audit_log.hpp>

#include "support/temp_dir.hpp"
#include "support/virtual_site.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <tuple>
#include <set>
#include <sstream>
#include "support/policies.hpp"

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace tt = boost::test_tools;

namespace {

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();

// The reference battery's one-way efficiency: √90 %.
double const eta = std::sqrt(0.9);

struct names : std::vector<std::string> {
    using vector::vector;
    friend std::ostream& operator<<(std::ostream& os, names const& n) {
        for (auto const& s : n) os << s << ' ';
        return os;
    }
};

struct fixture : cleori::test::virtual_site {
    using agent_type = cleori::basic_agent<battery_type, cleori::testing::memory_transport, cleori::test::virtual_time>;

    fixture() : virtual_site(t0) {}
    ~fixture() {
        if (agent) agent->stop();
        clock.run_for(io, std::chrono::hours(1));
    }

    // Before the agent: its stop (in the destructor) still writes records.
    std::vector<cleori::audit_record> records;
    std::vector<cleori::timestamp> emitted_at; // the wall time each record was handed over
    cleori::test::temp_dir dir;
    std::optional<cleori::audit_log> file;
    std::optional<agent_type> agent;

    agent_type& start(cleori::agent_config c = {.token = "token-A"}) {
        agent.emplace(battery, transport, std::move(c), clock);
        agent->hooks().on_audit = [this](cleori::audit_record const& r) {
            records.push_back(r);
            emitted_at.push_back(clock.wall_now());
            if (file) (*file)(r);
        };
        auto started = agent->start();
        BOOST_TEST_REQUIRE(started.has_value(), started.error().message());
        return *agent;
    }
    std::vector<cleori::audit_record> of(std::string const& id) const {
        std::vector<cleori::audit_record> out;
        for (auto const& r : records)
            if (r.activation == id) out.push_back(r);
        return out;
    }
    static names events(std::vector<cleori::audit_record> const& rs) {
        names out;
        for (auto const& r : rs) out.emplace_back(cleori::to_string(r.event()));
        return out;
    }
    // The one record of this kind for `id` (the test fails if there is not exactly one).
    template <class T>
    T only(std::string const& id) const {
        std::vector<T> found;
        for (auto const& r : records)
            if (r.activation == id)
                if (auto const* d = std::get_if<T>(&r.data)) found.push_back(*d);
        BOOST_TEST_REQUIRE(found.size() == 1u);
        return found.front();
    }
};

double seconds(cleori::timestamp t) { return std::chrono::duration<double>(t - t0).count(); }

std::vector<std::string> lines_of(std::filesystem::path const& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}
std::string contents_of(std::filesystem::path const& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_audit, fixture)

BOOST_AUTO_TEST_CASE(a_full_lifecycle_is_recorded_in_order_with_its_numbers) {
    cleori.activations.push_back(make("up-1", cleori::mfrr_direction::up, 60.0_kW, 32s, 90s));
    start();
    run(58s);
    cleori.activations[0].power = 80.0_kW; // seen by the poll at 60 s
    run(2min);

    auto const rs = of("up-1");
    BOOST_TEST(events(rs) == names({"received", "assessed", "commanded", "confirmed", "modified", "assessed",
                                    "commanded", "ended"}),
               tt::per_element());
    BOOST_TEST_REQUIRE(rs.size() == 8u);
    std::vector<double> const at{0, 0, 32, 32, 60, 60, 60, 122};
    for (std::size_t i = 0; i < rs.size(); ++i) BOOST_TEST(seconds(rs[i].time) == at[i], "record " << i);

    auto const& rec = std::get<cleori::audit_received>(rs[0].data);
    BOOST_TEST((rec.direction == cleori::mfrr_direction::up));
    BOOST_TEST(rec.power == 60.0_kW);
    BOOST_TEST((rec.start == t0 + 32s));
    BOOST_TEST((rec.end == t0 + 122s));
    BOOST_TEST((rec.status == cleori::activation_status::pending));

    // Decided on the first reading: 50 % of 200 kWh, min_soc 5 %.
    auto const& first = std::get<cleori::audit_assessed>(rs[1].data);
    BOOST_TEST(first.feasible);
    BOOST_TEST(!first.resumed);
    BOOST_TEST(first.requested == -60.0_kW);
    BOOST_TEST(first.share == -60.0_kW);
    BOOST_TEST(first.headroom == 100.0_kW);
    BOOST_TEST(first.soc.value() == 50.0_pct);
    BOOST_TEST(first.energy_needed.value().in_kwh() == 60.0 * 90 / 3600, tt::tolerance(1e-9));
    BOOST_TEST(first.energy_available.value().in_kwh() == 0.45 * 200 * eta, tt::tolerance(1e-9));
    BOOST_TEST(first.reason.empty());

    auto const& cmd = std::get<cleori::audit_commanded>(rs[2].data);
    BOOST_TEST(cmd.share == -60.0_kW);
    BOOST_TEST(cmd.setpoint == -60.0_kW);

    auto const& conf = std::get<cleori::audit_confirmed>(rs[3].data);
    BOOST_TEST((conf.sent.status == cleori::confirmation_status::executing));
    BOOST_TEST(conf.sent.setpoint.value() == -60.0_kW);
    BOOST_TEST((conf.answer == cleori::confirmation_answer::acknowledged));
    BOOST_TEST(conf.http_status == 0u);

    auto const& mod = std::get<cleori::audit_modified>(rs[4].data);
    BOOST_TEST(mod.power == 80.0_kW);
    BOOST_TEST((mod.end == t0 + 122s));
    auto const& again = std::get<cleori::audit_assessed>(rs[5].data);
    BOOST_TEST(again.feasible);
    BOOST_TEST(again.share == -80.0_kW);
    BOOST_TEST(again.energy_needed.value().in_kwh() == 80.0 * 62 / 3600, tt::tolerance(1e-9));
    BOOST_TEST(std::get<cleori::audit_commanded>(rs[6].data).setpoint == -80.0_kW);

    auto const& end = std::get<cleori::audit_ended>(rs[7].data);
    BOOST_TEST((end.reason == cleori::end_reason::completed));
    BOOST_TEST(!end.refused);
    BOOST_TEST(seconds(end.window_start) == 32.0);
    BOOST_TEST(seconds(end.window_end) == 122.0);
    // Requested: 60 kW for 28 s, then 80 kW for 62 s.
    BOOST_TEST(end.requested_kwh.in_kwh() == -(60.0 * 28 + 80.0 * 62) / 3600, tt::tolerance(1e-9));
    // Delivered, from the readings every 5 s (0 kW at 30 s, −60 kW from 35 s,
    // −80 kW from 65 s, 0 kW at 125 s), trapezoidal, interpolated at 32 s and
    // 122 s: 126 + 1500 + 350 + 4400 + 128 kWs.
    BOOST_TEST(end.delivered_kwh.in_kwh() == -6504.0 / 3600, tt::tolerance(1e-9));
    // The plant itself gave 60 kW over [32.5, 60.5) and 80 kW over [60.5, 122): within 2 %.
    BOOST_TEST(end.delivered_kwh.in_kwh() == -(60.0 * 28 + 80.0 * 61.5) / 3600, tt::tolerance(0.02));
    BOOST_TEST(end.samples == 20u); // the readings at 30, 35, … 125 s
    // Emitted once the reading at 125 s closed the window.
    for (std::size_t i = 0; i < records.size(); ++i)
        if (records[i].activation == "up-1" && records[i].event() == cleori::audit_event::ended)
            BOOST_TEST(seconds(emitted_at[i]) == 125.0);
}

BOOST_AUTO_TEST_CASE(delivered_energy_of_ten_minutes_at_100_kw_matches_the_battery) {
    cleori.activations.push_back(make("up-10", cleori::mfrr_direction::up, 100.0_kW, 32s, 600s));
    start();
    run(20s);
    auto const soc_before = battery.soc();
    run(12min);
    auto const end = only<cleori::audit_ended>("up-10");
    // Requested: 100 kW × 600 s = 16.667 kWh exported. The plant follows
    // 500 ms late: 100 kW over [32.5 s, 632 s) of the window, 599.5 s, 16.653 kWh.
    BOOST_TEST(end.requested_kwh.in_kwh() == -100.0 * 600 / 3600, tt::tolerance(1e-9));
    double const expected = -100.0 * 599.5 / 3600;
    BOOST_TEST(end.delivered_kwh.in_kwh() == expected, tt::tolerance(0.01));
    // The battery's own account: what left its store, times the discharge
    // efficiency, is what reached the grid (all of it, the last 0.5 s included).
    double const exported = (battery.soc() - soc_before).in_pct() / 100 * 200 * eta;
    BOOST_TEST(exported == -100.0 * 600 / 3600, tt::tolerance(1e-6));
    BOOST_TEST(end.delivered_kwh.in_kwh() == exported, tt::tolerance(0.01));
    BOOST_TEST(end.samples == 122u); // 30, 35, … 635 s
}

BOOST_AUTO_TEST_CASE(overlapping_activations_share_the_measured_energy_in_proportion_to_their_requests) {
    // a asks for 60 kW up, b for 90 kW up and gets the 40 kW the device has
    // left. Over the overlap the plant gives 100 kW: 60/150 of it is a's and
    // 90/150 b's (by request, not by share, not half each).
    cleori.activations.push_back(make("a", cleori::mfrr_direction::up, 60.0_kW, 32s, 600s));
    cleori.activations.push_back(make("b", cleori::mfrr_direction::up, 90.0_kW, 332s, 600s));
    start();
    run(20min);
    auto const b_assessed = only<cleori::audit_assessed>("b");
    BOOST_TEST(b_assessed.feasible);
    BOOST_TEST(b_assessed.requested == -90.0_kW);
    BOOST_TEST(b_assessed.share == -40.0_kW);
    BOOST_TEST(b_assessed.headroom == 40.0_kW);

    auto const a = only<cleori::audit_ended>("a");
    auto const b = only<cleori::audit_ended>("b");
    BOOST_TEST(a.requested_kwh.in_kwh() == -60.0 * 600 / 3600, tt::tolerance(1e-9));
    BOOST_TEST(b.requested_kwh.in_kwh() == -90.0 * 600 / 3600, tt::tolerance(1e-9));
    // a: 60 kW alone for 300 s, then 40 % of 100 kW for 300 s.
    BOOST_TEST(a.delivered_kwh.in_kwh() == -(60.0 * 300 + 40.0 * 300) / 3600, tt::tolerance(0.01));
    // b: 60 % of 100 kW for 300 s, then its 40 kW alone for 300 s.
    BOOST_TEST(b.delivered_kwh.in_kwh() == -(60.0 * 300 + 40.0 * 300) / 3600, tt::tolerance(0.01));
    // Nothing is counted twice or lost: together they are what the plant gave.
    BOOST_TEST(a.delivered_kwh.in_kwh() + b.delivered_kwh.in_kwh() == -(60.0 * 300 + 100.0 * 300 + 40.0 * 300) / 3600,
               tt::tolerance(0.01));
}

BOOST_AUTO_TEST_CASE(opposite_directions_are_attributed_by_the_same_signed_rule) {
    // 60 kW up beside 20 kW down: the plant gives −40 kW; a's part is
    // −60/−40 of it and d's 20/−40, so each is credited with its own request.
    cleori.activations.push_back(make("u", cleori::mfrr_direction::up, 60.0_kW, 32s, 600s));
    cleori.activations.push_back(make("d", cleori::mfrr_direction::down, 20.0_kW, 332s, 300s));
    start();
    run(20min);
    auto const u = only<cleori::audit_ended>("u");
    auto const d = only<cleori::audit_ended>("d");
    BOOST_TEST(u.delivered_kwh.in_kwh() == -60.0 * 600 / 3600, tt::tolerance(0.01));
    BOOST_TEST(d.delivered_kwh.in_kwh() == 20.0 * 300 / 3600, tt::tolerance(0.01));
    BOOST_TEST(u.delivered_kwh.in_kwh() + d.delivered_kwh.in_kwh() == -(60.0 * 300 + 40.0 * 300) / 3600,
               tt::tolerance(0.01));
}

BOOST_AUTO_TEST_CASE(a_refused_activation_is_assessed_with_its_reason_and_ended_refused) {
    battery = battery_type{clock, 10.0_pct}; // 20 kWh stored, min_soc 5 %
    cleori.activations.push_back(make("too-long", cleori::mfrr_direction::up, 100.0_kW, 60s, 3600s));
    start();
    run(2min);
    auto const rs = of("too-long");
    BOOST_TEST(events(rs) == names({"received", "assessed", "ended", "confirmed"}), tt::per_element());

    auto const v = only<cleori::audit_assessed>("too-long");
    BOOST_TEST(!v.feasible);
    BOOST_TEST(v.soc.value() == 10.0_pct);
    BOOST_TEST(v.energy_needed.value().in_kwh() == 100.0, tt::tolerance(1e-9));
    BOOST_TEST(v.energy_available.value().in_kwh() == 0.05 * 200 * eta, tt::tolerance(1e-9)); // 9.49 kWh
    BOOST_TEST(v.reason.find("insufficient energy: discharging 100.0 kW for 3600 s needs 100.0 kWh") == 0u, v.reason);

    auto const e = only<cleori::audit_ended>("too-long");
    BOOST_TEST(e.refused);
    BOOST_TEST((e.reason == cleori::end_reason::infeasible));
    BOOST_TEST(e.why == v.reason);
    BOOST_TEST(e.requested_kwh.in_kwh() == 0.0); // refused before its start: an empty window
    BOOST_TEST(e.delivered_kwh.in_kwh() == 0.0);
    BOOST_TEST(e.samples == 0u);

    auto const c = only<cleori::audit_confirmed>("too-long");
    BOOST_TEST((c.sent.status == cleori::confirmation_status::unavailable));
    BOOST_TEST(c.sent.reason.value() == v.reason);
    BOOST_TEST((c.answer == cleori::confirmation_answer::acknowledged));
    BOOST_TEST(of("too-long").size() == 4u); // never commanded
}

BOOST_AUTO_TEST_CASE(failed_confirmations_are_recorded_with_the_status) {
    cleori.fail_confirms = 20; // more than the client's own retries: the core sees failures
    cleori.activations.push_back(make("c-1", cleori::mfrr_direction::up, 60.0_kW, 5s, 600s));
    start();
    run(3min);
    std::vector<cleori::audit_confirmed> answers;
    for (auto const& r : of("c-1"))
        if (auto const* c = std::get_if<cleori::audit_confirmed>(&r.data)) answers.push_back(*c);
    BOOST_TEST_REQUIRE(answers.size() >= 2u);
    BOOST_TEST(answers.size() == agent->counters().confirmation_failures + 1);
    for (std::size_t i = 0; i + 1 < answers.size(); ++i) {
        BOOST_TEST((answers[i].answer == cleori::confirmation_answer::failed));
        BOOST_TEST(answers[i].http_status == 503u);
        BOOST_TEST(!answers[i].detail.empty());
        BOOST_TEST((answers[i].sent.status == cleori::confirmation_status::executing));
    }
    BOOST_TEST((answers.back().answer == cleori::confirmation_answer::acknowledged));
    BOOST_TEST(answers.back().detail.empty());
}

BOOST_AUTO_TEST_CASE(stop_and_a_silent_device_still_close_every_account) {
    cleori.activations.push_back(make("s-1", cleori::mfrr_direction::up, 50.0_kW, 10s, 50s));
    cleori.activations.push_back(make("s-2", cleori::mfrr_direction::down, 40.0_kW, 120s, 3600s));
    start();
    run(58s);
    battery.fail_next_reads(1000); // no reading closes s-1's window at 60 s
    run(20s);
    BOOST_TEST((of("s-1").back().event() != cleori::audit_event::ended));
    run(20s); // soc_max_age (30 s) after the end: the last reading (−50 kW at 55 s) is held to 60 s
    auto const s1 = only<cleori::audit_ended>("s-1");
    // Readings 0 kW at 10 s, −50 kW from 15 s to 55 s, then held: 125 + 2000 + 250 kWs.
    BOOST_TEST(s1.delivered_kwh.in_kwh() == -2375.0 / 3600, tt::tolerance(1e-9));
    BOOST_TEST(s1.delivered_kwh.in_kwh() == -50.0 * 49.5 / 3600, tt::tolerance(0.05)); // the plant's
    for (std::size_t i = 0; i < records.size(); ++i)
        if (records[i].activation == "s-1" && records[i].event() == cleori::audit_event::ended) {
            BOOST_TEST(seconds(records[i].time) == 60.0);
            BOOST_TEST(seconds(emitted_at[i]) == 90.0);
        }
    battery = battery_type{clock, 50.0_pct};
    run(100s); // s-2 runs from 120 s at +40 kW
    agent->stop();
    auto const s2 = only<cleori::audit_ended>("s-2");
    BOOST_TEST((s2.reason == cleori::end_reason::shutdown));
    BOOST_TEST(seconds(s2.window_end) == 198.0);
    BOOST_TEST(s2.requested_kwh.in_kwh() == 40.0 * 78 / 3600, tt::tolerance(1e-9));
    // Readings 0 kW at 120 s, +40 kW from 125 s to 195 s, held to 198 s: 100 + 2800 + 120 kWs.
    BOOST_TEST(s2.delivered_kwh.in_kwh() == 3020.0 / 3600, tt::tolerance(1e-9));
    BOOST_TEST(s2.delivered_kwh.in_kwh() == 40.0 * 77.5 / 3600, tt::tolerance(0.05)); // the plant's
}

BOOST_AUTO_TEST_CASE(every_event_survives_a_line) {
    cleori.activations.push_back(make("rt-1", cleori::mfrr_direction::up, 60.0_kW, 32s, 90s));
    cleori.activations.push_back(make("rt-2", cleori::mfrr_direction::down, 100.0_kW, 10s, std::nullopt));
    cleori.fail_confirms = 1;
    start();
    run(40s);
    cleori.activations[0].power = 70.0_kW;
    run(2min);
    agent->stop();
    run(1min);
    std::set<cleori::audit_event> seen;
    for (auto const& r : records) {
        std::string line;
        cleori::encode_audit_record(r, line);
        BOOST_TEST_REQUIRE(line.find('\n') == std::string::npos);
        std::string why;
        auto back = cleori::decode_audit_record(line, &why);
        BOOST_TEST_REQUIRE(back.has_value(), line << ": " << why);
        std::string again;
        cleori::encode_audit_record(*back, again);
        // Every field came back as it went (numbers to the last digit or two:
        // Boost.JSON 1.81 may read a double one unit in the last place off).
        auto const x = boost::json::parse(line).as_object();
        auto const y = boost::json::parse(again).as_object();
        BOOST_TEST_REQUIRE(x.size() == y.size(), line);
        for (auto const& [key, value] : x) {
            auto const* other = y.if_contains(key);
            BOOST_TEST_REQUIRE(other, line << ": " << key);
            if (value.is_number() && other->is_number())
                BOOST_TEST(value.to_number<double>() == other->to_number<double>(), tt::tolerance(1e-12));
            else
                BOOST_TEST((value == *other), line << ": " << key);
        }
        seen.insert(r.event());
    }
    BOOST_TEST(seen.size() == 6u); // each kind of event was among them
}

BOOST_AUTO_TEST_CASE(a_malformed_line_is_an_error_not_a_crash) {
    std::string const good = R"({"time":"2026-11-26T12:00:00.000Z","event":"commanded","activation":"x","share_kw":-1,"setpoint_kw":-1})";
    BOOST_TEST_REQUIRE(cleori::decode_audit_record(good).has_value());
    struct bad_case {
        std::string line;
        cleori::error expected;
        std::string names; // in `why`
    };
    bad_case const cases[] = {
        {"", cleori::error::json_malformed, "not JSON"},
        {"{", cleori::error::json_malformed, "not JSON"},
        {good.substr(0, good.size() / 2), cleori::error::json_malformed, "not JSON"},
        {"\x01\xff\xfe garbage", cleori::error::json_malformed, "not JSON"},
        {"[1,2]", cleori::error::json_wrong_type, "not a JSON object"},
        {"{}", cleori::error::json_missing_field, "'time'"},
        {R"({"time":"yesterday","event":"ended","activation":"x"})", cleori::error::timestamp_syntax, "'time'"},
        {R"({"time":"2026-11-26T12:00:00Z","event":"exploded","activation":"x"})", cleori::error::json_unknown_enum_value, "'event'"},
        {R"({"time":"2026-11-26T12:00:00Z","event":"commanded","activation":7,"share_kw":1,"setpoint_kw":1})",
         cleori::error::json_wrong_type, "'activation'"},
        {R"({"time":"2026-11-26T12:00:00Z","event":"commanded","activation":"x","share_kw":"-1","setpoint_kw":1})",
         cleori::error::json_wrong_type, "'share_kw'"},
        {R"({"time":"2026-11-26T12:00:00Z","event":"ended","activation":"x","end_reason":"completed","refused":false})",
         cleori::error::json_missing_field, "'window_start'"},
        {R"({"time":"2026-11-26T12:00:00Z","event":"ended","activation":"x","end_reason":"completed","refused":false,)"
         R"("window_start":"2026-11-26T12:00:00Z","window_end":"2026-11-26T12:00:00Z","requested_kwh":1,"delivered_kwh":1,"samples":-3})",
         cleori::error::json_wrong_type, "'samples'"},
        {R"({"time":"2026-11-26T12:00:00Z","event":"confirmed","activation":"x","confirmation":"executing",)"
         R"("confirmed_at":"2026-11-26T12:00:00Z","answer":"acknowledged","http_status":1e9})",
         cleori::error::json_value_out_of_range, "'http_status'"},
        {std::string(200, '[') + std::string(200, ']'), cleori::error::json_malformed, "not JSON"},
        {std::string(cleori::audit_max_line + 1, ' '), cleori::error::body_too_large, "longer than"},
    };
    for (auto const& c : cases) {
        std::string why;
        auto r = cleori::decode_audit_record(c.line, &why);
        BOOST_TEST_REQUIRE(!r.has_value(), c.line.substr(0, 80));
        BOOST_TEST(r.error() == make_error_code(c.expected), c.line.substr(0, 80) << ": " << r.error().message());
        BOOST_TEST(why.find(c.names) != std::string::npos, why);
    }
}

BOOST_AUTO_TEST_CASE(the_log_rotates_by_size_and_keeps_keep_files) {
    auto const path = dir / "audit.jsonl";
    constexpr std::uint64_t max_bytes = 1000;
    {
        cleori::audit_log log{path, max_bytes, 2};
        BOOST_TEST_REQUIRE(log.open().has_value());
        for (int i = 0; i < 100; ++i) {
            cleori::audit_record r{t0 + std::chrono::seconds(i), "act-" + std::to_string(i),
                                   cleori::audit_commanded{cleori::kilowatts{-1.0 * i}, cleori::kilowatts{-2.0 * i}}};
            log(r);
        }
        BOOST_TEST(log.lines() == 100u);
        BOOST_TEST(log.failures() == 0u);
    }
    BOOST_TEST(std::filesystem::exists(path));
    BOOST_TEST(std::filesystem::exists(dir / "audit.jsonl.1"));
    BOOST_TEST(std::filesystem::exists(dir / "audit.jsonl.2"));
    BOOST_TEST(!std::filesystem::exists(dir / "audit.jsonl.3"));
    // Oldest first, the kept lines are the newest ones, in order, each whole.
    std::vector<int> order;
    for (auto const& f : {dir / "audit.jsonl.2", dir / "audit.jsonl.1", path}) {
        BOOST_TEST(std::filesystem::file_size(f) <= max_bytes, f);
        BOOST_TEST(contents_of(f).back() == '\n');
        for (auto const& line : lines_of(f)) {
            boost::system::error_code ec;
            auto v = boost::json::parse(line, ec);
            BOOST_TEST_REQUIRE(!ec, line);
            BOOST_TEST_REQUIRE(v.is_object());
            auto r = cleori::decode_audit_record(line);
            BOOST_TEST_REQUIRE(r.has_value(), line);
            order.push_back(std::stoi(r->activation.substr(4)));
        }
    }
    BOOST_TEST_REQUIRE(!order.empty());
    BOOST_TEST(order.back() == 99);
    for (std::size_t i = 1; i < order.size(); ++i) BOOST_TEST_REQUIRE(order[i] == order[i - 1] + 1);

    // Reopened, it appends; keep = 0 starts the file again, with no rotated file.
    {
        cleori::audit_log log{dir / "solo.jsonl", 300, 0};
        for (int i = 0; i < 20; ++i) log(cleori::audit_record{t0, "solo", cleori::audit_commanded{}});
        BOOST_TEST(log.failures() == 0u);
    }
    BOOST_TEST(std::filesystem::file_size(dir / "solo.jsonl") <= 300u);
    BOOST_TEST(!std::filesystem::exists(dir / "solo.jsonl.1"));

    // A file that cannot be opened: open() says why, writes are counted, nothing throws.
    cleori::audit_log nowhere{dir / "missing-dir" / "audit.jsonl"};
    auto opened = nowhere.open();
    BOOST_TEST_REQUIRE(!opened.has_value());
    BOOST_TEST((opened.error() == boost::system::errc::no_such_file_or_directory), opened.error().message());
    nowhere(cleori::audit_record{t0, "x", cleori::audit_commanded{}});
    BOOST_TEST(nowhere.failures() == 1u);
    BOOST_TEST(nowhere.lines() == 0u);
    BOOST_TEST((nowhere.last_error() == boost::system::errc::no_such_file_or_directory));
}

BOOST_AUTO_TEST_CASE(an_agents_audit_files_are_json_lines_without_the_token) {
    std::string const token = "tok-SECRET-7f3a9c";
    cleori.token = token;
    file.emplace(dir / "audit.jsonl", 1500, 5);
    BOOST_TEST_REQUIRE(file->open().has_value());
    cleori.fail_confirms = 2; // failed answers carry a detail line
    cleori.activations.push_back(make("r-1", cleori::mfrr_direction::up, 60.0_kW, 30s, 120s));
    cleori.activations.push_back(make("r-2", cleori::mfrr_direction::down, 100.0_kW, 10s, 7200s)); // too much
    start({.token = token});
    run(25s);
    cleori.token = "tok-SECRET-rotated"; // r-1's confirmation at 30 s gets 401 until the agent has it
    run(25s);
    agent->set_token("tok-SECRET-rotated");
    cleori.activations[0].power = 70.0_kW;
    cleori.activations.push_back(make("r-3", cleori::mfrr_direction::up, 30.0_kW, 5s, 60s));
    run(2min);
    agent->stop();
    run(1min);
    file.reset(); // closed before the files are read

    std::size_t lines = 0;
    bool saw_401 = false, saw_rotation = false;
    for (auto const& entry : std::filesystem::directory_iterator(dir.path())) {
        saw_rotation |= entry.path().filename() == "audit.jsonl.1";
        auto const text = contents_of(entry.path());
        BOOST_TEST(text.find("SECRET") == std::string::npos, entry.path());
        for (auto const& line : lines_of(entry.path())) {
            ++lines;
            std::string why;
            auto r = cleori::decode_audit_record(line, &why);
            BOOST_TEST_REQUIRE(r.has_value(), line << ": " << why);
            if (auto const* c = std::get_if<cleori::audit_confirmed>(&r->data)) saw_401 |= c->http_status == 401;
        }
    }
    BOOST_TEST(lines == records.size()); // every record, one line each, nothing lost
    BOOST_TEST(saw_rotation);
    BOOST_TEST(saw_401);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// One seeded scenario: overlapping, modified, cancelled, late-joined and
// open-ended activations, device reads and commands that fail. The draws
// depend on the seed alone, so the same scenario can run twice.
struct scenario_run {
    std::vector<std::pair<cleori::timestamp, double>> commands;
    std::vector<std::tuple<std::string, int, double>> confirmations; // id, status, setpoint
    std::vector<cleori::audit_record> records;
    std::uint64_t received = 0;
};

scenario_run run_scenario(unsigned seed, bool audit) {
    using battery_type = cleori::basic_simulated_battery<cleori::manual_clock>;
    std::mt19937 rng(seed);
    auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
    auto chance = [&](double p) { return uniform(0, 1) < p; };
    scenario_run out;
    asio::io_context io;
    cleori::manual_clock clock{t0};
    cleori::testing::fake_cleori cl{clock};
    cleori::testing::memory_transport transport{io.get_executor(), [&](cleori::http_request const& r) { return cl(r); }};
    battery_type battery{clock, cleori::percent{uniform(20, 80)}};
    auto add = [&](int n) {
        cleori::activation a{.id = "s" + std::to_string(seed) + "-" + std::to_string(n),
                             .direction = chance(0.6) ? cleori::mfrr_direction::up : cleori::mfrr_direction::down,
                             .power = cleori::kilowatts{std::round(uniform(10, 120))},
                             .start_time = clock.wall_now() + std::chrono::seconds(static_cast<int>(uniform(-30, 400))),
                             .status = cleori::activation_status::pending};
        if (!chance(0.2)) a.end_time = a.start_time + std::chrono::seconds(static_cast<int>(uniform(30, 900)));
        cl.activations.push_back(a);
    };
    int next = 0;
    for (int n = static_cast<int>(uniform(2, 5)); n > 0; --n) add(next++);
    {
        cleori::basic_agent<battery_type, cleori::testing::memory_transport, cleori::test::virtual_time> agent{
            battery, transport, {.token = "token-A"}, clock};
        if (audit) agent.hooks().on_audit = [&](cleori::audit_record const& r) { out.records.push_back(r); };
        BOOST_TEST_REQUIRE(agent.start().has_value());
        for (int step = 0; step < 150; ++step) { // 25 min in steps of 10 s
            if (chance(0.05)) add(next++);
            if (chance(0.04) && !cl.activations.empty()) {
                auto& a = cl.activations[static_cast<std::size_t>(uniform(0, 0.999) * static_cast<double>(cl.activations.size()))];
                if (chance(0.3)) a.status = cleori::activation_status::cancelled;
                else a.power = cleori::kilowatts{std::round(uniform(10, 120))};
            }
            if (chance(0.03)) battery.fail_next_reads(static_cast<std::size_t>(uniform(1, 12)));
            if (chance(0.02)) battery.fail_next_setpoints(2);
            clock.run_for(io, 10s);
        }
        agent.stop();
        clock.run_for(io, 1min);
        out.received = agent.counters().activations_received;
    }
    clock.run_for(io, 1h);
    for (auto const& c : battery.commands()) out.commands.emplace_back(c.time, c.setpoint.in_kw());
    for (auto const& c : cl.confirmations)
        out.confirmations.emplace_back(c.id, static_cast<int>(c.c.status), c.c.setpoint.value_or(cleori::kilowatts{}).in_kw());
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(engine_audit_scenarios)

BOOST_AUTO_TEST_CASE(the_hook_changes_no_decision_and_every_activation_is_accounted_for) {
    for (unsigned seed = 1; seed <= 40; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            auto const plain = run_scenario(seed, false);
            auto const audited = run_scenario(seed, true);
            BOOST_TEST(plain.records.empty());
            // The same commands at the same instants, the same confirmations.
            BOOST_TEST_REQUIRE(plain.commands.size() == audited.commands.size());
            for (std::size_t i = 0; i < plain.commands.size(); ++i) {
                BOOST_TEST_REQUIRE((plain.commands[i].first == audited.commands[i].first));
                BOOST_TEST_REQUIRE(plain.commands[i].second == audited.commands[i].second);
            }
            BOOST_TEST_REQUIRE((plain.confirmations == audited.confirmations));

            std::map<std::string, std::vector<cleori::audit_record>> by_id;
            for (auto const& r : audited.records) by_id[r.activation].push_back(r);
            BOOST_TEST(by_id.size() == audited.received);
            for (auto const& [id, rs] : by_id) {
                BOOST_TEST_CONTEXT(id << ": " << fixture::events(rs)) {
                    BOOST_TEST_REQUIRE((rs.front().event() == cleori::audit_event::received));
                    auto const& req = std::get<cleori::audit_received>(rs.front().data);
                    std::size_t last_end = rs.size();
                    for (std::size_t i = 0; i < rs.size(); ++i)
                        if (rs[i].event() == cleori::audit_event::ended) last_end = i;
                    BOOST_TEST_REQUIRE(last_end < rs.size()); // every received activation ended by the stop
                    for (std::size_t i = last_end + 1; i < rs.size(); ++i)
                        BOOST_TEST((rs[i].event() == cleori::audit_event::confirmed)); // only answers after the end
                    for (auto const& r : rs) {
                        auto const* e = std::get_if<cleori::audit_ended>(&r.data);
                        if (!e) continue;
                        BOOST_TEST((e->window_end >= e->window_start));
                        double const h = std::chrono::duration<double, std::ratio<3600>>(e->window_end - e->window_start).count();
                        BOOST_TEST(std::isfinite(e->delivered_kwh.in_kwh()));
                        // Bounded: its request (≤ 120 kW) plus its part of the deviation
                        // of the measurement (within ±100 kW) from the requests: ≤ 2 × 120 + 100 kW.
                        BOOST_TEST(std::abs(e->delivered_kwh.in_kwh()) <= 340.0 * h + 1e-9);
                        BOOST_TEST(std::abs(e->requested_kwh.in_kwh()) <= 120.0 * h + 1e-9);
                        // Requested energy has the request's sign.
                        if (req.direction == cleori::mfrr_direction::up) BOOST_TEST(e->requested_kwh.in_kwh() <= 0.0);
                        else BOOST_TEST(e->requested_kwh.in_kwh() >= 0.0);
                        if (h == 0) BOOST_TEST(e->samples == 0u);
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
