#include <cleori/clock/manual_clock.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <vector>

using namespace std::chrono_literals;
namespace asio = boost::asio;

BOOST_AUTO_TEST_SUITE(clock_manual_clock)

BOOST_AUTO_TEST_CASE(timers_fire_in_order_at_their_virtual_time) {
    asio::io_context io;
    cleori::manual_clock clock{cleori::parse_rfc3339("2026-11-26T00:00:00Z").value()};
    auto const start = clock.now();
    std::vector<std::pair<int, double>> fired;
    auto waiter = [&](int id, std::chrono::seconds d) -> asio::awaitable<void> {
        auto t = clock.make_timer(io.get_executor());
        t.expires_after(d);
        co_await t.async_wait(asio::use_awaitable);
        fired.emplace_back(id, std::chrono::duration<double>(clock.now() - start).count());
        if (id == 1) { // a timer set by a handler fires at the right time too
            auto t2 = clock.make_timer(io.get_executor());
            t2.expires_after(1s);
            co_await t2.async_wait(asio::use_awaitable);
            fired.emplace_back(10, std::chrono::duration<double>(clock.now() - start).count());
        }
    };
    asio::co_spawn(io, waiter(2, 30s), asio::detached);
    asio::co_spawn(io, waiter(1, 10s), asio::detached);
    clock.run_for(io, 1h);
    BOOST_TEST((fired == std::vector<std::pair<int, double>>{{1, 10.0}, {10, 11.0}, {2, 30.0}}));
    BOOST_TEST((clock.now() - start == 1h));
    BOOST_TEST(cleori::to_rfc3339(clock.wall_now()) == "2026-11-26T01:00:00.000Z");
    BOOST_TEST(clock.pending_timers() == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_completes_with_operation_aborted) {
    asio::io_context io;
    cleori::manual_clock clock;
    auto t = clock.make_timer(io.get_executor());
    t.expires_after(1h);
    std::optional<boost::system::error_code> result;
    t.async_wait([&](boost::system::error_code ec) { result = ec; });
    clock.run_for(io, 1s);
    BOOST_TEST(!result.has_value());
    t.cancel();
    clock.run_for(io, 0s);
    BOOST_TEST_REQUIRE(result.has_value());
    BOOST_TEST((*result == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_SUITE_END()
