#include <cleori/units/quantity.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace cleori::literals;
using namespace std::chrono_literals;
using cleori::kilowatt_hours;
using cleori::kilowatts;
using cleori::percent;

BOOST_AUTO_TEST_SUITE(units_quantity)

BOOST_AUTO_TEST_CASE(literals_and_accessors) {
    BOOST_TEST((42.5_kW).in_kw() == 42.5);
    BOOST_TEST((100_kWh).in_kwh() == 100.0);
    BOOST_TEST((55.5_pct).in_pct() == 55.5);
    BOOST_TEST((50_pct).fraction() == 0.5);
    BOOST_TEST(kilowatts{}.in_kw() == 0.0);
}

BOOST_AUTO_TEST_CASE(same_kind_arithmetic) {
    BOOST_TEST((10_kW + 5_kW).in_kw() == 15.0);
    BOOST_TEST((10_kW - 15_kW).in_kw() == -5.0);
    BOOST_TEST((-(10_kW)).in_kw() == -10.0);
    BOOST_TEST((10_kW * 3).in_kw() == 30.0);
    BOOST_TEST((3 * 10_kW).in_kw() == 30.0);
    BOOST_TEST((10_kW / 4).in_kw() == 2.5);
    BOOST_TEST(30_kW / 60_kW == 0.5);
    kilowatts p = 1_kW;
    p += 2_kW;
    p -= 0.5_kW;
    BOOST_TEST(p.in_kw() == 2.5);
    BOOST_TEST((20_pct + 30_pct).in_pct() == 50.0);
}

BOOST_AUTO_TEST_CASE(power_times_duration_is_energy) {
    BOOST_TEST((50_kW * 15min).in_kwh() == 12.5);
    BOOST_TEST((1h * 100_kW).in_kwh() == 100.0);
    BOOST_TEST((36_kW * 100s).in_kwh() == 1.0);
    BOOST_TEST((-100_kW * 30min).in_kwh() == -50.0);
}

BOOST_AUTO_TEST_CASE(energy_over_time_and_power) {
    BOOST_TEST((12.5_kWh / 15min).in_kw() == 50.0);
    BOOST_TEST((100_kWh / 50_kW).count() == 7200.0);
    BOOST_TEST(std::chrono::duration_cast<std::chrono::minutes>(100_kWh / 400_kW).count() == 15);
}

BOOST_AUTO_TEST_CASE(shares_of_energy_and_power) {
    BOOST_TEST((200_kWh * 40_pct).in_kwh() == 80.0);
    BOOST_TEST((40_pct * 200_kWh).in_kwh() == 80.0);
    BOOST_TEST((100_kW * 90_pct).in_kw() == 90.0);
}

BOOST_AUTO_TEST_CASE(ordering_and_helpers) {
    BOOST_TEST((1_kW < 2_kW));
    BOOST_TEST((2_kWh >= 2_kWh));
    BOOST_TEST((1_kW != 2_kW));
    BOOST_TEST(cleori::abs(-3_kW).in_kw() == 3.0);
    BOOST_TEST(cleori::min(3_kW, -1_kW).in_kw() == -1.0);
    BOOST_TEST(cleori::max(3_kW, -1_kW).in_kw() == 3.0);
    BOOST_TEST(cleori::clamp(120_kW, -100_kW, 100_kW).in_kw() == 100.0);
    BOOST_TEST(cleori::clamp(-120_kW, -100_kW, 100_kW).in_kw() == -100.0);
    BOOST_TEST(cleori::clamp(7_kW, -100_kW, 100_kW).in_kw() == 7.0);
}

BOOST_AUTO_TEST_CASE(nan_is_unordered) {
    kilowatts const nan{std::numeric_limits<double>::quiet_NaN()};
    BOOST_TEST(!(nan < 0_kW));
    BOOST_TEST(!(nan >= 0_kW));
    BOOST_TEST(!(nan == nan));
}

BOOST_AUTO_TEST_SUITE_END()
