// The coalescing clock: expiries rounded up to its grid, never early, and an
// agent on it acting on the grid, with its cadence checked against Cleori's
// limits tick included.
#include <cleori/clock/coalescing_clock.hpp>

#include <cleori/clock/manual_clock.hpp>
#include <cleori/engine/agent.hpp>

#include "support/virtual_site.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

using cleori::mono_time;
using real_coalescing = cleori::coalescing_clock<>;
using virtual_coalescing = cleori::coalescing_clock<cleori::manual_clock>;

constexpr mono_time at(std::chrono::nanoseconds d) { return mono_time(d); }

static_assert(real_coalescing::round_up(at(30ms), 10ms) == at(30ms)); // on the grid: unchanged
static_assert(real_coalescing::round_up(at(30ms + 1ns), 10ms) == at(40ms));
static_assert(real_coalescing::round_up(at(39'999'999ns), 10ms) == at(40ms));
static_assert(real_coalescing::round_up(at(-5ms), 10ms) == at(0ms)); // before the epoch
static_assert(real_coalescing::round_up(at(-15ms), 10ms) == at(-10ms));
static_assert(real_coalescing::round_up(at(31ms), 0ms) == at(31ms)); // no grid
static_assert(real_coalescing::round_up(mono_time::max(), 10ms) == mono_time::max()); // no overflow

// A clock whose members work only on a non-const object is refused by the
// constraint (a diagnosable concept failure, not an error inside the class).
struct mutable_only_clock {
    mono_time now() { return {}; }
    cleori::timestamp wall_now() { return {}; }
    boost::asio::steady_timer make_timer(boost::asio::any_io_executor ex) { return boost::asio::steady_timer(ex); }
};
template <class B>
concept coalescable = requires { typename cleori::coalescing_clock<B>; };
static_assert(cleori::Clock<mutable_only_clock>);
static_assert(!coalescable<mutable_only_clock>);
static_assert(coalescable<cleori::real_clock> && coalescable<cleori::manual_clock>);

struct coalesced_virtual_time : cleori::default_policies {
    using clock = virtual_coalescing;
};

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();

struct site : cleori::test::virtual_site {
    using agent_type = cleori::basic_agent<battery_type, cleori::testing::memory_transport, coalesced_virtual_time>;
    site() : virtual_site(t0) {}
    ~site() {
        if (agent) agent->stop();
        clock.run_for(io, 1h);
    }
    std::optional<agent_type> agent;
    // Seconds of virtual wall time after t0.
    static double since_t0(cleori::timestamp t) { return std::chrono::duration<double>(t - t0).count(); }
};

bool on_whole_second(double s) { return s == static_cast<double>(static_cast<long long>(s)); }

} // namespace

BOOST_AUTO_TEST_SUITE(clock_coalescing_clock)

BOOST_AUTO_TEST_CASE(a_real_timer_expires_on_the_grid_and_its_wait_completes_after_it) {
    asio::io_context io;
    real_coalescing const clock{1ms};
    BOOST_TEST(clock.tick() == 1ms);
    BOOST_TEST(clock.timer_slack() == 1ms);
    BOOST_TEST(cleori::timer_slack_of(clock) == 1ms);
    BOOST_TEST(cleori::timer_slack_of(cleori::real_clock{}) == 0ns);
    auto timer = clock.make_timer(io.get_executor());
    auto const wanted = clock.now() + 2500us;
    timer.expires_at(wanted);
    BOOST_TEST(timer.expiry().time_since_epoch() % 1ms == 0ns);
    BOOST_TEST((timer.expiry() >= wanted));
    BOOST_TEST((timer.expiry() - wanted < 1ms));
    std::optional<boost::system::error_code> result;
    mono_time completed{};
    timer.async_wait([&](boost::system::error_code ec) {
        result = ec;
        completed = clock.now();
    });
    io.run();
    BOOST_TEST_REQUIRE(result.has_value());
    BOOST_TEST(!*result);
    BOOST_TEST((completed >= timer.expiry())); // never early
}

BOOST_AUTO_TEST_CASE(a_cancelled_wait_completes_aborted_and_no_tick_means_no_rounding) {
    asio::io_context io;
    real_coalescing const clock{1h};
    auto timer = clock.make_timer(io.get_executor());
    timer.expires_at(clock.now() + 1s);
    std::optional<boost::system::error_code> result;
    timer.async_wait([&](boost::system::error_code ec) { result = ec; });
    timer.cancel();
    io.run();
    BOOST_TEST_REQUIRE(result.has_value());
    BOOST_TEST((*result == asio::error::operation_aborted));

    real_coalescing const off{-5ms};
    BOOST_TEST(off.tick() == 0ns);
    auto plain = off.make_timer(io.get_executor());
    auto const wanted = mono_time(123'456'789ns);
    plain.expires_at(wanted);
    BOOST_TEST((plain.expiry() == wanted));
    BOOST_TEST(real_coalescing{}.tick() == real_coalescing::default_tick);
}

BOOST_FIXTURE_TEST_CASE(an_agent_on_a_one_second_grid_acts_on_it_never_early, site) {
    clock.advance(300ms); // off the grid: without it, everything would land on whole seconds
    cleori.activations.push_back(make("up-1", cleori::mfrr_direction::up, 60.0_kW, 32s, 90s));
    agent.emplace(battery, transport, cleori::agent_config{.token = "token-A"}, virtual_coalescing{1s, clock});
    auto started = agent->start();
    BOOST_TEST_REQUIRE(started.has_value(), started.error().message());
    clock.run_for(io, 1h);

    // The first sample is taken at start (0.3 s); every later one on the grid,
    // at most a tick after its 5 s cadence, never before.
    auto const& samples = cleori.samples;
    BOOST_TEST_REQUIRE(samples.size() >= 700u);
    BOOST_TEST(since_t0(samples.front().sample.time) == 0.3);
    for (std::size_t i = 1; i < samples.size(); ++i) {
        double const t = since_t0(samples[i].sample.time);
        double const gap = t - since_t0(samples[i - 1].sample.time);
        BOOST_TEST_CONTEXT("sample " << i << " at " << t << " s") {
            BOOST_TEST_REQUIRE(on_whole_second(t));
            BOOST_TEST_REQUIRE(gap <= 6.0);
            BOOST_TEST_REQUIRE(t >= 0.3 + 5.0 * static_cast<double>(i)); // due at 0.3 + 5i
        }
    }
    // The activation (32.3 s to 122.3 s) starts and ends on the next whole second.
    std::vector<std::pair<double, double>> commands;
    for (auto const& c : battery.commands()) commands.emplace_back(since_t0(c.time), c.setpoint.in_kw());
    BOOST_TEST_REQUIRE(commands.size() == 3u);
    BOOST_TEST(commands[0].second == 0.0);
    BOOST_TEST(commands[1].first == 33.0);
    BOOST_TEST(commands[1].second == -60.0);
    BOOST_TEST(commands[2].first == 123.0);
    BOOST_TEST(commands[2].second == 0.0);
    BOOST_TEST_REQUIRE(cleori.confirmations.size() == 1u);
    BOOST_TEST(cleori.confirmations[0].id == "up-1");
}

BOOST_FIXTURE_TEST_CASE(cadences_are_checked_against_cleori_limits_with_the_tick, site) {
    struct bad_case {
        cleori::agent_config config;
        std::chrono::milliseconds tick;
        std::optional<cleori::error> expected;
    };
    bad_case const cases[] = {
        {{.token = "t", .telemetry_interval = 9500ms}, 1s, cleori::error::config_telemetry_interval},
        {{.token = "t", .telemetry_interval = 9s}, 1s, std::nullopt},
        {{.token = "t", .telemetry_interval = 10s}, 0ms, std::nullopt},
        {{.token = "t", .poll_interval = 59500ms}, 1s, cleori::error::config_poll_interval},
        {{.token = "t", .poll_interval = 59s}, 1s, std::nullopt},
        {{.token = "t"}, 1001ms, cleori::error::config_timer_slack}, // above 1 s
        {{.token = "t", .telemetry_interval = 1s}, 1s, cleori::error::config_timer_slack}, // not below the interval
        {{.token = "t", .poll_interval = 500ms}, 600ms, cleori::error::config_timer_slack},
    };
    for (auto const& c : cases) {
        agent_type a{battery, transport, c.config, virtual_coalescing{c.tick, clock}};
        auto r = a.start();
        BOOST_TEST_CONTEXT("tick " << c.tick.count() << " ms, telemetry " << c.config.telemetry_interval.count()
                                   << " ms, poll " << c.config.poll_interval.count() << " ms") {
            if (c.expected) {
                BOOST_TEST_REQUIRE(!r.has_value());
                BOOST_TEST(r.error() == make_error_code(*c.expected), r.error().message());
                BOOST_TEST(r.error().message().find("timer slack") != std::string::npos);
            } else {
                BOOST_TEST(r.has_value());
                a.stop();
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
