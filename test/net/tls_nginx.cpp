// TLS interop with a real server: Debian's nginx terminates TLS with
// certificates made at test time and proxies to the simulator. A trusted
// certificate carries a whole agent run; a self-signed, wrong-host or expired
// certificate, or a server speaking only TLS 1.0/1.1, is refused before any
// request reaches the simulator, with an error naming the problem.
#include <cleori/engine/agent.hpp>

#include <cleori/device/simulated_battery.hpp>

#include "support/child_process.hpp"
#include "support/sim_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <thread>

#include <openssl/ssl.h>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using cleori::test::token;

namespace {

unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

bool accepts(unsigned short port) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    return !ec;
}

// nginx in the foreground, one server block per certificate case.
class nginx_proxy {
public:
    struct site {
        std::string cert;
        std::string protocols = "TLSv1.2 TLSv1.3";
        unsigned short port = free_port();
    };

    nginx_proxy(cleori::test::test_pki const& pki, unsigned short upstream, std::vector<site> sites) : sites_(std::move(sites)) {
        std::filesystem::create_directories(dir_ / "tmp");
        auto const d = dir_.path().string();
        std::ofstream conf(dir_ / "nginx.conf");
        conf << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << d << "/nginx.pid;\n"
             << "error_log " << d << "/error.log warn;\nevents { worker_connections 64; }\nhttp {\n"
             << "  access_log off;\n"
             << "  client_body_temp_path " << d << "/tmp/body;\n  proxy_temp_path " << d << "/tmp/proxy;\n"
             << "  fastcgi_temp_path " << d << "/tmp/fastcgi;\n  uwsgi_temp_path " << d << "/tmp/uwsgi;\n"
             << "  scgi_temp_path " << d << "/tmp/scgi;\n"
             << "  upstream sim { server 127.0.0.1:" << upstream << "; keepalive 4; }\n";
        for (auto const& s : sites_) {
            conf << "  server {\n    listen 127.0.0.1:" << s.port << " ssl;\n"
                 << "    ssl_certificate " << pki.crt(s.cert) << ";\n    ssl_certificate_key " << pki.key(s.cert) << ";\n"
                 << "    ssl_protocols " << s.protocols << ";\n";
            // Old protocols need the lowest OpenSSL security level to be offered at all.
            if (s.protocols.find("TLSv1.2") == std::string::npos) conf << "    ssl_ciphers DEFAULT:@SECLEVEL=0;\n";
            conf << "    location / {\n      proxy_pass http://sim;\n      proxy_http_version 1.1;\n"
                 << "      proxy_set_header Connection \"\";\n    }\n  }\n";
        }
        conf << "}\n";
        conf.close();
        std::string const binary = find_nginx();
        process_.emplace(std::vector<std::string>{binary, "-p", d, "-e", d + "/error.log", "-c", d + "/nginx.conf"});
        auto const until = std::chrono::steady_clock::now() + 10s;
        for (auto const& s : sites_) {
            while (!accepts(s.port)) {
                if (std::chrono::steady_clock::now() > until)
                    throw std::runtime_error("nginx did not start; its log: " + log());
                std::this_thread::sleep_for(20ms);
            }
        }
    }
    nginx_proxy(nginx_proxy const&) = delete;
    nginx_proxy& operator=(nginx_proxy const&) = delete;
    ~nginx_proxy() { process_->kill(SIGQUIT); } // graceful shutdown
    unsigned short port(std::string const& cert, std::string_view protocols = "TLSv1.2 TLSv1.3") const {
        for (auto const& s : sites_)
            if (s.cert == cert && s.protocols == protocols) return s.port;
        throw std::logic_error("no such site");
    }
    std::string log() const {
        std::ifstream in(dir_ / "error.log");
        return {std::istreambuf_iterator<char>(in), {}};
    }

private:
    static std::string find_nginx() {
        for (char const* p : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"})
            if (std::filesystem::exists(p)) return p;
        throw std::runtime_error("nginx is not installed (scripts/deps installs it)");
    }
    cleori::test::temp_dir dir_;
    std::vector<site> sites_;
    std::optional<cleori::test::child_process> process_;
};

struct nginx_fixture : cleori::test::sim_fixture {
    cleori::test::test_pki pki;
    nginx_proxy nginx{pki, port,
                      {{"good"}, {"self_signed"}, {"wrong_host"}, {"expired"}, {"good", "TLSv1 TLSv1.1"}}};
    std::string url(unsigned short p, std::string const& host = "localhost") const {
        return "https://" + host + ":" + std::to_string(p);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(net_tls_nginx, nginx_fixture)

BOOST_AUTO_TEST_CASE(an_agent_runs_through_nginx_with_a_trusted_certificate) {
    cleori::beast_transport t{io.get_executor(), url(nginx.port("good")), {.ca_file = pki.ca()}};
    BOOST_TEST_REQUIRE(!t.config_error());
    sim.add_activation("asset-1", {.id = "via-nginx", .direction = cleori::mfrr_direction::up, .power = 70.0_kW,
                                   .start_time = cleori::test::wall_now() + 500ms,
                                   .end_time = cleori::test::wall_now() + 1500ms,
                                   .status = cleori::activation_status::pending});
    cleori::simulated_battery battery;
    cleori::basic_agent<cleori::simulated_battery, cleori::beast_transport> agent{
        battery, t, {.token = token, .telemetry_interval = 250ms, .poll_interval = 250ms}};
    BOOST_TEST_REQUIRE(agent.start().has_value());
    run_for(2500ms);
    drive([&] { return agent.outbox_size() == 0; }, 10s);
    agent.stop();
    drive([&] { return agent.stopped(); }, 10s);
    BOOST_TEST_REQUIRE(agent.stopped());

    auto const report = sim.report();
    auto const& a = report.at("assets").at(0);
    auto const k = agent.counters();
    BOOST_TEST(k.samples_taken >= 8u);
    BOOST_TEST(cleori::test::number(a.at("samples_received")) + double(k.samples_abandoned) == double(k.samples_taken));
    BOOST_TEST(k.telemetry_failures == 0u);
    BOOST_TEST(k.poll_failures == 0u);
    BOOST_TEST(k.activations_applied == 1u);
    BOOST_TEST(cleori::test::number(a.at("activations").at(0).at("confirmations")) == 1.0);
    BOOST_TEST(t.connections_opened() == 1u, "one TLS session through nginx, kept alive"); // keep-alive through nginx
    BOOST_TEST(battery.commanded() == 0.0_kW);
}

BOOST_AUTO_TEST_CASE(bad_certificates_are_refused_before_any_request) {
    struct bad_case {
        std::string cert;
        cleori::error expected;
    };
    bad_case const cases[] = {
        {"self_signed", cleori::error::tls_untrusted_certificate},
        {"wrong_host", cleori::error::tls_host_name_mismatch},
        {"expired", cleori::error::tls_certificate_expired},
    };
    for (auto const& c : cases) {
        BOOST_TEST_CONTEXT(c.cert) {
            cleori::beast_transport t{io.get_executor(), url(nginx.port(c.cert)), {.ca_file = pki.ca()}};
            auto [ec, res] = exchange({.target = "/v1/activations", .bearer_token = token}, &t);
            BOOST_TEST(ec == make_error_code(c.expected), ec.message());
            BOOST_TEST(res.status == 0u);
        }
    }
    BOOST_TEST(sim.api_requests() == 0u); // fail-closed: nothing reached the simulator
}

BOOST_AUTO_TEST_CASE(a_server_speaking_only_tls_1_0_and_1_1_is_refused) {
    auto const old_port = nginx.port("good", "TLSv1 TLSv1.1");
    // First prove that this nginx does speak TLS 1.0: a client that allows it gets through.
    {
        asio::ssl::context ctx{asio::ssl::context::tls_client};
        SSL_CTX_set_security_level(ctx.native_handle(), 0);
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
        SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_1_VERSION);
        asio::ssl::stream<asio::ip::tcp::socket> s(io, ctx);
        s.next_layer().connect({asio::ip::make_address("127.0.0.1"), old_port});
        boost::system::error_code ec;
        s.handshake(asio::ssl::stream_base::client, ec);
        BOOST_TEST_REQUIRE(!ec, "an old-TLS client could not connect either: " << ec.message() << "; " << nginx.log());
        BOOST_TEST(SSL_version(s.native_handle()) <= TLS1_1_VERSION);
    }
    cleori::beast_transport t{io.get_executor(), url(old_port), {.ca_file = pki.ca()}};
    auto [ec, res] = exchange({.target = "/v1/activations", .bearer_token = token}, &t);
    BOOST_TEST(ec == make_error_code(cleori::error::tls_handshake_failed), ec.message());
    BOOST_TEST(sim.api_requests() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
