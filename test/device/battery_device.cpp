#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

#include <boost/test/unit_test.hpp>

using namespace cleori::literals;

namespace {
struct configured_battery {
    cleori::battery_ratings r;
    cleori::battery_ratings ratings() const { return r; }
    void async_read_state(auto h) { h(boost::system::error_code{}, cleori::battery_state{}); }
    void async_apply_setpoint(cleori::kilowatts, auto h) { h(boost::system::error_code{}); }
};
} // namespace

BOOST_AUTO_TEST_SUITE(device_battery_device)

BOOST_AUTO_TEST_CASE(exemplar_completes_inline) {
    cleori_test::exemplar_battery b;
    bool read = false;
    b.async_read_state([&](boost::system::error_code ec, cleori::battery_state s) {
        read = true;
        BOOST_TEST(!ec);
        BOOST_TEST_REQUIRE(s.soc.has_value());
        BOOST_TEST(s.soc->in_pct() == 50.0);
    });
    BOOST_TEST(read);
    bool applied = false;
    b.async_apply_setpoint(-80.0_kW, [&](boost::system::error_code ec) { applied = !ec; });
    BOOST_TEST(applied);
    BOOST_TEST(b.last_setpoint.in_kw() == -80.0);
}

BOOST_AUTO_TEST_CASE(ratings_of_reads_either_declaration) {
    cleori_test::exemplar_battery s;
    BOOST_TEST(cleori::ratings_of(s).capacity.in_kwh() == 200.0);
    configured_battery c{cleori::battery_ratings{.capacity = 321.0_kWh}};
    BOOST_TEST(cleori::ratings_of(c).capacity.in_kwh() == 321.0);
    BOOST_TEST(!cleori::check_mfrr_minimum(cleori::ratings_of(c)).empty());
}

BOOST_AUTO_TEST_SUITE_END()
