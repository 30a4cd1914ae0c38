// cleori::modbus_battery against the libmodbus plant (the example vendor map)
// and the pymodbus SunSpec plant (the shipped SunSpec map): signs, scales,
// scale factors, the heartbeat, faults with the device's own words.
#include <cleori/modbus/modbus_battery.hpp>

#include "support/exemplar_battery.hpp"
#include "support/modbus_servers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <thread>

namespace modbus = cleori::modbus;
using namespace cleori::literals;
using boost::system::error_code;
using cleori::test::run_until;

namespace {

modbus::register_map map_file(std::string const& name) {
    std::string why;
    auto m = modbus::load_register_map(std::string(CLEORI_MAPS_DIR) + "/" + name, &why);
    BOOST_REQUIRE_MESSAGE(m, why);
    return *m;
}

struct reading {
    error_code ec;
    cleori::battery_state state;
};
reading read_state(boost::asio::io_context& io, cleori::modbus_battery& b) {
    std::optional<reading> r;
    b.async_read_state([&](error_code ec, cleori::battery_state s) { r = reading{ec, s}; });
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    return *r;
}
error_code apply(boost::asio::io_context& io, cleori::modbus_battery& b, cleori::kilowatts p) {
    std::optional<error_code> r;
    b.async_apply_setpoint(p, [&](error_code ec) { r = ec; });
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    return *r;
}
std::int32_t read_s32(boost::asio::io_context& io, modbus::client& c, modbus::register_kind k, std::uint16_t at) {
    std::optional<modbus::register_block> r;
    c.async_read(k, 1, at, 2, [&](error_code ec, modbus::register_block b) {
        BOOST_TEST(!ec);
        r = b;
    });
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    return static_cast<std::int32_t>((std::uint32_t{(*r)[0]} << 16) | (*r)[1]);
}
void write_register(boost::asio::io_context& io, modbus::client& c, std::uint16_t at, std::uint16_t v) {
    std::optional<error_code> r;
    c.async_write_single_register(1, at, v, [&](error_code ec) { r = ec; });
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    BOOST_REQUIRE(!*r);
}
// Reads until `pred(state)` or the time is up.
template <class Pred>
cleori::battery_state read_until(boost::asio::io_context& io, cleori::modbus_battery& b, Pred pred,
                                 std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto const until = std::chrono::steady_clock::now() + limit;
    cleori::battery_state s{};
    do {
        auto r = read_state(io, b);
        BOOST_REQUIRE_MESSAGE(!r.ec, r.ec.message());
        s = r.state;
        if (pred(s)) break;
        io.restart();
        io.run_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < until);
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(modbus_battery)

BOOST_AUTO_TEST_CASE(maps_sign_and_scale_both_ways_on_the_vendor_map) {
    auto plant = cleori::test::libmodbus_plant({"--response-ms", "300", "--capacity-kwh", "2"});
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    cleori::modbus_battery b{c, map_file("example_pcs.json"), cleori_test::plant_ratings};
    static_assert(cleori::BatteryDevice<cleori::modbus_battery>);

    auto first = read_state(io, b);
    BOOST_REQUIRE_MESSAGE(!first.ec, first.ec.message());
    BOOST_TEST(first.state.power->in_kw() == 0.0);
    BOOST_TEST(first.state.soc->in_pct() == 50.0);

    // Cleori's −62.5 kW (discharge) is +62500 W on this PCS (+ = discharge).
    BOOST_REQUIRE(!apply(io, b, -62.5_kW));
    BOOST_TEST(read_s32(io, c, modbus::register_kind::holding, 100) == 62500);
    auto s = read_until(io, b, [](auto const& st) { return st.power && st.power->in_kw() < -1.0; });
    BOOST_TEST(s.power->in_kw() == -62.5); // measured, back in Cleori's sign
    auto later = read_until(io, b, [&](auto const& st) { return st.soc->in_pct() < 50.0; });
    BOOST_TEST(later.soc->in_pct() < 50.0); // discharging lowers the SoC

    BOOST_REQUIRE(!apply(io, b, 40.0_kW)); // charge
    BOOST_TEST(read_s32(io, c, modbus::register_kind::holding, 100) == -40000);
    s = read_until(io, b, [](auto const& st) { return st.power && st.power->in_kw() > 1.0; });
    BOOST_TEST(s.power->in_kw() == 40.0);
    BOOST_TEST(b.stats().setpoints == 2u);
    BOOST_TEST(!b.fault().has_value());
}

BOOST_AUTO_TEST_CASE(a_fault_in_the_status_register_refuses_setpoints_with_the_devices_words) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    cleori::modbus_battery b{c, map_file("example_pcs.json"), cleori_test::plant_ratings};
    write_register(io, c, 103, 3); // the plant's PCS faults
    auto const ec = apply(io, b, -50.0_kW);
    BOOST_TEST((ec.category() == modbus::device_error_category()));
    BOOST_TEST(ec.message() == "PCS fault (status 3)");
    BOOST_TEST(read_s32(io, c, modbus::register_kind::holding, 100) == 0); // nothing was written
    // Readings go on: telemetry still flows while the PCS is in fault.
    auto r = read_state(io, b);
    BOOST_TEST(!r.ec);
    BOOST_TEST(r.state.soc.has_value());
    BOOST_TEST(b.fault().value() == "PCS fault (status 3)");
    write_register(io, c, 103, 0);
    BOOST_TEST(!apply(io, b, -50.0_kW));
    BOOST_TEST(!b.fault().has_value());
    BOOST_TEST(b.stats().setpoint_failures == 1u);
}

BOOST_AUTO_TEST_CASE(the_heartbeat_keeps_the_pcs_watchdog_fed) {
    auto plant = cleori::test::libmodbus_plant({"--watchdog-ms", "1500", "--response-ms", "100"});
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    auto fed = map_file("example_pcs.json");
    fed.heartbeat->period = std::chrono::milliseconds(300);
    auto starved = fed;
    starved.heartbeat.reset();
    {
        cleori::modbus_battery b{c, fed, cleori_test::plant_ratings};
        io.restart();
        io.run_for(std::chrono::milliseconds(2500)); // longer than the watchdog
        BOOST_TEST(b.stats().heartbeats >= 5u);
        BOOST_TEST(b.stats().heartbeat_failures == 0u);
        BOOST_TEST(!apply(io, b, 30.0_kW));
        auto s = read_until(io, b, [](auto const& st) { return st.power && st.power->in_kw() > 1.0; });
        BOOST_TEST(s.power->in_kw() == 30.0);
    }
    // Without the heartbeat the watchdog expires: the PCS stops and says why.
    cleori::modbus_battery b{c, starved, cleori_test::plant_ratings};
    std::this_thread::sleep_for(std::chrono::milliseconds(2000)); // nothing to run: no heartbeat
    auto const ec = apply(io, b, 30.0_kW);
    BOOST_TEST(ec.message() == "watchdog expired (status 5)");
    auto r = read_state(io, b);
    BOOST_TEST(r.state.power->in_kw() == 0.0);
}

BOOST_AUTO_TEST_CASE(an_older_setpoint_never_lands_after_a_newer_one) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    cleori::modbus_battery b{c, map_file("example_pcs.json"), cleori_test::plant_ratings};
    // Two commands in a row, as the agent sends after a deadline: each reads
    // the status before it writes, so the first one's write would otherwise
    // follow the second one's status read.
    std::optional<error_code> first, second;
    b.async_apply_setpoint(-50.0_kW, [&](error_code ec) { first = ec; });
    b.async_apply_setpoint(0.0_kW, [&](error_code ec) { second = ec; });
    BOOST_REQUIRE(run_until(io, [&] { return first && second; }));
    BOOST_TEST((*first == boost::asio::error::operation_aborted));
    BOOST_TEST(!*second);
    BOOST_TEST(read_s32(io, c, modbus::register_kind::holding, 100) == 0);
    BOOST_TEST(plant.log().find("setpoint_w=50000") == std::string::npos, plant.log()); // never written
}

BOOST_AUTO_TEST_CASE(a_battery_that_outlives_its_client_aborts_instead_of_crashing) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    auto fed = map_file("example_pcs.json");
    fed.heartbeat->period = std::chrono::milliseconds(100);
    auto c = std::make_unique<modbus::client>(io.get_executor(), "127.0.0.1", plant.port());
    cleori::modbus_battery b{*c, fed, cleori_test::plant_ratings};
    BOOST_REQUIRE(!read_state(io, b).ec);
    std::optional<error_code> pending;
    b.async_apply_setpoint(-20.0_kW, [&](error_code ec) { pending = ec; });
    c.reset(); // the gateway's connection goes first; ASan checks nothing touches it after
    BOOST_REQUIRE(run_until(io, [&] { return pending.has_value(); }));
    BOOST_TEST((*pending == boost::asio::error::operation_aborted));
    io.restart();
    io.run_for(std::chrono::milliseconds(400)); // heartbeats due
    BOOST_TEST((read_state(io, b).ec == boost::asio::error::operation_aborted));
    BOOST_TEST((apply(io, b, 0.0_kW) == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(a_dead_plc_fails_operations_within_the_request_timeout) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port(), {.request_timeout = std::chrono::milliseconds(200)}};
    cleori::modbus_battery b{c, map_file("example_pcs.json"), cleori_test::plant_ratings};
    BOOST_REQUIRE(!read_state(io, b).ec);
    write_register(io, c, 104, 3); // the next request is never answered
    auto r = read_state(io, b);
    BOOST_TEST((r.ec == modbus::errc::timeout));
    BOOST_TEST(b.stats().read_failures == 1u);
    BOOST_TEST(!read_state(io, b).ec); // and the next one reconnects
}

BOOST_AUTO_TEST_CASE(drives_the_sunspec_plant_through_the_shipped_sunspec_map) {
    auto plant = cleori::test::sunspec_plant({"--response-ms", "200", "--capacity-kwh", "2"});
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    cleori::modbus_battery b{c, map_file("sunspec_storage.json"), cleori_test::plant_ratings};
    auto first = read_state(io, b);
    BOOST_REQUIRE_MESSAGE(!first.ec, first.ec.message() << "\n" << plant.log());
    BOOST_TEST(first.state.soc->in_pct() == 50.0, boost::test_tools::tolerance(0.05));
    BOOST_TEST(first.state.power->in_kw() == 0.0);
    // The models were found by walking the chain: every point has an address now.
    BOOST_TEST(b.map().setpoint.where.address.has_value());
    BOOST_TEST(*b.map().setpoint.where.address > 40000u);

    auto const ec = apply(io, b, -60.0_kW);
    BOOST_REQUIRE_MESSAGE(!ec, ec.message() << "\n" << plant.log());
    auto s = read_until(io, b, [](auto const& st) { return st.power && st.power->in_kw() < -1.0; });
    BOOST_TEST(s.power->in_kw() == -60.0, boost::test_tools::tolerance(0.001));
    auto later = read_until(io, b, [&](auto const& st) { return st.soc->in_pct() < first.state.soc->in_pct(); });
    BOOST_TEST(later.soc->in_pct() < first.state.soc->in_pct());
    BOOST_REQUIRE(!apply(io, b, 25.0_kW));
    s = read_until(io, b, [](auto const& st) { return st.power && st.power->in_kw() > 1.0; });
    BOOST_TEST(s.power->in_kw() == 25.0, boost::test_tools::tolerance(0.001));
}

BOOST_AUTO_TEST_CASE(a_sunspec_model_the_device_lacks_is_named) {
    auto plant = cleori::test::sunspec_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    auto m = map_file("sunspec_storage.json");
    m.soc.where.model = 999;
    cleori::modbus_battery b{c, m, cleori_test::plant_ratings};
    auto r = read_state(io, b);
    BOOST_TEST((r.ec.category() == modbus::device_error_category()));
    BOOST_TEST(r.ec.message().find("SunSpec model 999 (point 'soc') is not on unit 1; the device offers models 1 ") == 0u,
               r.ec.message());
    // A device without the marker.
    auto vendor_plant = cleori::test::libmodbus_plant();
    modbus::client v{io.get_executor(), "127.0.0.1", vendor_plant.port()};
    cleori::modbus_battery nb{v, map_file("sunspec_storage.json"), cleori_test::plant_ratings};
    BOOST_TEST((read_state(io, nb).ec == modbus::errc::sunspec_not_found));
}

BOOST_AUTO_TEST_SUITE_END()
