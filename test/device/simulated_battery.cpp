#include <cleori/device/simulated_battery.hpp>

#include <cleori/clock/manual_clock.hpp>

#include <boost/test/unit_test.hpp>

using namespace cleori::literals;
using namespace std::chrono_literals;

namespace {
using battery = cleori::basic_simulated_battery<cleori::manual_clock>;
static_assert(cleori::MfrrCapableBattery<battery>);
cleori::battery_state read(battery& b) {
    cleori::battery_state out;
    b.async_read_state([&](boost::system::error_code, cleori::battery_state s) { out = s; });
    return out;
}
} // namespace

BOOST_AUTO_TEST_SUITE(device_simulated_battery)

BOOST_AUTO_TEST_CASE(follows_the_setpoint_after_the_response_time) {
    cleori::manual_clock clock;
    battery b{clock, 50.0_pct};
    b.async_apply_setpoint(-80.0_kW, [](boost::system::error_code) {});
    clock.advance(499ms);
    BOOST_TEST(read(b).power.value() == 0.0_kW);
    clock.advance(1ms);
    BOOST_TEST(read(b).power.value() == -80.0_kW);
}

BOOST_AUTO_TEST_CASE(soc_integrates_with_the_efficiencies) {
    cleori::manual_clock clock;
    battery b{clock, 50.0_pct, -100.0_kW};
    clock.advance(30min); // 50 kWh out of the battery's terminals → 50 / √0.9 kWh from the cells
    double const expected = 50.0 - 100.0 * (50.0 / std::sqrt(0.9)) / 200.0;
    BOOST_TEST(read(b).soc->in_pct() == expected, boost::test_tools::tolerance(1e-9));
    b.async_apply_setpoint(100.0_kW, [](boost::system::error_code) {});
    clock.advance(500ms + 30min);
    double const back = expected + 100.0 * (50.0 * std::sqrt(0.9)) / 200.0 - 100.0 * (100.0 * 0.5 / 3600.0 / std::sqrt(0.9)) / 200.0;
    BOOST_TEST(read(b).soc->in_pct() == back, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(power_is_clamped_and_stops_at_empty) {
    cleori::manual_clock clock;
    battery b{clock, 1.0_pct};
    b.async_apply_setpoint(-500.0_kW, [](boost::system::error_code) {});
    BOOST_TEST(b.commanded() == -100.0_kW);
    clock.advance(1h);
    auto s = read(b);
    BOOST_TEST(s.soc.value() == 0.0_pct);
    BOOST_TEST(s.power.value() == 0.0_kW);
}

BOOST_AUTO_TEST_CASE(injected_failures_report_errors) {
    cleori::manual_clock clock;
    battery b{clock};
    b.fail_next_reads(1);
    boost::system::error_code ec;
    b.async_read_state([&](boost::system::error_code e, cleori::battery_state) { ec = e; });
    BOOST_TEST(static_cast<bool>(ec));
    b.async_read_state([&](boost::system::error_code e, cleori::battery_state) { ec = e; });
    BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_SUITE_END()
