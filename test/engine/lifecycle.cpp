#include <cleori/engine/lifecycle.hpp>

#include <cleori/device/simulated_battery.hpp>

#include <boost/test/unit_test.hpp>

using namespace cleori::literals;
using namespace std::chrono_literals;

namespace {
cleori::timestamp const now = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();
constexpr auto ratings = cleori::reference_battery::ratings; // 200 kWh, 100 kW, 90 %, SoC 5-95 %

cleori::activation act(cleori::mfrr_direction d, cleori::kilowatts p, std::chrono::seconds start,
                       std::optional<std::chrono::seconds> len) {
    cleori::activation a{.id = "x", .direction = d, .power = p, .start_time = now + start,
                         .status = cleori::activation_status::pending};
    if (len) a.end_time = a.start_time + *len;
    return a;
}
} // namespace

BOOST_AUTO_TEST_SUITE(engine_lifecycle)

BOOST_AUTO_TEST_CASE(assess_energy_and_headroom) {
    using enum cleori::mfrr_direction;
    auto assess = [](cleori::activation const& a, double soc) {
        return cleori::assess(a, ratings, cleori::percent{soc}, {}, {}, now, 15min);
    };
    // 100 kW for 30 min = 50 kWh. Above min_soc at 50 %: 45 % of 200 kWh × √0.9 ≈ 85.4 kWh.
    BOOST_TEST(assess(act(up, 100.0_kW, 0s, 1800s), 50.0).feasible);
    // At 30 %: 25 % × 200 × 0.949 ≈ 47.4 kWh < 50.
    auto r = assess(act(up, 100.0_kW, 0s, 1800s), 30.0);
    BOOST_TEST(!r.feasible);
    BOOST_TEST(r.reason == "insufficient energy: discharging 100.0 kW for 1800 s needs 50.0 kWh; 47.4 kWh is available "
                           "above min_soc 5.0 % (soc 30.0 %)");
    // Charging: below max_soc 95 % at 80 %: 15 % × 200 / 0.949 ≈ 31.6 kWh of input.
    BOOST_TEST(assess(act(down, 60.0_kW, 0s, 1800s), 80.0).feasible);   // 30 kWh
    BOOST_TEST(!assess(act(down, 80.0_kW, 0s, 1800s), 80.0).feasible);  // 40 kWh
    // Only the part of the window still ahead counts.
    BOOST_TEST(assess(act(up, 100.0_kW, -1500s, 1800s), 10.0).feasible); // 300 s left = 8.3 kWh; 9.5 available
    // Power is clamped to the ratings, and the clamped power is what is assessed.
    auto big = assess(act(up, 300.0_kW, 0s, 60s), 50.0);
    BOOST_TEST(big.feasible);
    BOOST_TEST(big.setpoint == -100.0_kW);
    BOOST_TEST(assess(act(down, 300.0_kW, 0s, 60s), 50.0).setpoint == 100.0_kW);
    // Unknown SoC: refused, with the reason.
    auto unknown = cleori::assess(act(up, 60.0_kW, 0s, 60s), ratings, std::nullopt, {}, {}, now, 15min);
    BOOST_TEST(!unknown.feasible);
    BOOST_TEST(unknown.reason.find("state of charge unknown") == 0u);
    // Open-ended: the assumed window (15 min) is assessed.
    BOOST_TEST(!assess(act(up, 100.0_kW, 0s, std::nullopt), 12.0).feasible); // 25 kWh vs 13.3
    BOOST_TEST(assess(act(up, 100.0_kW, 0s, std::nullopt), 20.0).feasible);  // 25 kWh vs 28.5
}

BOOST_AUTO_TEST_CASE(step_walks_the_phases_and_sums_setpoints) {
    using enum cleori::mfrr_direction;
    std::vector<cleori::tracked_activation> all{
        {act(up, 60.0_kW, 10s, 60s), cleori::activation_phase::scheduled, -60.0_kW, now},
        {act(down, 20.0_kW, 30s, 60s), cleori::activation_phase::scheduled, 20.0_kW, now},
    };
    auto r = cleori::step(all, now, ratings, 15min);
    BOOST_TEST(r.target == 0.0_kW);
    BOOST_TEST((r.next == now + 10s));
    r = cleori::step(all, now + 10s, ratings, 15min);
    BOOST_TEST((r.started == std::vector<std::size_t>{0}));
    BOOST_TEST(r.target == -60.0_kW);
    BOOST_TEST((r.next == now + 30s));
    r = cleori::step(all, now + 30s, ratings, 15min);
    BOOST_TEST(r.target == -40.0_kW); // overlapping activations add up
    r = cleori::step(all, now + 70s, ratings, 15min);
    BOOST_TEST((r.ended == std::vector<std::size_t>{0}));
    BOOST_TEST((all[0].ended == cleori::end_reason::completed));
    BOOST_TEST(r.target == 20.0_kW);
    r = cleori::step(all, now + 90s, ratings, 15min);
    BOOST_TEST(r.target == 0.0_kW);
    BOOST_TEST(!r.next.has_value());
}

BOOST_AUTO_TEST_CASE(step_clamps_the_sum_and_ends_cancelled_and_unseen_ones) {
    using enum cleori::mfrr_direction;
    std::vector<cleori::tracked_activation> all{
        {act(up, 80.0_kW, 0s, 600s), cleori::activation_phase::scheduled, -80.0_kW, now},
        {act(up, 80.0_kW, 0s, std::nullopt), cleori::activation_phase::scheduled, -80.0_kW, now},
    };
    auto r = cleori::step(all, now, ratings, 15min);
    BOOST_TEST(r.target == -100.0_kW);
    all[0].a.status = cleori::activation_status::cancelled;
    r = cleori::step(all, now + 1s, ratings, 15min);
    BOOST_TEST((all[0].ended == cleori::end_reason::cancelled));
    BOOST_TEST(r.target == -80.0_kW);
    BOOST_TEST((r.next == now + 15min)); // the open-ended one, unless a poll sees it again
    r = cleori::step(all, now + 15min, ratings, 15min);
    BOOST_TEST((all[1].ended == cleori::end_reason::lost_contact));
    BOOST_TEST(r.target == 0.0_kW);
}

BOOST_AUTO_TEST_SUITE_END()
