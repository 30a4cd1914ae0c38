#include <cleori/device/ratings.hpp>

#include <boost/test/unit_test.hpp>

#include <limits>

using namespace cleori::literals;
using cleori::requirement;

namespace {
cleori::battery_ratings good() {
    return {.capacity = 200.0_kWh, .max_charge = 100.0_kW, .max_discharge = 100.0_kW,
            .response_time = std::chrono::milliseconds{500}, .round_trip_efficiency = 90.0_pct,
            .chemistry = cleori::chemistry::li_ion};
}
} // namespace

BOOST_AUTO_TEST_SUITE(device_ratings)

BOOST_AUTO_TEST_CASE(good_ratings_pass) {
    BOOST_TEST(cleori::check_mfrr_minimum(good()).empty());
    BOOST_TEST(cleori::meets_mfrr_minimum(good()));
}

BOOST_AUTO_TEST_CASE(reports_every_violation_in_order) {
    auto r = good();
    r.capacity = 80.0_kWh;
    r.max_charge = 40.0_kW;
    r.max_discharge = 30.0_kW;
    r.response_time = std::chrono::milliseconds{2500};
    r.round_trip_efficiency = 80.0_pct;
    r.min_soc = 90.0_pct;
    r.max_soc = 10.0_pct;
    auto const v = cleori::check_mfrr_minimum(r);
    BOOST_TEST_REQUIRE(v.size() == 6u);
    BOOST_TEST((v[0].requirement == requirement::capacity));
    BOOST_TEST(v[0].message == "capacity is 80 kWh; the mFRR minimum is 100 kWh");
    BOOST_TEST((v[1].requirement == requirement::charge_power));
    BOOST_TEST(v[1].message == "max charge power is 40 kW; the mFRR minimum is 50 kW");
    BOOST_TEST((v[2].requirement == requirement::discharge_power));
    BOOST_TEST(v[2].message == "max discharge power is 30 kW; the mFRR minimum is 50 kW");
    BOOST_TEST((v[3].requirement == requirement::response_time));
    BOOST_TEST(v[3].message == "response time is 2500 ms; mFRR requires less than 2000 ms");
    BOOST_TEST((v[4].requirement == requirement::round_trip_efficiency));
    BOOST_TEST(v[4].message == "round-trip efficiency is 80 %; mFRR requires more than 85 % (and at most 100 %)");
    BOOST_TEST((v[5].requirement == requirement::soc_window));
    BOOST_TEST(v[5].message == "SoC window is 90 % to 10 %; it must satisfy 0 <= min_soc < max_soc <= 100");
    BOOST_TEST(!cleori::meets_mfrr_minimum(r));
}

BOOST_AUTO_TEST_CASE(limits_are_inclusive_or_strict_as_cleori_states) {
    auto r = good();
    r.capacity = 100.0_kWh;
    r.max_charge = 50.0_kW;
    r.max_discharge = 50.0_kW;
    r.response_time = std::chrono::milliseconds{1999};
    r.round_trip_efficiency = 85.01_pct;
    BOOST_TEST(cleori::check_mfrr_minimum(r).empty());
    r.response_time = std::chrono::milliseconds{2000};
    r.round_trip_efficiency = 85.0_pct;
    auto const v = cleori::check_mfrr_minimum(r);
    BOOST_TEST_REQUIRE(v.size() == 2u);
    BOOST_TEST((v[0].requirement == requirement::response_time));
    BOOST_TEST((v[1].requirement == requirement::round_trip_efficiency));
}

BOOST_AUTO_TEST_CASE(nan_and_absurd_values_fail) {
    auto r = good();
    r.capacity = cleori::kilowatt_hours{std::numeric_limits<double>::quiet_NaN()};
    r.max_charge = cleori::kilowatts{-100.0};
    r.round_trip_efficiency = 140.0_pct;
    auto const v = cleori::check_mfrr_minimum(r);
    BOOST_TEST_REQUIRE(v.size() == 3u);
    BOOST_TEST(v[0].message == "capacity is nan kWh; the mFRR minimum is 100 kWh");
    BOOST_TEST((v[1].requirement == requirement::charge_power));
    BOOST_TEST((v[2].requirement == requirement::round_trip_efficiency));
}

BOOST_AUTO_TEST_CASE(chemistry_names) {
    BOOST_TEST(cleori::to_string(cleori::chemistry::li_ion) == "li-ion");
    BOOST_TEST(cleori::to_string(cleori::chemistry::lifepo4) == "lifepo4");
    BOOST_TEST(cleori::to_string(cleori::chemistry::flow) == "flow");
    BOOST_TEST(cleori::to_string(cleori::chemistry::sodium_ion) == "sodium-ion");
    BOOST_TEST(cleori::to_string(cleori::chemistry::other) == "other");
}

BOOST_AUTO_TEST_SUITE_END()
