// The Beast transport against the simulator serving TLS with certificates
// made at test time: a trusted certificate works, every bad one is refused
// with an error that names the problem, and nothing is retried.
#include <cleori/transport/beast_transport.hpp>

#include "support/sim_fixture.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/ssl.h>

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

BOOST_AUTO_TEST_CASE(an_unreadable_ca_file_is_a_configuration_error) {
    asio::io_context io;
    cleori::beast_transport t{io.get_executor(), "https://localhost:1", {.ca_file = "/nonexistent/ca.pem"}};
    BOOST_TEST(static_cast<bool>(t.config_error()));
}

BOOST_AUTO_TEST_SUITE_END()
