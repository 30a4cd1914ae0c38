// The asynchronous Modbus TCP client against servers we did not write: the
// libmodbus battery plant (every function code, every type and word order,
// exceptions, misbehaviours, a gateway, a restart) and pymodbus.
#include <cleori/modbus/client.hpp>

#include <cleori/modbus/register_map.hpp>

#include "support/modbus_servers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <thread>

namespace modbus = cleori::modbus;
using cleori::test::run_until;
using boost::system::error_code;

namespace {

// One request run to completion on `io`; fails the test if it never completes.
struct read_result {
    error_code ec;
    modbus::register_block block;
};
read_result read(boost::asio::io_context& io, modbus::client& c, modbus::register_kind kind, std::uint8_t unit,
                 std::uint16_t address, std::uint16_t count) {
    std::optional<read_result> r;
    c.async_read(kind, unit, address, count, [&](error_code ec, modbus::register_block b) { r = read_result{ec, b}; });
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    return *r;
}
error_code write(boost::asio::io_context& io, modbus::client& c, std::uint8_t unit, std::uint16_t address,
                 std::vector<std::uint16_t> values) {
    std::optional<error_code> r;
    if (values.size() == 1) c.async_write_single_register(unit, address, values[0], [&](error_code ec) { r = ec; });
    else c.async_write_multiple_registers(unit, address, values, [&](error_code ec) { r = ec; });
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    return *r;
}
modbus::point pt(modbus::value_type t, modbus::word_order o = modbus::word_order::high_first) {
    modbus::point p{};
    p.type = t;
    p.order = o;
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(modbus_client)

BOOST_AUTO_TEST_CASE(reads_every_type_and_word_order_from_libmodbus) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    auto r = read(io, c, modbus::register_kind::input, 1, 300, 14);
    BOOST_REQUIRE_MESSAGE(!r.ec, r.ec.message());
    BOOST_REQUIRE_EQUAL(r.block.size(), 14u);
    auto at = [&](std::size_t i, std::size_t n) { return r.block.span().subspan(i, n); };
    using modbus::value_type;
    using modbus::word_order;
    BOOST_TEST(*modbus::decode(pt(value_type::u16), at(0, 1)) == 0xBEEF);
    BOOST_TEST(*modbus::decode(pt(value_type::s16), at(1, 1)) == -1234);
    BOOST_TEST(*modbus::decode(pt(value_type::u32), at(2, 2)) == 0x12345678);
    BOOST_TEST(*modbus::decode(pt(value_type::u32, word_order::low_first), at(4, 2)) == 0x12345678);
    BOOST_TEST(*modbus::decode(pt(value_type::s32), at(6, 2)) == -123456789);
    BOOST_TEST(*modbus::decode(pt(value_type::s32, word_order::low_first), at(8, 2)) == -123456789);
    BOOST_TEST(*modbus::decode(pt(value_type::f32), at(10, 2)) == -1234.5);
    BOOST_TEST(*modbus::decode(pt(value_type::f32, word_order::low_first), at(12, 2)) == -1234.5);
    // The wrong word order gives a different value: the test pattern tells them apart.
    BOOST_TEST(*modbus::decode(pt(value_type::u32), at(4, 2)) != 0x12345678);
    BOOST_TEST(c.stats().connects == 1u);
}

BOOST_AUTO_TEST_CASE(writes_with_functions_6_and_16_and_reads_them_back) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    using modbus::value_type;
    using modbus::word_order;
    // Every type and word order, encoded by the map's codec, written with 16, read with 3.
    std::uint16_t address = 200;
    struct item {
        modbus::point p;
        double value;
    };
    std::vector<item> items{{pt(value_type::u16), 65535},
                            {pt(value_type::s16), -32767},
                            {pt(value_type::u32), 4000000000.0},
                            {pt(value_type::u32, word_order::low_first), 70000},
                            {pt(value_type::s32), -2000000000.0},
                            {pt(value_type::s32, word_order::low_first), -70000},
                            {pt(value_type::f32), 0.15625},
                            {pt(value_type::f32, word_order::low_first), -98765.5}};
    std::vector<std::uint16_t> at;
    for (auto const& it : items) {
        auto enc = modbus::encode(it.p, it.value);
        BOOST_REQUIRE(enc);
        auto const [w, n] = *enc;
        at.push_back(address);
        BOOST_REQUIRE_MESSAGE(!write(io, c, 1, address, std::vector<std::uint16_t>(w.begin(), w.begin() + n)), "write");
        address = static_cast<std::uint16_t>(address + n);
    }
    auto r = read(io, c, modbus::register_kind::holding, 1, 200, static_cast<std::uint16_t>(address - 200));
    BOOST_REQUIRE_MESSAGE(!r.ec, r.ec.message());
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto const n = modbus::register_count(items[i].p.type);
        BOOST_TEST(*modbus::decode(items[i].p, r.block.span().subspan(at[i] - 200u, n)) == items[i].value);
    }
    // Function 6 on one register of the scratch area.
    BOOST_REQUIRE(!write(io, c, 1, 299, {4242}));
    BOOST_TEST(read(io, c, modbus::register_kind::holding, 1, 299, 1).block[0] == 4242);
}

BOOST_AUTO_TEST_CASE(exception_responses_are_named_errors) {
    auto plant = cleori::test::libmodbus_plant({"--units", "1,2"});
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    auto r = read(io, c, modbus::register_kind::holding, 1, 500, 2);
    BOOST_TEST((r.ec == modbus::errc::illegal_data_address));
    BOOST_TEST(r.ec.message().find("illegal data address") != std::string::npos);
    BOOST_TEST((write(io, c, 1, 450, {1}) == modbus::errc::illegal_data_address));
    // A unit the gateway does not serve.
    BOOST_TEST((read(io, c, modbus::register_kind::input, 7, 0, 2).ec == modbus::errc::gateway_target_failed));
    BOOST_TEST(c.stats().exceptions == 3u);
    // Requests the protocol cannot carry never reach the wire.
    BOOST_TEST((read(io, c, modbus::register_kind::holding, 1, 0, 0).ec == modbus::errc::invalid_request));
    BOOST_TEST((read(io, c, modbus::register_kind::holding, 1, 0, 126).ec == modbus::errc::invalid_request));
    BOOST_TEST((read(io, c, modbus::register_kind::holding, 1, 65535, 2).ec == modbus::errc::invalid_request));
    BOOST_TEST((write(io, c, 1, 200, std::vector<std::uint16_t>(124, 1)) == modbus::errc::invalid_request));
    BOOST_TEST((write(io, c, 1, 65535, {1, 2}) == modbus::errc::invalid_request)); // past the last register
    // The connection survived every exception.
    BOOST_TEST(!read(io, c, modbus::register_kind::input, 1, 0, 4).ec);
    BOOST_TEST(c.stats().connects == 1u);
}

BOOST_AUTO_TEST_CASE(a_server_that_does_not_answer_times_out_and_the_next_request_reconnects) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port(), {.request_timeout = std::chrono::milliseconds(300)}};
    BOOST_REQUIRE(!write(io, c, 1, 104, {3})); // the plant ignores the next request
    auto const t0 = std::chrono::steady_clock::now();
    auto r = read(io, c, modbus::register_kind::input, 1, 0, 4);
    auto const took = std::chrono::steady_clock::now() - t0;
    BOOST_TEST((r.ec == modbus::errc::timeout));
    BOOST_TEST(took >= std::chrono::milliseconds(290));
    BOOST_TEST(c.stats().timeouts == 1u);
    auto again = read(io, c, modbus::register_kind::input, 1, 0, 4);
    BOOST_TEST(!again.ec, again.ec.message());
    BOOST_TEST(c.stats().connects == 2u);
}

BOOST_AUTO_TEST_CASE(a_frame_with_a_wrong_transaction_id_is_skipped) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port(), {.request_timeout = std::chrono::milliseconds(300)}};
    BOOST_REQUIRE(!write(io, c, 1, 104, {1})); // the next answer carries transaction id + 1
    auto r = read(io, c, modbus::register_kind::input, 1, 0, 4);
    // Its id is not ours: it is never taken as the answer.
    BOOST_TEST((r.ec == modbus::errc::timeout));
    BOOST_TEST(c.stats().stale_frames == 1u);
    BOOST_TEST(!read(io, c, modbus::register_kind::input, 1, 0, 4).ec);
}

BOOST_AUTO_TEST_CASE(exception_codes_outside_the_standard_never_read_as_success_or_as_our_own) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    // Code 0 does not exist: as an error_code it would read as success.
    BOOST_REQUIRE(!write(io, c, 1, 104, {5}));
    auto r = read(io, c, modbus::register_kind::input, 1, 0, 4);
    BOOST_TEST((r.ec == modbus::errc::unexpected_response), r.ec.message());
    // Code 100 is the device's, not the client's timeout.
    BOOST_REQUIRE(!write(io, c, 1, 104, {6}));
    r = read(io, c, modbus::register_kind::input, 1, 0, 4);
    BOOST_TEST(r.ec.value() == 100);
    BOOST_TEST((r.ec != modbus::errc::timeout));
    BOOST_TEST(r.ec.message() == "Modbus exception 100 (not a standard code)");
    BOOST_TEST(c.stats().timeouts == 0u);
    BOOST_TEST(!read(io, c, modbus::register_kind::input, 1, 0, 4).ec);
}

BOOST_AUTO_TEST_CASE(a_server_that_closes_mid_frame_is_a_closed_connection) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    BOOST_REQUIRE(!write(io, c, 1, 104, {2})); // five bytes of the next answer, then close
    auto r = read(io, c, modbus::register_kind::input, 1, 0, 4);
    BOOST_TEST((r.ec == modbus::errc::connection_closed), r.ec.message());
    BOOST_TEST(c.stats().resent == 0u); // part of an answer came: not sent again
    BOOST_TEST(!read(io, c, modbus::register_kind::input, 1, 0, 4).ec);
}

BOOST_AUTO_TEST_CASE(a_connection_closed_before_the_request_is_sent_again_once) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    BOOST_REQUIRE(!write(io, c, 1, 104, {4})); // the next request: close without a byte
    auto r = read(io, c, modbus::register_kind::input, 1, 2, 1);
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.block[0] == 500u); // 50.0 % SoC: the real answer, from a new connection
    BOOST_TEST(c.stats().resent == 1u);
    BOOST_TEST(c.stats().connects == 2u);
}

BOOST_AUTO_TEST_CASE(reconnects_after_the_server_restarts) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    BOOST_REQUIRE(!write(io, c, 1, 250, {77}));
    plant.restart(); // SIGKILL: the old connection is reset, the scratch register is lost
    auto r = read(io, c, modbus::register_kind::holding, 1, 250, 1);
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.block[0] == 0u);
    BOOST_TEST(c.stats().connects == 2u);
}

BOOST_AUTO_TEST_CASE(a_server_that_is_down_fails_each_request_with_the_socket_error) {
    std::string port;
    {
        auto plant = cleori::test::libmodbus_plant();
        port = plant.port();
        plant.stop();
    }
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", port};
    auto r = read(io, c, modbus::register_kind::input, 1, 0, 1);
    BOOST_TEST((r.ec == boost::asio::error::connection_refused), r.ec.message());
    BOOST_TEST(c.stats().connect_failures == 1u);
}

BOOST_AUTO_TEST_CASE(a_gateway_serves_two_units_on_one_connection) {
    auto plant = cleori::test::libmodbus_plant({"--units", "1,2"});
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    // Both devices' requests queue at once; each lands on its own unit.
    int done = 0;
    std::vector<std::uint16_t> const one{1, 1111}, two{2, 2222};
    c.async_write_multiple_registers(1, 200, one, [&](error_code ec) { BOOST_TEST(!ec); ++done; });
    c.async_write_multiple_registers(2, 200, two, [&](error_code ec) { BOOST_TEST(!ec); ++done; });
    std::vector<std::uint16_t> got(2);
    for (std::uint8_t u : {std::uint8_t{1}, std::uint8_t{2}})
        c.async_read_holding_registers(u, 201, 1, [&, u](error_code ec, modbus::register_block b) {
            BOOST_TEST(!ec);
            got[u - 1u] = b[0];
            ++done;
        });
    BOOST_REQUIRE(run_until(io, [&] { return done == 4; }));
    BOOST_TEST(got[0] == 1111u);
    BOOST_TEST(got[1] == 2222u);
    BOOST_TEST(c.stats().connects == 1u);
}

BOOST_AUTO_TEST_CASE(many_requests_in_flight_complete_in_order_with_their_own_answers) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port(), {.request_timeout = std::chrono::seconds(20)}};
    std::vector<int> order;
    for (std::uint16_t k = 0; k < 100; ++k)
        c.async_write_single_register(1, static_cast<std::uint16_t>(200 + k), static_cast<std::uint16_t>(k * 3),
                                      [&, k](error_code ec) {
                                          BOOST_TEST(!ec);
                                          order.push_back(k);
                                      });
    modbus::register_block back;
    c.async_read_holding_registers(1, 200, 100, [&](error_code ec, modbus::register_block b) {
        BOOST_TEST(!ec);
        back = b;
        order.push_back(100);
    });
    BOOST_REQUIRE(run_until(io, [&] { return order.size() == 101; }, std::chrono::seconds(20)));
    for (int k = 0; k <= 100; ++k) BOOST_TEST(order[static_cast<std::size_t>(k)] == k);
    for (std::size_t k = 0; k < 100; ++k) BOOST_TEST(back[k] == k * 3);
}

BOOST_AUTO_TEST_CASE(takes_asio_completion_tokens) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    // use_awaitable, with as_tuple
    std::optional<std::uint16_t> soc;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            auto [ec, b] = co_await c.async_read_input_registers(1, 2, 1, boost::asio::as_tuple(boost::asio::use_awaitable));
            if (!ec) soc = b[0];
        },
        boost::asio::detached);
    BOOST_REQUIRE(run_until(io, [&] { return soc.has_value(); }));
    BOOST_TEST(*soc == 500u);
    // deferred: nothing is sent until the operation is launched
    auto op = c.async_write_single_register(1, 260, 9, boost::asio::deferred);
    auto const before = c.stats().requests;
    BOOST_TEST(c.stats().requests == before);
    std::optional<error_code> wrote;
    std::move(op)([&](error_code ec) { wrote = ec; });
    BOOST_REQUIRE(run_until(io, [&] { return wrote.has_value(); }));
    BOOST_TEST(!*wrote);
    // use_future, with the executor run on another thread
    auto fut = c.async_read_holding_registers(1, 260, 1, boost::asio::use_future);
    std::thread runner([&] {
        io.restart();
        io.run_for(std::chrono::seconds(5));
    });
    auto const b = fut.get();
    runner.join();
    BOOST_TEST(b[0] == 9u);
}

BOOST_AUTO_TEST_CASE(destroying_the_client_aborts_what_is_pending) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    std::optional<error_code> r;
    {
        modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
        c.async_read_input_registers(1, 0, 2, [&](error_code ec, modbus::register_block) { r = ec; });
    }
    BOOST_REQUIRE(run_until(io, [&] { return r.has_value(); }));
    BOOST_TEST((*r == boost::asio::error::operation_aborted));
    io.restart();
    io.run_for(std::chrono::milliseconds(50)); // nothing left behind touches the client
}

BOOST_AUTO_TEST_CASE(close_aborts_what_is_pending_and_what_comes_after) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    BOOST_REQUIRE(!read(io, c, modbus::register_kind::input, 1, 0, 2).ec);
    std::optional<error_code> pending;
    c.async_read_input_registers(1, 0, 2, [&](error_code ec, modbus::register_block) { pending = ec; });
    c.close();
    BOOST_REQUIRE(run_until(io, [&] { return pending.has_value(); }));
    BOOST_TEST((*pending == boost::asio::error::operation_aborted));
    BOOST_TEST((read(io, c, modbus::register_kind::input, 1, 0, 2).ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(resolves_a_host_name) {
    auto plant = cleori::test::libmodbus_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "localhost", plant.port()};
    auto r = read(io, c, modbus::register_kind::input, 1, 2, 1);
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.block[0] == 500u);
    modbus::client nowhere{io.get_executor(), "no-such-host.invalid", plant.port()};
    BOOST_TEST(read(io, nowhere, modbus::register_kind::input, 1, 2, 1).ec);
    BOOST_TEST(nowhere.stats().connect_failures == 1u);
}

BOOST_AUTO_TEST_CASE(interoperates_with_pymodbus) {
    auto plant = cleori::test::sunspec_plant();
    boost::asio::io_context io;
    modbus::client c{io.get_executor(), "127.0.0.1", plant.port()};
    auto r = read(io, c, modbus::register_kind::holding, 1, 40000, 4);
    BOOST_REQUIRE_MESSAGE(!r.ec, r.ec.message() << "\n" << plant.log());
    BOOST_TEST(r.block[0] == 0x5375u); // "SunS"
    BOOST_TEST(r.block[1] == 0x6e53u);
    BOOST_TEST(r.block[2] == 1u); // the common model comes first
    // Past the end of the served registers: pymodbus answers with an exception.
    BOOST_TEST((read(io, c, modbus::register_kind::holding, 1, 65000, 4).ec == modbus::errc::illegal_data_address));
}

BOOST_AUTO_TEST_SUITE_END()
