// The API client against a hostile server, in memory: paging that never ends
// and polls that would fill the memory are cut off with a clear error.
#include <cleori/client/api_client.hpp>

#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>
#include "support/policies.hpp"

namespace {

using client_type = cleori::basic_api_client<cleori::testing::memory_transport, cleori::test::no_retries>;

std::string activation_json(std::size_t i) {
    return R"({"id":"a-)" + std::to_string(i) +
           R"(","direction":"up","power":50,"start_time":"2026-11-26T12:00:00Z","status":"pending"})";
}

template <class Client>
cleori::api_result<cleori::activation_poll> poll(Client& client, boost::asio::io_context& io) {
    std::optional<cleori::api_result<cleori::activation_poll>> out;
    boost::asio::co_spawn(io, client.get_activations("s3cr3t-asset-token", std::chrono::steady_clock::now() + std::chrono::minutes(1)),
                          [&](std::exception_ptr e, cleori::api_result<cleori::activation_poll> r) {
                              if (e) std::rethrow_exception(e);
                              out.emplace(std::move(r));
                          });
    io.run();
    BOOST_TEST_REQUIRE(out.has_value());
    return std::move(*out);
}

} // namespace

BOOST_AUTO_TEST_SUITE(client_api_client)

BOOST_AUTO_TEST_CASE(a_server_that_never_stops_paging_is_cut_off) {
    boost::asio::io_context io;
    std::size_t served = 0;
    cleori::testing::memory_transport t{io.get_executor(), [&](cleori::http_request const&) {
        // One activation a page, and a total that never comes.
        std::string body = R"({"data":[)" + activation_json(served++) +
                           R"(],"pagination":{"limit":100,"offset":0,"total":1000000000}})";
        return std::pair{boost::system::error_code{}, cleori::http_response{200, body, {}}};
    }};
    client_type client{t};
    auto r = poll(client, io);
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->pages == cleori::api_profile_v1::max_poll_pages);
    BOOST_TEST(r->activations.size() == cleori::api_profile_v1::max_poll_pages);
    BOOST_TEST(t.requests.size() == cleori::api_profile_v1::max_poll_pages);
}

BOOST_AUTO_TEST_CASE(a_poll_past_the_activation_limit_is_refused_whole) {
    boost::asio::io_context io;
    std::string body = R"({"data":[)";
    for (std::size_t i = 0; i <= cleori::api_profile_v1::max_poll_activations; ++i) {
        if (i) body += ',';
        body += activation_json(i);
    }
    body += "]}";
    cleori::testing::memory_transport t{io.get_executor(), [&](cleori::http_request const&) {
        return std::pair{boost::system::error_code{}, cleori::http_response{200, body, {}}};
    }};
    client_type client{t};
    auto r = poll(client, io);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().ec == make_error_code(cleori::error::response_too_large));
    BOOST_TEST(r.error().describe().find("GET /v1/activations") != std::string::npos, r.error().describe());
}

BOOST_AUTO_TEST_CASE(a_server_echoing_the_token_does_not_put_it_in_the_error) {
    // Found by fuzzing the HTTP response path.
    boost::asio::io_context io;
    cleori::testing::memory_transport t{io.get_executor(), [&](cleori::http_request const&) {
        return std::pair{boost::system::error_code{},
                         cleori::http_response{401, R"({"error":{"code":"bad s3cr3t-asset-token","message":"token 's3cr3t-asset-token' is unknown; s3cr3t-asset-tokens3cr3t-asset-token"}})", {}}};
    }};
    client_type client{t};
    auto r = poll(client, io);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().message == "token '<redacted>' is unknown; <redacted><redacted>");
    BOOST_TEST(r.error().code == "bad <redacted>");
    BOOST_TEST(r.error().describe().find("s3cr3t") == std::string::npos, r.error().describe());
}

BOOST_AUTO_TEST_CASE(a_retry_after_beyond_the_deadline_is_returned_to_the_caller) {
    // The agent holds the endpoint across calls: it needs the server's wait,
    // and no attempt may be spent inside this call.
    boost::asio::io_context io;
    cleori::testing::memory_transport t{io.get_executor(), [&](cleori::http_request const&) {
        return std::pair{boost::system::error_code{}, cleori::http_response{429, {}, "120"}};
    }};
    cleori::basic_api_client<cleori::testing::memory_transport> client{t}; // the default retry strategy
    auto r = poll(client, io);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().status == 429u);
    BOOST_TEST_REQUIRE(r.error().retry_after.has_value());
    BOOST_TEST(r.error().retry_after->count() == 120000);
    BOOST_TEST(r.error().attempts == 1u);
    BOOST_TEST(t.requests.size() == 1u);
}

// A deadline less than a millisecond away still leaves the attempt its
// time: the transport's timeout is rounded up, never down to zero.
BOOST_AUTO_TEST_CASE(an_attempt_gets_what_is_left_of_the_deadline_rounded_up) {
    boost::asio::io_context io;
    cleori::testing::memory_transport t{io.get_executor(), [&](cleori::http_request const&) {
        return std::pair{boost::system::error_code{}, cleori::http_response{204, {}, {}}};
    }};
    cleori::manual_clock clock;
    struct policies : cleori::test::virtual_time {
        using retry = cleori::no_retry;
    };
    cleori::basic_api_client<cleori::testing::memory_transport, policies> client{t, cleori::no_retry{}, clock};
    std::vector<cleori::telemetry_sample> const one{
        {.time = clock.wall_now(), .power = cleori::kilowatts{1.0}, .soc = std::nullopt}};
    for (auto left : {std::chrono::microseconds(400), std::chrono::microseconds(2500)}) {
        std::optional<cleori::api_result<void>> out;
        client.async_send_telemetry("s3cr3t-asset-token", one, clock.now() + left,
                                    [&](cleori::api_result<void> r) { out.emplace(std::move(r)); });
        io.restart();
        io.run();
        BOOST_TEST_REQUIRE(out.has_value());
        BOOST_TEST(out->has_value());
    }
    BOOST_TEST_REQUIRE(t.requests.size() == 2u);
    BOOST_TEST(t.requests[0].timeout.count() == 1);
    BOOST_TEST(t.requests[1].timeout.count() == 3);
}

// The calls take any completion token, as Asio's own operations do.
BOOST_AUTO_TEST_CASE(every_call_takes_any_completion_token) {
    boost::asio::io_context io;
    cleori::testing::memory_transport t{io.get_executor(), [&](cleori::http_request const& req) {
        if (req.target.starts_with("/v1/activations?"))
            return std::pair{boost::system::error_code{},
                             cleori::http_response{200, "[" + activation_json(7) + "]", {}}};
        if (req.target.ends_with("/confirm")) return std::pair{boost::system::error_code{}, cleori::http_response{409, {}, {}}};
        return std::pair{boost::system::error_code{}, cleori::http_response{204, {}, {}}};
    }};
    client_type client{t};
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    std::string const token = "tok";
    std::vector<cleori::telemetry_sample> const samples{{.time = cleori::parse_rfc3339("2026-11-27T10:00:00Z").value(),
                                                         .power = cleori::kilowatts{-5.0}}};
    cleori::confirmation const c{.time = samples[0].time, .status = cleori::confirmation_status::executing};

    // A callback, run on a strand of its own (its associated executor).
    auto strand = boost::asio::make_strand(io);
    std::optional<cleori::api_result<cleori::activation_poll>> polled;
    bool on_strand = false;
    client.async_get_activations(token, deadline, boost::asio::bind_executor(strand, [&](auto r) {
        on_strand = strand.running_in_this_thread();
        polled.emplace(std::move(r));
    }));
    // Called outside the executor's thread, an operation starts on it (posted);
    // deferred: nothing happens until it is launched.
    BOOST_TEST(t.requests.size() == 0u);
    auto sent = client.async_send_telemetry(token, samples, deadline, boost::asio::deferred);
    BOOST_TEST(t.requests.size() == 0u);
    std::optional<cleori::api_result<void>> telemetry;
    std::move(sent)([&](cleori::api_result<void> r) { telemetry.emplace(std::move(r)); });
    // use_awaitable, inside a coroutine.
    std::optional<cleori::api_result<void>> confirmed;
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
        confirmed.emplace(co_await client.async_confirm(token, "a-7", c, deadline, boost::asio::use_awaitable));
    }, boost::asio::detached);
    io.run();
    BOOST_TEST_REQUIRE(polled.has_value());
    BOOST_TEST_REQUIRE(polled->has_value());
    BOOST_TEST((*polled)->activations.size() == 1u);
    BOOST_TEST(on_strand);
    BOOST_TEST_REQUIRE(telemetry.has_value());
    BOOST_TEST(telemetry->has_value());
    BOOST_TEST_REQUIRE(confirmed.has_value());
    BOOST_TEST(confirmed->has_value()); // 409: already confirmed counts as success
    BOOST_TEST(t.requests.size() == 3u);

    // use_future, with the io_context on another thread.
    io.restart();
    auto work = boost::asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    std::future<cleori::api_result<void>> f = client.async_send_telemetry(token, samples, deadline, boost::asio::use_future);
    auto const r = f.get();
    work.reset();
    runner.join();
    BOOST_TEST(r.has_value());
    BOOST_TEST(t.requests.size() == 4u);
    BOOST_TEST(t.requests.back().body.find("\"power\":-5") != std::string::npos, t.requests.back().body);
}

BOOST_AUTO_TEST_SUITE_END()
