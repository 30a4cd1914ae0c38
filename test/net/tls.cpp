// The Beast transport against the simulator serving TLS with certificates
// made at test time: a trusted certificate works, every bad one is refused
// with an error that names the problem, and nothing is retried. Closing or
// destroying the transport mid-exchange aborts the exchange and frees nothing
// still in use (these tests are meant to run under ASan).
#include <cleori/transport/beast_transport.hpp>

#include "support/sim_fixture.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/ssl.h>

#include <functional>
#include <optional>
#include <thread>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using cleori::test::token;

namespace {

cleori::test::test_pki const& pki() {
    static cleori::test::test_pki p;
    return p;
}

asio::ssl::context server_context(std::string const& name, int max_version = 0) {
    asio::ssl::context ctx{asio::ssl::context::tls_server};
    ctx.use_certificate_chain_file(pki().crt(name));
    ctx.use_private_key_file(pki().key(name), asio::ssl::context::pem);
    if (max_version != 0) {
        // Old protocols need the lowest security level to be offered at all.
        SSL_CTX_set_security_level(ctx.native_handle(), 0);
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
        SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    }
    return ctx;
}

// A TLS simulator with the given certificate, and a client request helper.
struct tls_fixture {
    explicit tls_fixture(std::string const& cert, int max_version = 0) : ctx(server_context(cert, max_version)) {}
    asio::io_context io;
    asio::ssl::context ctx;
    cleori::sim::server sim{io.get_executor(), {.tokens = {token}, .tls = &ctx}};
    unsigned short port = sim.start().value();

    std::pair<boost::system::error_code, cleori::http_response> get(cleori::beast_transport& t) {
        std::optional<std::pair<boost::system::error_code, cleori::http_response>> out;
        t.async_request({.target = "/v1/activations", .bearer_token = token},
                        [&](boost::system::error_code ec, cleori::http_response r) { out.emplace(ec, std::move(r)); });
        io.restart();
        auto const until = std::chrono::steady_clock::now() + 30s;
        while (!out && std::chrono::steady_clock::now() < until) io.run_one_for(100ms);
        BOOST_TEST_REQUIRE(out.has_value());
        return std::move(*out);
    }
    std::string url(std::string const& host) const { return "https://" + host + ":" + std::to_string(port); }
};

// A TLS simulator on a thread of its own, so that the client's io_context can
// be run until it has no work left.
struct threaded_tls_sim {
    asio::io_context io;
    asio::ssl::context ctx = server_context("good");
    cleori::sim::server sim{io.get_executor(), {.tokens = {token}, .tls = &ctx}};
    unsigned short port = sim.start().value();
    std::thread thread{[this] { io.run(); }};

    threaded_tls_sim() = default;
    threaded_tls_sim(threaded_tls_sim const&) = delete;
    threaded_tls_sim& operator=(threaded_tls_sim const&) = delete;
    ~threaded_tls_sim() {
        io.stop();
        thread.join();
    }
};

// A request that the server gets but answers only after 30 s, well past
// everything the tests wait for.
cleori::http_request held_back_request(cleori::sim::server& sim) {
    sim.inject({.kind = cleori::sim::fault_kind::latency, .delay = 30s});
    return {.target = "/v1/activations", .bearer_token = token, .timeout = 20s};
}

// close() while the response is awaited: the handler is called once, promptly,
// with operation_aborted (not retried on a new connection), and the next
// request is answered over a new connection.
void close_while_the_response_is_awaited(asio::io_context& io, cleori::sim::server& sim, std::string const& url) {
    cleori::beast_transport t{io.get_executor(), url, {.ca_file = pki().ca()}};
    int calls = 0;
    boost::system::error_code first;
    t.async_request(held_back_request(sim), [&](boost::system::error_code ec, cleori::http_response) {
        ++calls;
        first = ec;
    });
    cleori::test::drive(io, [&] { return sim.api_requests() == 1; }, 10s);
    BOOST_TEST_REQUIRE(sim.api_requests() == 1u);
    BOOST_TEST_REQUIRE(calls == 0);

    auto const closed_at = std::chrono::steady_clock::now();
    t.close();
    cleori::test::drive(io, [&] { return calls > 0; }, 10s);
    BOOST_TEST_REQUIRE(calls == 1);
    BOOST_TEST(first == asio::error::operation_aborted, first.message());
    BOOST_TEST((std::chrono::steady_clock::now() - closed_at < 5s));

    int second_calls = 0;
    std::optional<std::pair<boost::system::error_code, cleori::http_response>> second;
    t.async_request({.target = "/v1/activations", .bearer_token = token},
                    [&](boost::system::error_code ec, cleori::http_response r) {
                        ++second_calls;
                        second.emplace(ec, std::move(r));
                    });
    cleori::test::drive(io, [&] { return second.has_value(); }, 10s);
    BOOST_TEST_REQUIRE(second.has_value());
    BOOST_TEST_REQUIRE(!second->first, second->first.message());
    BOOST_TEST(second->second.status == 200u);
    BOOST_TEST(t.connections_opened() == 2u);
    BOOST_TEST(sim.api_requests() == 2u);

    cleori::test::run_for(io, 200ms); // nothing is called late
    BOOST_TEST(calls == 1);
    BOOST_TEST(second_calls == 1);
}

// The transport destroyed once `waiting(t)` holds: afterwards the io_context
// runs out of work promptly, and the exchange's handler and a queued one are
// each called once with operation_aborted.
void destroy_while(asio::io_context& io, std::string const& url, cleori::http_request const& req,
                   std::function<bool(cleori::beast_transport const&)> const& waiting) {
    int calls[2] = {0, 0};
    boost::system::error_code errors[2];
    {
        cleori::beast_transport t{io.get_executor(), url, {.ca_file = pki().ca()}};
        for (int i : {0, 1})
            t.async_request(req, [&, i](boost::system::error_code ec, cleori::http_response) {
                ++calls[i];
                errors[i] = ec;
            });
        cleori::test::drive(io, [&] { return waiting(t); }, 10s);
        BOOST_TEST_REQUIRE(waiting(t));
        BOOST_TEST_REQUIRE(calls[0] + calls[1] == 0);
    }
    auto const destroyed_at = std::chrono::steady_clock::now();
    io.restart();
    io.run();
    BOOST_TEST((std::chrono::steady_clock::now() - destroyed_at < 5s));
    for (int i : {0, 1}) {
        BOOST_TEST(calls[i] == 1, "request " << i);
        BOOST_TEST(errors[i] == asio::error::operation_aborted, "request " << i << ": " << errors[i].message());
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(net_tls)

BOOST_AUTO_TEST_CASE(trusted_certificate_by_name_and_by_ip_on_one_connection) {
    tls_fixture f{"good"};
    for (std::string host : {"localhost", "127.0.0.1"}) {
        cleori::beast_transport t{f.io.get_executor(), f.url(host), {.ca_file = pki().ca()}};
        BOOST_TEST_REQUIRE(!t.config_error());
        for (int i = 0; i < 3; ++i) {
            auto [ec, res] = f.get(t);
            BOOST_TEST_REQUIRE(!ec, host << ": " << ec.message());
            BOOST_TEST(res.status == 200u);
        }
        BOOST_TEST(t.connections_opened() == 1u); // keep-alive over TLS
    }
}

BOOST_AUTO_TEST_CASE(bad_certificates_are_refused_with_a_named_reason) {
    struct bad_case {
        const char* cert;
        const char* host;
        cleori::error expected;
    };
    const bad_case cases[] = {
        {"self_signed", "localhost", cleori::error::tls_untrusted_certificate},
        {"wrong_host", "localhost", cleori::error::tls_host_name_mismatch},
        {"wrong_host", "127.0.0.1", cleori::error::tls_host_name_mismatch}, // IP not in the certificate
        {"expired", "localhost", cleori::error::tls_certificate_expired},
    };
    for (auto const& c : cases) {
        tls_fixture f{c.cert};
        cleori::beast_transport t{f.io.get_executor(), f.url(c.host), {.ca_file = pki().ca()}};
        auto [ec, res] = f.get(t);
        BOOST_TEST(ec == make_error_code(c.expected), c.cert << " @ " << c.host << ": " << ec.message());
        BOOST_TEST((cleori::classify({ec, 0, std::nullopt}) == cleori::failure_kind::permanent));
        BOOST_TEST(f.sim.api_requests() == 0u); // nothing was sent over the refused connection
    }
}

BOOST_AUTO_TEST_CASE(the_system_trust_store_does_not_trust_a_private_ca) {
    tls_fixture f{"good"};
    cleori::beast_transport t{f.io.get_executor(), f.url("localhost")};
    auto [ec, res] = f.get(t);
    BOOST_TEST(ec == make_error_code(cleori::error::tls_untrusted_certificate), ec.message());
}

BOOST_AUTO_TEST_CASE(servers_offering_only_tls_1_0_or_1_1_are_refused) {
    for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
        tls_fixture f{"good", version};
        cleori::beast_transport t{f.io.get_executor(), f.url("localhost"), {.ca_file = pki().ca()}};
        auto [ec, res] = f.get(t);
        BOOST_TEST(ec == make_error_code(cleori::error::tls_handshake_failed), version << ": " << ec.message());
    }
}

BOOST_AUTO_TEST_CASE(close_during_a_tls_exchange_aborts_it_and_the_next_request_opens_a_new_connection) {
    tls_fixture f{"good"};
    close_while_the_response_is_awaited(f.io, f.sim, f.url("localhost"));
}

BOOST_AUTO_TEST_CASE(close_during_a_plain_exchange_aborts_it_and_the_next_request_opens_a_new_connection) {
    asio::io_context io;
    cleori::sim::server sim{io.get_executor(), {.tokens = {token}}};
    unsigned short const port = sim.start().value();
    close_while_the_response_is_awaited(io, sim, "http://127.0.0.1:" + std::to_string(port));
}

BOOST_AUTO_TEST_CASE(destroying_the_transport_during_a_tls_handshake_aborts_the_exchange) {
    // A peer that accepts the connection and never answers the ClientHello.
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket peer(io);
    bool accepted = false;
    acceptor.async_accept(peer, [&](boost::system::error_code ec) { accepted = !ec; });
    std::string const url = "https://localhost:" + std::to_string(acceptor.local_endpoint().port());
    destroy_while(io, url, {.target = "/v1/activations", .bearer_token = token, .timeout = 20s},
                  // connected, so the handshake is under way
                  [&](cleori::beast_transport const& t) { return accepted && t.connections_opened() == 1; });
}

BOOST_AUTO_TEST_CASE(destroying_the_transport_while_a_tls_response_is_awaited_aborts_the_exchange) {
    threaded_tls_sim server;
    asio::io_context io;
    std::string const url = "https://localhost:" + std::to_string(server.port);
    destroy_while(io, url, held_back_request(server.sim),
                  [&](cleori::beast_transport const&) { return server.sim.api_requests() == 1; });
}

BOOST_AUTO_TEST_CASE(an_unreadable_ca_file_is_a_configuration_error) {
    asio::io_context io;
    cleori::beast_transport t{io.get_executor(), "https://localhost:1", {.ca_file = "/nonexistent/ca.pem"}};
    BOOST_TEST(static_cast<bool>(t.config_error()));
}

BOOST_AUTO_TEST_SUITE_END()
