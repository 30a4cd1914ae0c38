// The API client over the Beast transport against the real simulator on
// loopback sockets.
#include <cleori/client/api_client.hpp>

#include "support/sim_fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <span>
#include <thread>
#include <vector>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

using cleori::test::token;
using cleori::test::wall_now;
using api_client_fixture = cleori::test::sim_fixture;

BOOST_FIXTURE_TEST_SUITE(net_api_client, api_client_fixture)

BOOST_AUTO_TEST_CASE(telemetry_round_trip_on_one_connection) {
    std::vector<cleori::telemetry_sample> sent;
    for (int i = 0; i < 5; ++i) {
        cleori::telemetry_sample s{wall_now() + std::chrono::seconds(i), cleori::kilowatts{-10.0 * i}, 50.0_pct};
        std::optional<cleori::api_result<void>> r;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> {
            r.emplace(co_await client.send_telemetry(token, std::span(&s, 1), deadline()));
        }, asio::detached);
        drive([&] { return r.has_value(); });
        BOOST_TEST_REQUIRE(r.has_value());
        BOOST_TEST_REQUIRE(r->has_value(), r->error().describe());
        sent.push_back(s);
    }
    BOOST_TEST((sim.samples("asset-1") == sent));
    BOOST_TEST(sim.samples("asset-2").empty());
    BOOST_TEST(transport.connections_opened() == 1u);
}

BOOST_AUTO_TEST_CASE(batch_is_delivered_in_order) {
    std::vector<cleori::telemetry_sample> batch;
    for (int i = 0; i < 50; ++i) batch.push_back({wall_now() + std::chrono::seconds(i), std::nullopt, cleori::percent{1.0 * i}});
    std::optional<cleori::api_result<void>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        r.emplace(co_await client.send_telemetry(token, batch, deadline()));
    }, asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && r->has_value()));
    BOOST_TEST((sim.samples("asset-1") == batch));
}

BOOST_AUTO_TEST_CASE(unauthorized_is_not_retried_and_never_shows_the_token) {
    cleori::telemetry_sample s{wall_now(), 1.0_kW, std::nullopt};
    std::optional<cleori::api_result<void>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        r.emplace(co_await client.send_telemetry("wrong-token", std::span(&s, 1), deadline()));
    }, asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST_REQUIRE(!r->has_value());
    auto const& f = r->error();
    BOOST_TEST(f.status == 401u);
    BOOST_TEST(f.attempts == 1u);
    BOOST_TEST(f.ec == make_error_code(cleori::error::http_unauthorized));
    BOOST_TEST(f.code == "unauthenticated");
    BOOST_TEST(f.describe().find("POST /v1/telemetry: 401 Unauthorized") == 0u, f.describe());
    BOOST_TEST(f.describe().find("wrong-token") == std::string::npos);
    BOOST_TEST(sim.api_requests() == 1u);
}

// A token or id that would split the request (CR LF and a header of the
// attacker's choosing, or a space that ends the request line) is refused
// before a byte is sent, once, without a retry and without the token.
BOOST_AUTO_TEST_CASE(a_value_that_would_split_the_request_is_refused_unsent) {
    cleori::telemetry_sample s{wall_now(), 1.0_kW, std::nullopt};
    std::string const injected = std::string(token) + "\r\nX-Injected: 1";
    std::optional<cleori::api_result<void>> first, r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        first.emplace(co_await client.send_telemetry(token, std::span(&s, 1), deadline()));
        r.emplace(co_await client.send_telemetry(injected, std::span(&s, 1), deadline()));
    }, asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((first && first->has_value()));
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST_REQUIRE(!r->has_value());
    BOOST_TEST(r->error().ec == make_error_code(cleori::error::invalid_request_field));
    BOOST_TEST(r->error().attempts == 1u);
    BOOST_TEST(r->error().describe().find(token) == std::string::npos, r->error().describe());

    cleori::confirmation const c{{}, cleori::confirmation_status::executing, std::nullopt, -50.0_kW};
    std::optional<cleori::api_result<void>> spaced, control;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        spaced.emplace(co_await client.confirm("a token", "a-1", c, deadline()));
        control.emplace(co_await client.confirm(token, "a-1", c, deadline()));
    }, asio::detached);
    drive([&] { return control.has_value(); });
    BOOST_TEST_REQUIRE((spaced && !spaced->has_value()));
    BOOST_TEST(spaced->error().ec == make_error_code(cleori::error::invalid_request_field));
    BOOST_TEST_REQUIRE((control && !control->has_value()));
    BOOST_TEST(control->error().status == 404u);
    // Neither refusal touched the connection: the clean requests share one.
    BOOST_TEST(transport.connections_opened() == 1u);
    BOOST_TEST(sim.api_requests() == 2u);
    BOOST_TEST(sim.samples("asset-1").size() == 1u);
}

// A User-Agent that would split every request is a configuration error of
// the transport: reported at once, and no request it carries reaches the wire.
BOOST_AUTO_TEST_CASE(a_user_agent_that_would_split_the_request_is_a_configuration_error) {
    cleori::beast_transport bad{io.get_executor(), "http://127.0.0.1:" + std::to_string(port),
                                {.user_agent = "cleori/1\r\nX-Injected: 1"}};
    BOOST_TEST(bad.config_error() == make_error_code(cleori::error::invalid_request_field));
    auto const [ec, response] = exchange({.method = cleori::http_method::get, .target = "/v1/health"}, &bad);
    BOOST_TEST(ec == make_error_code(cleori::error::invalid_request_field));
    BOOST_TEST(response.status == 0u);
    BOOST_TEST(bad.connections_opened() == 0u);
    BOOST_TEST(sim.api_requests() == 0u);
    // A tab is allowed in a header value.
    cleori::beast_transport tabbed{io.get_executor(), "http://127.0.0.1:" + std::to_string(port),
                                   {.user_agent = "cleori/1\t(site 7)"}};
    BOOST_TEST(!tabbed.config_error());
}

// A stalled exchange with a fleet's queue behind it: when it times out,
// every queued request whose deadline passed meanwhile fails with `timeout`,
// each handler once and in order, and the connection then serves the next
// request. The expired ones are finished one after another in a loop: a
// chain of calls per expired request would run out of stack long before
// this queue's end. The stall outlasts the queue's deadlines by 4.5 s, so
// that queueing 100,000 requests may take seconds (a sanitizer, a loaded
// machine) and every one of them has still expired when the stall ends.
BOOST_AUTO_TEST_CASE(a_queue_that_expired_behind_a_stalled_exchange_fails_in_order) {
    sim.inject({.kind = cleori::sim::fault_kind::latency, .delay = 8s});
    boost::system::error_code stalled;
    bool stalled_done = false;
    transport.async_request({.target = "/v1/activations", .bearer_token = token, .timeout = 5s},
                            [&](boost::system::error_code ec, cleori::http_response) {
                                stalled = ec;
                                stalled_done = true;
                            });
    constexpr std::size_t queued = 100'000;
    std::size_t done = 0, in_order = 0, timed_out = 0;
    for (std::size_t i = 0; i < queued; ++i)
        transport.async_request({.target = "/v1/activations", .bearer_token = token, .timeout = 500ms},
                                [&, i](boost::system::error_code ec, cleori::http_response) {
                                    in_order += i == done ? 1 : 0;
                                    timed_out += ec == make_error_code(cleori::error::timeout) ? 1 : 0;
                                    ++done;
                                });
    drive([&] { return stalled_done && done == queued; }, 30s);
    BOOST_TEST(stalled == make_error_code(cleori::error::timeout), stalled.message());
    BOOST_TEST(done == queued);
    BOOST_TEST(in_order == queued);
    BOOST_TEST(timed_out == queued);
    auto const [ec, response] = exchange({.target = "/v1/activations", .bearer_token = token});
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(response.status == 200u);
}

BOOST_AUTO_TEST_CASE(invalid_telemetry_is_a_422_naming_the_field) {
    // Bypass make_sample's cleaning: a SoC outside 0-100 reaches the server.
    cleori::telemetry_sample s{wall_now(), std::nullopt, cleori::percent{140.0}};
    std::optional<cleori::api_result<void>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        r.emplace(co_await client.send_telemetry(token, std::span(&s, 1), deadline()));
    }, asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && !r->has_value()));
    BOOST_TEST(r->error().status == 422u);
    BOOST_TEST(r->error().message == "sample 0: field 'soc': number is outside the accepted range");
}

BOOST_AUTO_TEST_CASE(retries_503_and_429_honouring_retry_after) {
    // The backoff is 10 ms: only Retry-After can make a retry wait a second.
    sim.inject({.kind = cleori::sim::fault_kind::status, .status = 503, .retry_after = "1", .count = 1});
    sim.inject({.kind = cleori::sim::fault_kind::status, .status = 429, .retry_after = "1", .count = 1});
    sim.inject({.kind = cleori::sim::fault_kind::status, .status = 503, .retry_after = "0", .count = 1});
    std::optional<cleori::api_result<cleori::activation_poll>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.get_activations(token, deadline())); },
                   asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && r->has_value()));
    BOOST_TEST(sim.api_requests() == 4u);
    auto const faults = sim.injected_faults();
    BOOST_TEST_REQUIRE(faults.size() == 3u);
    for (std::size_t i = 0; i < 2; ++i) {
        BOOST_TEST_REQUIRE(faults[i].retried_after.has_value());
        BOOST_TEST(faults[i].retried_after->count() >= 1000, "retry " << i << " after " << faults[i].retried_after->count() << " ms");
    }
    BOOST_TEST_REQUIRE(faults[2].retried_after.has_value());
    BOOST_TEST(faults[2].retried_after->count() < 1000); // "0": at once (after the backoff)
}

BOOST_AUTO_TEST_CASE(no_retry_past_the_deadline) {
    // The server asks for 30 s; the deadline is 1 s away: fail now, do not wait.
    sim.inject({.kind = cleori::sim::fault_kind::status, .status = 503, .retry_after = "30", .count = 5});
    std::optional<cleori::api_result<cleori::activation_poll>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.get_activations(token, deadline(1s))); },
                   asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && !r->has_value()));
    BOOST_TEST(r->error().status == 503u);
    BOOST_TEST(r->error().attempts == 1u);
    BOOST_TEST(sim.api_requests() == 1u);
}

BOOST_AUTO_TEST_CASE(gives_up_after_max_attempts) {
    sim.inject({.kind = cleori::sim::fault_kind::status, .status = 500, .count = 100});
    std::optional<cleori::api_result<cleori::activation_poll>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.get_activations(token, deadline())); },
                   asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && !r->has_value()));
    BOOST_TEST(r->error().attempts == 5u); // first attempt + 4 retries
    BOOST_TEST(r->error().ec == make_error_code(cleori::error::http_server_error));
    BOOST_TEST(sim.api_requests() == 5u);
}

BOOST_AUTO_TEST_CASE(follows_pagination) {
    for (int i = 0; i < 250; ++i)
        sim.add_activation("asset-1", {.id = "act-" + std::to_string(1000 + i), .direction = cleori::mfrr_direction::up,
                                       .power = 60.0_kW, .start_time = wall_now(), .end_time = wall_now() + 15min,
                                       .status = cleori::activation_status::pending});
    sim.add_activation("asset-2", {.id = "other", .direction = cleori::mfrr_direction::down, .power = 60.0_kW,
                                   .start_time = wall_now(), .status = cleori::activation_status::pending});
    std::optional<cleori::api_result<cleori::activation_poll>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.get_activations(token, deadline())); },
                   asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && r->has_value()));
    BOOST_TEST((*r)->activations.size() == 250u, ((*r)->rejected.empty() ? "" : (*r)->rejected[0].reason));
    BOOST_TEST((*r)->pages == 3u);
    BOOST_TEST((*r)->activations.front().id == "act-1000");
    BOOST_TEST((*r)->activations.back().id == "act-1249");
}

BOOST_AUTO_TEST_CASE(confirmation_is_idempotent) {
    sim.add_activation("asset-1", {.id = "a/1 x", .direction = cleori::mfrr_direction::up, .power = 60.0_kW,
                                   .start_time = wall_now(), .end_time = wall_now() + 15min,
                                   .status = cleori::activation_status::pending});
    cleori::confirmation c{wall_now(), cleori::confirmation_status::executing, std::nullopt, -60.0_kW};
    for (int i = 0; i < 2; ++i) {
        std::optional<cleori::api_result<void>> r;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.confirm(token, "a/1 x", c, deadline())); },
                       asio::detached);
        drive([&] { return r.has_value(); });
        BOOST_TEST_REQUIRE((r && r->has_value()), (r && !r->has_value() ? r->error().describe() : ""));
    }
    auto const report = sim.report();
    auto const& act = report.at("assets").at(0).at("activations").at(0);
    BOOST_TEST(act.at("id").as_string() == "a/1 x");
    BOOST_TEST(act.at("confirmations").as_uint64() == 2u); // the second was answered 409
    BOOST_TEST(act.at("confirmed_setpoint_kw").as_double() == -60.0);
}

BOOST_AUTO_TEST_CASE(confirming_another_assets_activation_is_forbidden) {
    sim.add_activation("asset-2", {.id = "theirs", .direction = cleori::mfrr_direction::up, .power = 60.0_kW,
                                   .start_time = wall_now(), .status = cleori::activation_status::pending});
    cleori::confirmation c{wall_now(), cleori::confirmation_status::executing, std::nullopt, -60.0_kW};
    std::optional<cleori::api_result<void>> r;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.confirm(token, "theirs", c, deadline())); },
                   asio::detached);
    drive([&] { return r.has_value(); });
    BOOST_TEST_REQUIRE((r && !r->has_value()));
    BOOST_TEST(r->error().status == 403u);
    BOOST_TEST(r->error().attempts == 1u);
}

BOOST_AUTO_TEST_CASE(bad_responses_are_clear_errors) {
    struct bad_case {
        cleori::sim::fault fault;
        cleori::error expected;
    };
    const bad_case cases[] = {
        {{.kind = cleori::sim::fault_kind::malformed, .count = 1}, cleori::error::json_malformed},
        {{.kind = cleori::sim::fault_kind::oversize, .size = 50u * 1024 * 1024, .count = 1}, cleori::error::response_too_large},
        // count 5 = every attempt (1 + 4 retries), leaving no fault behind
        {{.kind = cleori::sim::fault_kind::truncate, .count = 5}, cleori::error::connection_closed},
        {{.kind = cleori::sim::fault_kind::drop, .count = 5}, cleori::error::connection_closed},
    };
    for (auto const& c : cases) {
        sim.inject(c.fault);
        std::optional<cleori::api_result<cleori::activation_poll>> r;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> { r.emplace(co_await client.get_activations(token, deadline())); },
                       asio::detached);
        drive([&] { return r.has_value(); });
        BOOST_TEST_REQUIRE((r && !r->has_value()));
        BOOST_TEST(r->error().ec == make_error_code(c.expected), r->error().describe());
    }
    // The client is still usable afterwards.
    std::optional<cleori::api_result<cleori::activation_poll>> ok;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { ok.emplace(co_await client.get_activations(token, deadline())); },
                   asio::detached);
    drive([&] { return ok.has_value(); });
    BOOST_TEST_REQUIRE((ok && ok->has_value()));
}

BOOST_AUTO_TEST_CASE(futures_from_a_thread_that_does_not_run_the_io_context) {
    // The io_context runs on its own thread (the simulator's acceptor keeps it
    // busy); this thread starts operations and waits on futures, as a site
    // controller's main loop would.
    sim.add_activation("asset-1", {.id = "f-1", .direction = cleori::mfrr_direction::down, .power = 55.0_kW,
                                   .start_time = wall_now(), .end_time = wall_now() + 15min,
                                   .status = cleori::activation_status::pending});
    cleori::telemetry_sample const s{wall_now(), -5.0_kW, 40.0_pct};
    io.restart();
    std::thread runner([this] { io.run(); });
    auto sent = client.async_send_telemetry(token, std::span(&s, 1), deadline(), asio::use_future);
    auto polled = client.async_get_activations(token, deadline(), asio::use_future);
    bool const sent_ready = sent.wait_for(10s) == std::future_status::ready;
    bool const polled_ready = polled.wait_for(10s) == std::future_status::ready;
    io.stop();
    runner.join();
    BOOST_TEST_REQUIRE(sent_ready);
    BOOST_TEST_REQUIRE(polled_ready);
    auto const telemetry = sent.get();
    BOOST_TEST_REQUIRE(telemetry.has_value(), telemetry.error().describe());
    auto const poll = polled.get();
    BOOST_TEST_REQUIRE(poll.has_value(), poll.error().describe());
    BOOST_TEST_REQUIRE(poll->activations.size() == 1u);
    BOOST_TEST(poll->activations.front().id == "f-1");
    BOOST_TEST((sim.samples("asset-1") == std::vector{s}));
}

BOOST_AUTO_TEST_CASE(plain_http_only_to_loopback) {
    cleori::beast_transport remote{io.get_executor(), "http://cleori.example:8080"};
    BOOST_TEST(remote.config_error() == make_error_code(cleori::error::insecure_url));
    cleori::beast_transport allowed{io.get_executor(), "http://cleori.example:8080", {.allow_insecure_http = true}};
    BOOST_TEST(!allowed.config_error());
    cleori::beast_transport garbage{io.get_executor(), "ftp://x"};
    BOOST_TEST(garbage.config_error() == make_error_code(cleori::error::invalid_url));
}

BOOST_AUTO_TEST_SUITE_END()
