// cleori-market-day: a whole day of the mFRR market in virtual time. The real
// agent, the real simulator (sim/market.hpp) and a simulated battery run in
// one process on one manual clock, over the in-memory transport; 24 hours
// take seconds. Prints the compliance table and exits 1 if any rule fails.
// See doc/simulator.md, "A market day".
#include "sim/cli.hpp"
#include "sim/market.hpp"
#include "sim/report_text.hpp"

#include <cleori/cleori.hpp>
#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/engine/audit.hpp>
#include <cleori/engine/audit_log.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* usage =
    "usage: cleori-market-day [--seed N] [--hours H] [--telemetry-interval S] [--poll-interval S]\n"
    "                         [--power-scale K] [--read-fault S] [--report F] [--csv F] [--audit F]\n"
    "                         [--scenario-out F] [--tolerance PCT] [--quiet]\n"
    "Runs the agent against the simulated Cleori for a market day in virtual time and judges it.\n"
    "  --power-scale K   the battery delivers K x the setpoint it accepts (0.5: a device at half power)\n"
    "  --read-fault S    the battery's readings fail for S seconds at 12:00 (a telemetry gap)\n"
    "  --scenario-out F  writes the day's actions as a cleori-sim scenario (to replay in real time)\n"
    "Exit status: 0 every rule PASS, 1 a rule FAIL, 2 usage error, 3 a file cannot be written.\n";

constexpr char const* program = "cleori-market-day";

[[noreturn]] void fail(std::string const& why) { cleori::sim::cli::fail(program, why); }

struct options {
    unsigned seed = 1;
    double hours = 24;
    std::chrono::milliseconds telemetry_interval = 5s, poll_interval = 10s;
    double power_scale = 1.0;
    double read_fault_s = 0;
    double tolerance_pct = 2.0;
    std::string report, csv, audit, scenario_out;
    bool quiet = false;
};

// The reference battery with two ways to misbehave: delivering a fraction of
// what it accepted, and failing its operations during given intervals.
struct market_battery {
    static constexpr cleori::battery_ratings ratings = cleori::reference_battery::ratings;

    cleori::manual_clock clock;
    cleori::basic_simulated_battery<cleori::manual_clock> plant{clock, cleori::percent{50.0}};
    double power_scale = 1.0;
    std::vector<std::pair<cleori::timestamp, cleori::timestamp>> read_faults, setpoint_faults;

    bool faulty(std::vector<std::pair<cleori::timestamp, cleori::timestamp>> const& when) const {
        auto const now = clock.wall_now();
        for (auto const& [from, to] : when)
            if (now >= from && now < to) return true;
        return false;
    }
    template <class Handler>
    void async_read_state(Handler&& h) {
        if (faulty(read_faults)) return std::forward<Handler>(h)(make_error_code(boost::system::errc::io_error),
                                                                 cleori::battery_state{});
        plant.async_read_state(std::forward<Handler>(h));
    }
    template <class Handler>
    void async_apply_setpoint(cleori::kilowatts p, Handler&& h) {
        if (faulty(setpoint_faults)) return std::forward<Handler>(h)(make_error_code(boost::system::errc::io_error));
        plant.async_apply_setpoint(p * power_scale, std::forward<Handler>(h));
    }
};

// The day's script: ≥ 50 activations of every kind, outages, 429/503 bursts
// and a device fault, deterministic for a seed.
struct day_plan {
    json::array actions;
    std::vector<std::pair<double, double>> setpoint_faults; // seconds from the day's start
    std::size_t activations = 0;

    void add(double at_s, json::object action) {
        action["at_s"] = at_s;
        actions.push_back(std::move(action));
    }
    void create(double announce_s, std::string const& id, bool up, double kw, double start_s,
                std::optional<double> duration_s) {
        json::object a{{"id", id}, {"direction", up ? "up" : "down"}, {"power", kw}, {"start_in_s", start_s - announce_s}};
        if (duration_s) a["duration_s"] = *duration_s;
        add(announce_s, {{"action", "create"}, {"asset", "asset-1"}, {"activation", std::move(a)}});
        ++activations;
    }
};

day_plan make_plan(unsigned seed, double hours) {
    day_plan p;
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    double const day = hours * 3600.0;
    constexpr double slot = 1560;    // one activation every 26 minutes
    constexpr double announce = 300; // announced 5 minutes before its start
    for (int i = 0;; ++i) {
        double const start = 1200 + i * slot;
        if (start + 20 * 60 > day) break;
        std::string const id = "act-" + std::to_string(i);
        bool const up = i % 2 == 0;
        double const dur = 60.0 * (5 * pick(1, 3));       // 5, 10 or 15 minutes
        double kw = 10.0 * pick(4, 9);                     // 40 … 90 kW
        if (i == 25) {
            // Infeasible: 100 kW of discharge for 2 h is more than the battery holds.
            p.create(start - announce, "infeasible-" + std::to_string(i), true, 100, start, 7200);
            continue;
        }
        if (i % 5 == 3) {
            // Overlapping: a second activation in the same direction joins for a while.
            kw = std::min(kw, 70.0);
            p.create(start - announce, id, up, kw, start, dur);
            p.create(start - announce + 60, "overlap-" + std::to_string(i), up, 30, start + 120, dur);
            continue;
        }
        if (i == 19 || i == 41) {
            // Open-ended: no end time; one is cancelled, the other given an end.
            p.create(start - announce, id, up, kw, start, std::nullopt);
            if (i == 19) p.add(start + 720, {{"action", "cancel"}, {"id", id}});
            else
                p.add(start + 300, {{"action", "modify"}, {"id", id}, {"end_in_s", 300}});
            continue;
        }
        p.create(start - announce, id, up, kw, start, dur);
        if (i % 10 == 5) p.add(start + 240, {{"action", "modify"}, {"id", id}, {"power", std::max(20.0, kw - 20)}});
        if (i % 10 == 7) p.add(start + 200, {{"action", "cancel"}, {"id", id}});
        if (i == 31) p.add(start - 60, {{"action", "cancel"}, {"id", id}}); // withdrawn before it began
        if (i == 37) p.add(start + 120, {{"action", "modify"}, {"id", id}, {"end_in_s", dur - 120 + 300}});
        if (i == 12) p.add(start - 30, {{"action", "outage"}, {"duration_s", 150}}); // down across a start
        if (i == 44) p.setpoint_faults.push_back({start - 10, start + 80}); // the device refuses setpoints
    }
    auto fault = [&](double at, unsigned status, std::string path, unsigned count, std::optional<int> retry_after) {
        json::object f{{"kind", "status"}, {"status", status}, {"count", count}};
        if (!path.empty()) f["path"] = path;
        if (retry_after) f["retry_after"] = *retry_after;
        p.add(at, {{"action", "fault"}, {"fault", std::move(f)}});
    };
    if (day >= 3 * 3600 + 600) p.add(3 * 3600 + 7 * 60, {{"action", "outage"}, {"duration_s", 120}});
    if (day >= 6.5 * 3600) fault(6 * 3600, 429, "", 6, 5);
    if (day >= 15 * 3600) fault(14 * 3600 + 22 * 60, 503, "/v1/activations", 10, std::nullopt);
    if (day >= 17.5 * 3600) p.add(17 * 3600, {{"action", "outage"}, {"duration_s", 30}});
    if (day >= 20.5 * 3600) fault(20 * 3600 + 10 * 60, 503, "/v1/telemetry", 5, std::nullopt);
    // Confirmations refused three times as an activation starts.
    if (day >= 8 * 3600) fault(1200 + 16 * slot - 1, 503, "/v1/activations/", 3, std::nullopt);
    return p;
}

std::string fixed(double v, int digits = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}


} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            return 0;
        }
        if (a == "--quiet") {
            o.quiet = true;
            continue;
        }
        if (i + 1 >= argc) fail(a + ": missing value\n" + usage);
        char const* v = argv[++i];
        auto num = [&](double lo, double hi) { return cleori::sim::cli::number(program, a, v, lo, hi); };
        auto secs = [&](double lo, double hi) {
            return std::chrono::milliseconds(static_cast<long long>(num(lo, hi) * 1000));
        };
        if (a == "--seed") o.seed = static_cast<unsigned>(num(0, 4e9));
        else if (a == "--hours") o.hours = num(1, 48);
        else if (a == "--telemetry-interval") o.telemetry_interval = secs(0.1, 600);
        else if (a == "--poll-interval") o.poll_interval = secs(0.1, 600);
        else if (a == "--power-scale") o.power_scale = num(0, 2);
        else if (a == "--read-fault") o.read_fault_s = num(0, 3600);
        else if (a == "--tolerance") o.tolerance_pct = num(0, 100);
        else if (a == "--report") o.report = v;
        else if (a == "--csv") o.csv = v;
        else if (a == "--audit") o.audit = v;
        else if (a == "--scenario-out") o.scenario_out = v;
        else fail("unknown option '" + a + "'\n" + usage);
    }

    auto const wall_start = cleori::timestamp{std::chrono::sys_days{std::chrono::year{2026} / std::chrono::November / 27}};
    boost::asio::io_context io;
    cleori::manual_clock clock{wall_start};
    std::string const token = "market-day-token";

    cleori::sim::market_options mo{.tokens = {token}};
    mo.rules.response_time = market_battery::ratings.response_time;
    mo.rules.energy_tolerance = o.tolerance_pct / 100.0;
    if (!o.quiet) mo.on_event = [&](std::string const& line) {
        std::cout << cleori::to_rfc3339(clock.wall_now()).substr(11, 8) << "  " << line << "\n";
    };
    cleori::sim::basic_market<cleori::manual_clock> market{io.get_executor(), mo, clock};

    auto plan = make_plan(o.seed, o.hours);
    std::string const scenario = json::serialize(json::object{{"actions", plan.actions}});
    if (!o.scenario_out.empty()) cleori::sim::cli::write_file(program, o.scenario_out, scenario, "scenario");
    if (auto why = market.load_scenario(scenario); !why.empty()) {
        std::cerr << "cleori-market-day: " << why << "\n";
        return 2;
    }

    market_battery battery{clock, cleori::basic_simulated_battery<cleori::manual_clock>{clock, cleori::percent{50.0}}, 1.0, {}, {}};
    battery.power_scale = o.power_scale;
    auto at = [&](double s) { return wall_start + std::chrono::microseconds(static_cast<long long>(s * 1e6)); };
    for (auto const& [from, to] : plan.setpoint_faults) battery.setpoint_faults.push_back({at(from), at(to)});
    if (o.read_fault_s > 0) battery.read_faults.push_back({at(12 * 3600), at(12 * 3600 + o.read_fault_s)});

    cleori::testing::memory_transport transport{io.get_executor(), market.responder()};
    struct virtual_time : cleori::default_policies {
        using clock = cleori::manual_clock;
    };
    cleori::basic_agent<market_battery, cleori::testing::memory_transport, virtual_time> agent{
        battery, transport,
        cleori::agent_config{.token = token, .telemetry_interval = o.telemetry_interval, .poll_interval = o.poll_interval},
        clock};

    // The agent's own record, to reconcile with the simulator's energies.
    std::map<std::string, cleori::audit_ended> ended;
    std::optional<cleori::audit_log> audit_file;
    if (!o.audit.empty()) {
        audit_file.emplace(o.audit);
        if (auto r = audit_file->open(); !r) {
            std::cerr << "cleori-market-day: audit trail '" << o.audit << "': " << r.error().message() << "\n";
            return 3;
        }
    }
    agent.hooks().on_audit = [&](cleori::audit_record const& r) {
        if (auto const* e = std::get_if<cleori::audit_ended>(&r.data)) ended[r.activation] = *e;
        if (audit_file) (*audit_file)(r);
    };

    auto const wall_clock_start = std::chrono::steady_clock::now();
    if (auto r = agent.start(); !r) {
        std::cerr << "cleori-market-day: the agent did not start: " << r.error().message() << "\n";
        return 2;
    }
    clock.run_for(io, std::chrono::duration_cast<cleori::mono_time::duration>(std::chrono::duration<double>(o.hours * 3600)));
    // The report is of the day, taken as it ends (an agent stopped before it
    // would show a telemetry gap up to the report).
    auto const report = market.report();
    auto const series = market.time_series_csv();
    agent.stop();
    clock.run_for(io, 1min);
    double const wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_clock_start).count();

    if (!o.report.empty()) cleori::sim::cli::write_file(program, o.report, json::serialize(report), "report");
    if (!o.csv.empty()) cleori::sim::cli::write_file(program, o.csv, series, "time series");

    // The tables, with the agent's own energy beside the simulator's.
    std::size_t reconciled = 0, unreconciled = 0;
    cleori::sim::report_column agent_column{"agent kWh", [&](json::object const& a) -> std::string {
        auto it = ended.find(std::string(a.at("id").as_string()));
        if (it == ended.end() || it->second.refused) return "-";
        double const mine = it->second.delivered_kwh.in_kwh();
        // The agent integrates every reading until it knew of the end (a
        // cancellation: its next poll), the simulator the samples it received
        // until the end: they differ by at most the ramps and that last poll
        // interval, and then by the tolerance.
        double const req = a.at("requested_kwh").to_number<double>();
        double slack = a.at("allowance_kwh").to_number<double>() + mo.rules.energy_tolerance * std::abs(req);
        if (a.at("status").as_string() == "cancelled")
            slack += std::abs(a.at("requested_kw").to_number<double>()) *
                     std::chrono::duration<double, std::ratio<3600>>(o.poll_interval + mo.rules.response_time).count();
        bool const ok = std::abs(mine - a.at("delivered_kwh").to_number<double>()) <= slack + 1e-6;
        ++(ok ? reconciled : unreconciled);
        return fixed(mine, 2) + (ok ? "" : " (differs)");
    }};
    std::printf("market day %s: %s h of virtual time in %.1f s (seed %u)\n\n",
                cleori::to_rfc3339(wall_start).substr(0, 10).c_str(), fixed(o.hours, o.hours == std::floor(o.hours) ? 0 : 2).c_str(),
                wall_s, o.seed);
    std::fputs(cleori::sim::readable(report, &agent_column).c_str(), stdout);
    bool const audit_ok = unreconciled == 0;
    std::printf("  %-24s %12zu %12s  %s\n", "audit trail reconciles", unreconciled, "0", audit_ok ? "PASS" : "FAIL");
    auto const& asset = report.at("assets").as_array().at(0).as_object();
    bool const pass = report.at("pass").as_bool() && audit_ok && report.at("control_errors").as_array().empty();
    std::printf("\n%s: %zu activations, %zu reconciled with the agent's audit trail; %.0f samples, %.0f polls\n",
                pass ? "PASS" : "FAIL", asset.at("activations").as_array().size(), reconciled,
                asset.at("samples_received").to_number<double>(), asset.at("polls").to_number<double>());
    return pass ? 0 : 1;
}
