#include <cleori/engine/lifecycle.hpp>

#include <cleori/device/simulated_battery.hpp>

#include <boost/test/unit_test.hpp>

#include <vector>

using namespace cleori::literals;
using namespace std::chrono_literals;

namespace {
cleori::timestamp const now = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();
constexpr auto ratings = cleori::reference_battery::ratings; // 200 kWh, 100 kW, 90 %, SoC 5-95 %

std::vector<cleori::energy_commitment> one(double kw, std::chrono::seconds from, std::chrono::seconds to) {
    return {{cleori::kilowatts{kw}, now + from, now + to}};
}
} // namespace

BOOST_AUTO_TEST_SUITE(engine_lifecycle)

BOOST_AUTO_TEST_CASE(project_soc_follows_energy_with_the_efficiency_of_each_direction) {
    // 100 kW for 30 min = 50 kWh out; from the battery: 50 / √0.9 = 52.7 kWh = 26.4 points.
    auto p = cleori::project_soc(50.0_pct, now, one(-100, 0s, 1800s), ratings);
    BOOST_TEST(p.ok);
    BOOST_TEST(p.lowest.in_pct() == 50.0 - 26.352, boost::test_tools::tolerance(1e-3));
    // From 30 %: 30 - 26.35 = 3.65 % < 5 %: the window is left, and when is exact.
    p = cleori::project_soc(30.0_pct, now, one(-100, 0s, 1800s), ratings);
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.below);
    // 25 points at 52.70 points/h → 0.4743 h = 1707.6 s.
    BOOST_TEST(std::chrono::duration<double>(p.violation_at - now).count() == 1707.6, boost::test_tools::tolerance(1e-3));
    // Charging: 60 kW for 30 min = 30 kWh in, 28.46 kWh stored = 14.2 points.
    p = cleori::project_soc(80.0_pct, now, one(60, 0s, 1800s), ratings);
    BOOST_TEST(p.ok);
    BOOST_TEST(p.highest.in_pct() == 94.23, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(!cleori::project_soc(80.0_pct, now, one(80, 0s, 1800s), ratings).ok);
}

BOOST_AUTO_TEST_CASE(project_soc_sums_overlaps_and_nets_opposite_directions) {
    // Two 50 kW discharges overlapping for 10 min, then one alone for 10 min.
    std::vector<cleori::energy_commitment> c{{-50.0_kW, now, now + 20min}, {-50.0_kW, now, now + 10min}};
    auto p = cleori::project_soc(50.0_pct, now, c, ratings);
    // 100 kW × 1/6 h + 50 kW × 1/6 h = 25 kWh out → 26.35 kWh from the battery = 13.18 points.
    BOOST_TEST(p.lowest.in_pct() == 50.0 - 13.176, boost::test_tools::tolerance(1e-3));
    // An up and a down of equal power net to nothing.
    std::vector<cleori::energy_commitment> netted{{-80.0_kW, now, now + 1h}, {80.0_kW, now, now + 1h}};
    p = cleori::project_soc(50.0_pct, now, netted, ratings);
    BOOST_TEST(p.lowest.in_pct() == 50.0);
    BOOST_TEST(p.highest.in_pct() == 50.0);
    // Commitments that start later count from their start.
    p = cleori::project_soc(10.0_pct, now, one(-100, 3600s, 3660s), ratings);
    BOOST_TEST(p.ok);
}

BOOST_AUTO_TEST_CASE(power_share_leaves_room_for_what_is_committed) {
    using cleori::kilowatts;
    // Alone: clamped to the ratings.
    BOOST_TEST(cleori::power_share(-150.0_kW, now, now + 10min, {}, ratings) == -100.0_kW);
    BOOST_TEST(cleori::power_share(150.0_kW, now, now + 10min, {}, ratings) == 100.0_kW);
    // Beside 80 kW of discharge, 20 kW of discharge is left, for the whole window.
    auto const other = one(-80, 300s, 900s);
    BOOST_TEST(cleori::power_share(-80.0_kW, now, now + 10min, other, ratings) == -20.0_kW);
    // Outside the other's window, all of it.
    BOOST_TEST(cleori::power_share(-80.0_kW, now, now + 5min, other, ratings) == -80.0_kW);
    // Opposite direction: its own rating, never more (the discharge may be cancelled at any moment).
    BOOST_TEST(cleori::power_share(100.0_kW, now, now + 10min, other, ratings) == 100.0_kW);
    std::vector<cleori::energy_commitment> charging{{100.0_kW, now, now + 1h}};
    BOOST_TEST(cleori::power_share(-100.0_kW, now, now + 10min, charging, ratings) == -100.0_kW);
    // Nothing left: zero.
    BOOST_TEST(cleori::power_share(-50.0_kW, now, now + 10min, one(-100, 0s, 600s), ratings) == 0.0_kW);
}

BOOST_AUTO_TEST_SUITE_END()
