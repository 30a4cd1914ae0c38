// cleori-sim: a Cleori-compatible server on loopback for integration tests,
// demos and the onboarding "testing phase". See doc/simulator.md.
#include "sim/cli.hpp"
#include "sim/report_text.hpp"
#include "sim/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr const char* usage =
    "usage: cleori-sim [--port N] [--address A] [--tls-cert F --tls-key F] [--scenario F]\n"
    "                  [--report F] [--csv F] [--response-time S] [--tolerance PCT]\n"
    "                  [--duration S] [--tokens-file F] [--quiet]\n"
    "Serves the Cleori v1 API. Asset tokens come from CLEORI_SIM_TOKENS (comma-separated)\n"
    "or --tokens-file (one per line); asset-1 is the first token, asset-2 the second, ...\n"
    "Runs until SIGINT/SIGTERM or --duration seconds, then writes the report (and the time\n"
    "series with --csv; draw it with scripts/plot-market-day). --response-time is the device's,\n"
    "for the ramp allowance (default 2 s); --tolerance the energy tolerance (default 2 %).\n"
    "Exit status: 0 every rule PASS, 1 a rule FAIL, 2 usage error, 3 a file cannot be written.\n";

struct options {
    unsigned short port = 0;
    std::string address = "127.0.0.1";
    std::string tls_cert, tls_key, scenario, report, csv, tokens_file;
    double duration_s = 0;
    double response_time_s = 2.0;
    double tolerance_pct = 2.0;
    bool quiet = false;
};

[[noreturn]] void fail(std::string const& why, int code = 2) { cleori::sim::cli::fail("cleori-sim", why, code); }

std::string read_file(std::string const& path, char const* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(std::string("cannot read ") + what + " '" + path + "'");
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

double number(std::string const& flag, std::string const& v, double lo, double hi) {
    return cleori::sim::cli::number("cleori-sim", flag, v, lo, hi);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value\n" + usage);
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            std::exit(0);
        } else if (a == "--port") o.port = static_cast<unsigned short>(number(a, value(), 0, 65535));
        else if (a == "--address") o.address = value();
        else if (a == "--tls-cert") o.tls_cert = value();
        else if (a == "--tls-key") o.tls_key = value();
        else if (a == "--scenario") o.scenario = value();
        else if (a == "--report") o.report = value();
        else if (a == "--csv") o.csv = value();
        else if (a == "--response-time") o.response_time_s = number(a, value(), 0, 60);
        else if (a == "--tolerance") o.tolerance_pct = number(a, value(), 0, 100);
        else if (a == "--duration") o.duration_s = number(a, value(), 0, 7 * 86400);
        else if (a == "--tokens-file") o.tokens_file = value();
        else if (a == "--quiet") o.quiet = true;
        else if (a.rfind("--token", 0) == 0 && a != "--tokens-file")
            fail("tokens are never taken from the command line (other users can read it); "
                 "use CLEORI_SIM_TOKENS or --tokens-file");
        else fail("unknown option '" + a + "'\n" + usage);
    }
    if (o.tls_cert.empty() != o.tls_key.empty()) fail("--tls-cert and --tls-key go together");
    return o;
}

std::vector<std::string> split_tokens(std::string const& text, char sep) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        auto const b = cur.find_first_not_of(" \t\r");
        auto const e = cur.find_last_not_of(" \t\r");
        if (b != std::string::npos && cur[b] != '#') out.push_back(cur.substr(b, e - b + 1));
        cur.clear();
    };
    for (char c : text) {
        if (c == sep) flush();
        else cur.push_back(c);
    }
    flush();
    return out;
}

std::string timestamp_now() {
    auto const t = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    return cleori::to_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(t)).substr(11, 12);
}

} // namespace

int main(int argc, char** argv) {
    options const o = parse(argc, argv);

    std::vector<std::string> tokens;
    if (!o.tokens_file.empty()) tokens = split_tokens(read_file(o.tokens_file, "tokens file"), '\n');
    else if (char const* env = std::getenv("CLEORI_SIM_TOKENS")) tokens = split_tokens(env, ',');
    if (tokens.empty()) fail("no asset tokens: set CLEORI_SIM_TOKENS=tok1,tok2 or pass --tokens-file F");

    boost::asio::io_context io;
    std::optional<boost::asio::ssl::context> tls;
    if (!o.tls_cert.empty()) {
        tls.emplace(boost::asio::ssl::context::tls_server);
        SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
        boost::system::error_code ec;
        tls->use_certificate_chain_file(o.tls_cert, ec);
        if (ec) fail("--tls-cert '" + o.tls_cert + "': " + ec.message());
        tls->use_private_key_file(o.tls_key, boost::asio::ssl::context::pem, ec);
        if (ec) fail("--tls-key '" + o.tls_key + "': " + ec.message());
    }

    cleori::sim::server_options so{.tokens = tokens, .address = o.address, .port = o.port,
                                   .tls = tls ? &*tls : nullptr};
    so.rules.response_time = std::chrono::milliseconds(static_cast<long long>(o.response_time_s * 1000));
    so.rules.energy_tolerance = o.tolerance_pct / 100.0;
    if (!o.quiet) so.on_event = [](std::string const& line) { std::cout << timestamp_now() << " sim: " << line << std::endl; };
    cleori::sim::server sim{io.get_executor(), std::move(so)};
    // Caught from before the line that says where it serves: a script that
    // signals as soon as it reads that line must get the report, not the
    // default action. Asio queues a signal until the wait below is started.
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    auto port = sim.start();
    if (!port) fail("cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " + port.error().message());

    std::cout << "cleori-sim: serving " << (tls ? "https" : "http") << "://" << o.address << ":" << *port << " for "
              << tokens.size() << (tokens.size() == 1 ? " asset" : " assets") << " (asset-1"
              << (tokens.size() > 1 ? " … asset-" + std::to_string(tokens.size()) : std::string()) << ")" << std::endl;
    // After the line that says where it serves: scripts read the port from it,
    // and the scenario's first events print below it.
    if (!o.scenario.empty())
        if (auto why = sim.load_scenario(read_file(o.scenario, "scenario")); !why.empty()) fail(o.scenario + ": " + why);

    boost::asio::steady_timer timer(io);
    auto finish = [&] {
        signals.cancel();
        timer.cancel();
        sim.stop();
        io.stop();
    };
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) finish();
    });
    if (o.duration_s > 0) {
        timer.expires_after(std::chrono::milliseconds(static_cast<long long>(o.duration_s * 1000)));
        timer.async_wait([&](boost::system::error_code ec) {
            if (!ec) finish();
        });
    }
    io.run();

    auto const report = sim.report();
    if (!o.report.empty()) cleori::sim::cli::write_file("cleori-sim", o.report, boost::json::serialize(report) + "\n", "report");
    if (!o.csv.empty()) cleori::sim::cli::write_file("cleori-sim", o.csv, sim.time_series_csv(), "time series");
    bool const pass = report.at("pass").as_bool();
    std::cout << cleori::sim::readable(report) << (pass ? "PASS" : "FAIL") << "\n" << std::flush;
    return pass ? 0 : 1;
}
