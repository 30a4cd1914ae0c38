// The crash test: a durable agent as a separate process (test/crash/
// crash_agent.cpp) against the simulator over loopback, killed with SIGKILL
// at random moments and started again, many times, while activations come
// and go. Then, from what each side wrote down:
// - 0 samples lost: every sample the journal kept reached the simulator;
// - 0 confirmations lost: every confirmation the journal owed reached it;
// - 0 activations applied twice: the battery's own log shows each window's
//   setpoint entered once (and the journal shows each began executing once),
//   and the battery never received an activation's power outside its window;
// - the battery never ran past an activation's end for longer than the agent
//   was dead plus its restart time;
// - the token appears in no output of any process.
// Trials: CLEORI_CRASH_TRIALS (default 200); seed: CLEORI_CRASH_SEED.
// scripts/crash-trials runs it with more.
#include "sim/server.hpp"

#include "support/child_process.hpp"
#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>


namespace {

using namespace std::chrono_literals;

std::int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
std::int64_t us_of(cleori::timestamp t) { return t.time_since_epoch().count(); }

std::size_t env_number(char const* name, std::size_t fallback) {
    char const* v = std::getenv(name);
    return v && *v ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

std::vector<std::string> lines_of(std::filesystem::path const& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

struct scripted {
    std::string id;
    double kw; // signed setpoint
    std::int64_t start_us, end_us;
};

} // namespace

BOOST_AUTO_TEST_SUITE(crash_restart)

BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_loses_nothing_and_applies_nothing_twice) {
    std::size_t const trials = env_number("CLEORI_CRASH_TRIALS", 200);
    auto const seed = static_cast<std::uint32_t>(env_number("CLEORI_CRASH_SEED", std::random_device{}()));
    BOOST_TEST_MESSAGE("crash test: " << trials << " SIGKILL trials, seed " << seed);
    std::mt19937 rng(seed);

    cleori::test::temp_dir dir;
    boost::asio::io_context io;
    cleori::sim::server sim{io.get_executor(), {.tokens = {cleori::test::token}}};
    auto const port = sim.start();
    BOOST_TEST_REQUIRE(port.has_value());
    auto guard = boost::asio::make_work_guard(io);
    std::thread server([&] { io.run(); });
    struct joiner {
        boost::asio::io_context& io;
        std::thread& t;
        ~joiner() {
            io.stop();
            t.join();
        }
    } join_at_end{io, server};

    // Activations every 2 s, 1.2 s long, up and down in turn, over the whole run.
    std::vector<scripted> plan;
    std::int64_t const first_start = unix_us() + 1'500'000;
    std::size_t const count = trials * 400 / 2000 + 3; // a trial lasts about 0.4 s
    std::uniform_real_distribution<double> power(60.0, 250.0);
    for (std::size_t i = 0; i < count; ++i) {
        cleori::activation a{.id = "crash-" + std::to_string(i),
                             .direction = i % 2 ? cleori::mfrr_direction::down : cleori::mfrr_direction::up,
                             .power = cleori::kilowatts{std::round(power(rng))},
                             .start_time = cleori::timestamp(std::chrono::microseconds(first_start + std::int64_t(i) * 2'000'000)),
                             .status = cleori::activation_status::pending};
        a.end_time = a.start_time + 1200ms;
        plan.push_back({a.id, a.setpoint().in_kw(), us_of(a.start_time), us_of(*a.end_time)});
        sim.add_activation("asset-1", a);
    }

    auto const journal = dir / "journal", device_log = dir / "device.log", witness = dir / "witness.log",
               output = dir / "output.log";
    std::vector<std::string> const args{CLEORI_CRASH_AGENT,
                                        "http://127.0.0.1:" + std::to_string(*port),
                                        journal.string(),
                                        device_log.string(),
                                        witness.string(),
                                        "200",
                                        "200"};
    std::vector<std::pair<std::int64_t, std::int64_t>> dead; // [killed, restarted) in unix µs
    std::uniform_int_distribution<int> uptime(60, 700), downtime(0, 40);
    for (std::size_t i = 0; i < trials; ++i) {
        cleori::test::child_process agent(args, {.env = {{"CLEORI_TOKEN", cleori::test::token}}, .output = output});
        std::this_thread::sleep_for(std::chrono::milliseconds(uptime(rng)));
        std::int64_t const killed = unix_us();
        agent.kill(SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(downtime(rng)));
        dead.emplace_back(killed, unix_us());
    }
    // The last life runs past the last activation, then stops gracefully.
    {
        cleori::test::child_process agent(args, {.env = {{"CLEORI_TOKEN", cleori::test::token}}, .output = output});
        auto const until = std::max(plan.back().end_us + 2'500'000, unix_us() + 2'500'000);
        while (unix_us() < until && agent.running()) std::this_thread::sleep_for(50ms);
        BOOST_TEST_REQUIRE(agent.running(), "the agent exited by itself: " << lines_of(output).size() << " lines of output");
        int const status = agent.kill(SIGTERM);
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "graceful stop, wait status " << status);
    }
    auto const report = sim.report();
    auto const samples = sim.samples("asset-1");

    // --- samples: every one the journal kept reached Cleori ---
    std::set<std::int64_t> received;
    for (auto const& s : samples) received.insert(us_of(s.time));
    std::size_t witnessed_samples = 0, lost_samples = 0;
    std::map<std::string, std::size_t> owed, executed;
    for (auto const& l : lines_of(witness)) {
        if (l.rfind("S ", 0) == 0) {
            ++witnessed_samples;
            auto t = cleori::parse_rfc3339(l.substr(2));
            BOOST_TEST_REQUIRE(t.has_value(), l);
            if (!received.count(us_of(*t))) {
                ++lost_samples;
                BOOST_TEST_MESSAGE("lost: " << l);
            }
        } else if (l.rfind("C ", 0) == 0) {
            ++owed[l.substr(2, l.find(' ', 2) - 2)];
        } else if (l.rfind("X ", 0) == 0) {
            ++executed[l.substr(2)];
        }
    }
    auto const& asset = report.at("assets").at(0).as_object();
    auto const duplicates = static_cast<std::size_t>(cleori::test::number(asset.at("duplicate_samples")));
    BOOST_TEST(witnessed_samples > trials);
    BOOST_TEST(lost_samples == 0u);

    // --- confirmations: every one owed reached Cleori; each activation executed once ---
    std::map<std::string, std::size_t> confirmations;
    for (auto const& a : asset.at("activations").as_array())
        confirmations[std::string(a.at("id").as_string())] =
            static_cast<std::size_t>(cleori::test::number(a.at("confirmations")));
    std::size_t lost_confirmations = 0, repeated_confirmations = 0, applied_twice = 0;
    for (auto const& [id, n] : owed) {
        if (confirmations[id] == 0) ++lost_confirmations;
        if (n > 1) ++repeated_confirmations; // owed twice: the activation was decided twice
    }
    for (auto const& [id, n] : executed) applied_twice += n > 1;
    std::size_t unconfirmed = 0, sent_confirmations = 0;
    for (auto const& p : plan) {
        unconfirmed += confirmations[p.id] == 0;
        sent_confirmations += confirmations[p.id];
    }
    BOOST_TEST(lost_confirmations == 0u);
    BOOST_TEST(repeated_confirmations == 0u);
    BOOST_TEST(applied_twice == 0u);

    // --- the battery: no activation's power outside its window; baseline on time ---
    std::vector<std::pair<std::int64_t, double>> commands;
    for (auto const& l : lines_of(device_log)) {
        std::istringstream in(l);
        std::int64_t t = 0;
        double kw = 0;
        in >> t >> kw;
        commands.emplace_back(t, kw);
    }
    std::size_t stray = 0;
    for (auto const& command : commands) {
        auto const t = command.first;
        auto const kw = command.second;
        if (std::fabs(kw) < 1e-6) continue;
        bool const inside = std::any_of(plan.begin(), plan.end(), [&](scripted const& p) {
            return std::fabs(p.kw - kw) < 1e-3 && t >= p.start_us - 50'000 && t < p.end_us;
        });
        if (!inside) {
            ++stray;
            BOOST_TEST_MESSAGE("setpoint " << kw << " kW at " << t << " is outside every window");
        }
    }
    BOOST_TEST(stray == 0u);
    // Applied twice, as the battery saw it: within one window, its power
    // went to the activation's setpoint, left it and came back.
    std::size_t applied_twice_on_device = 0;
    for (auto const& p : plan) {
        std::size_t entries = 0;
        double before = 0;
        for (auto const& [t, kw] : commands) {
            bool const at_setpoint = std::fabs(kw - p.kw) < 1e-3;
            if (t >= p.start_us - 50'000 && t < p.end_us && at_setpoint && std::fabs(before - p.kw) >= 1e-3) ++entries;
            before = kw;
        }
        if (entries > 1) {
            ++applied_twice_on_device;
            BOOST_TEST_MESSAGE(p.id << " was applied " << entries << " times by the battery");
        }
    }
    BOOST_TEST(applied_twice_on_device == 0u);
    auto dead_during = [&](std::int64_t from, std::int64_t to) {
        std::int64_t d = 0;
        for (auto const& [k, r] : dead) d += std::max<std::int64_t>(0, std::min(to, r) - std::max(from, k));
        return d;
    };
    std::int64_t worst_overrun = 0, worst_beyond_dead = 0;
    std::size_t ends_while_dead = 0, not_delivered = 0;
    for (auto const& p : plan) {
        // The battery's setpoint at the end, and the first command after it.
        double at_end = 0;
        std::optional<std::int64_t> next;
        bool delivered = false;
        for (auto const& [t, kw] : commands) {
            if (t < p.end_us) at_end = kw;
            else if (!next) next = t;
            delivered |= t >= p.start_us - 50'000 && t < p.end_us && std::fabs(kw - p.kw) < 1e-3;
        }
        not_delivered += !delivered;
        if (std::fabs(at_end) < 1e-6) continue; // already at baseline
        BOOST_TEST_REQUIRE(next.has_value(), p.id << " was never ended");
        std::int64_t const overrun = *next - p.end_us;
        std::int64_t const beyond = overrun - dead_during(p.end_us, *next);
        ends_while_dead += dead_during(p.end_us, p.end_us + 1) > 0;
        worst_overrun = std::max(worst_overrun, overrun);
        worst_beyond_dead = std::max(worst_beyond_dead, beyond);
    }
    // Beyond the time the agent was dead: its restart (process start, journal
    // replay, connection) and one control step; generous for a loaded machine.
    BOOST_TEST(worst_beyond_dead < 1'000'000, "worst overrun beyond the dead time: " << worst_beyond_dead << " µs");
    BOOST_TEST(not_delivered == 0u);
    BOOST_TEST(unconfirmed == 0u);

    // --- secrets ---
    std::ifstream out_in(output);
    std::string all_output{std::istreambuf_iterator<char>(out_in), {}};
    BOOST_TEST(all_output.find(cleori::test::token) == std::string::npos);
    if (!all_output.empty()) BOOST_TEST_MESSAGE("what the agents wrote:\n" << all_output.substr(0, 4000));
    for (auto const& f : {witness, device_log}) {
        std::ifstream in(f);
        std::string text{std::istreambuf_iterator<char>(in), {}};
        BOOST_TEST(text.find(cleori::test::token) == std::string::npos);
    }

    BOOST_TEST_MESSAGE("crash test figures: trials=" << trials << " activations=" << plan.size()
                       << " samples_kept=" << witnessed_samples << " samples_received=" << samples.size()
                       << " samples_lost=" << lost_samples << " samples_resent_after_crash=" << duplicates
                       << " confirmations_owed=" << owed.size() << " confirmations_received=" << sent_confirmations
                       << " confirmations_lost=" << lost_confirmations << " applied_twice=" << applied_twice
                       << " applied_twice_on_device=" << applied_twice_on_device
                       << " stray_setpoints=" << stray << " ends_while_dead=" << ends_while_dead
                       << " worst_overrun_ms=" << static_cast<double>(worst_overrun) / 1000.0
                       << " worst_overrun_beyond_dead_ms=" << static_cast<double>(worst_beyond_dead) / 1000.0
                       << " output_lines=" << lines_of(output).size());
}

BOOST_AUTO_TEST_SUITE_END()
