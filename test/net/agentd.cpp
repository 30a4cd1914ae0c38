// cleori-agentd as a real process: three assets (two simulated, one Modbus
// battery on the libmodbus plant) against the simulator over loopback, with
// systemd's notify protocol on a socket of the test's own, /metrics scraped
// and parsed, SIGTERM to baseline, and the exit codes for a bad configuration
// and a refused token. No token may appear in a log line or in the metrics.
#include <cleori/modbus/client.hpp>
#include "sim/server.hpp"

#include "support/child_process.hpp"
#include "support/exemplar_battery.hpp"
#include "support/modbus_servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

namespace sim = cleori::sim;
using namespace std::chrono_literals;

namespace {

std::string const tokens[] = {"agentd-secret-token-1", "agentd-secret-token-2", "agentd-secret-token-3"};

std::string slurp(std::filesystem::path const& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The systemd notify socket, as systemd would offer it.
class notify_socket {
public:
    explicit notify_socket(std::filesystem::path path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
        BOOST_TEST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~notify_socket() { ::close(fd_); }
    // Every message received so far.
    std::vector<std::string> const& messages() {
        char buf[4096];
        for (;;) {
            auto const n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            got_.emplace_back(buf, static_cast<std::size_t>(n));
        }
        return got_;
    }
    std::size_t count(std::string const& what) {
        std::size_t n = 0;
        for (auto const& m : messages()) n += m.find(what) != std::string::npos;
        return n;
    }
    std::filesystem::path const& path() const { return path_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> got_;
};

template <class Pred>
bool wait_for(Pred p, std::chrono::milliseconds limit) {
    auto const until = std::chrono::steady_clock::now() + limit;
    while (!p()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

std::string http_get(unsigned short port, std::string const& target) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    std::string const req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    boost::asio::write(s, boost::asio::buffer(req));
    std::string out;
    boost::system::error_code ec;
    boost::asio::read(s, boost::asio::dynamic_buffer(out), ec);
    return out;
}

// name{asset="x"[,…]} value → value, keyed by "name{labels}".
std::map<std::string, double> parse_metrics(std::string const& text) {
    std::map<std::string, double> out;
    std::istringstream in(text.substr(text.find("\r\n\r\n") + 4));
    std::string line;
    std::regex const sample(R"(^([a-z_]+\{[^}]*\}) (\S+)$)");
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::smatch m;
        BOOST_TEST_REQUIRE(std::regex_match(line, m, sample), "not a Prometheus sample line: " << line);
        out[m[1]] = m[2] == "NaN" ? std::nan("") : std::stod(m[2]);
    }
    return out;
}

// A simulator on its own thread; stop() before reading its report.
struct sim_thread {
    boost::asio::io_context io;
    sim::server server{io.get_executor(), {.tokens = {tokens[0], tokens[1], tokens[2]}}};
    unsigned short port = server.start().value();
    std::thread runner;

    void run() {
        runner = std::thread([this] {
            auto work = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    void stop() {
        io.stop();
        if (runner.joinable()) runner.join();
    }
    ~sim_thread() { stop(); }
};

int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

} // namespace

BOOST_AUTO_TEST_SUITE(agentd)

BOOST_AUTO_TEST_CASE(three_assets_ready_metrics_and_sigterm_to_baseline) {
    sim_thread s;
    auto const err = s.server.load_scenario(R"({"actions":[
        {"action":"create","asset":"asset-1","activation":{"id":"a1-up","direction":"up","power":40,"start_in_s":2,"duration_s":30}},
        {"action":"create","asset":"asset-3","activation":{"id":"a3-up","direction":"up","power":50,"start_in_s":2,"duration_s":30}}
    ]})");
    BOOST_TEST_REQUIRE(err.empty(), err);
    s.run();
    auto plant = cleori::test::libmodbus_plant({"--response-ms", "200", "--watchdog-ms", "3000"});
    cleori::test::temp_dir dir;
    // The tokens arrive as systemd delivers them: a directory loaded with
    // LoadCredential=tokens:… names each file "tokens_<file>" (a1, a2); a
    // credential of its own keeps its name (a3, with a byte-order mark and
    // spaces the daemon drops).
    std::filesystem::create_directory(dir / "credentials");
    std::ofstream(dir / "credentials" / "tokens_a1.token") << tokens[0] << "\n";
    std::ofstream(dir / "credentials" / "tokens_a2.token") << tokens[1] << "\r\n";
    std::ofstream(dir / "credentials" / "a3.token") << "\xEF\xBB\xBF  " << tokens[2] << "  \n";
    std::filesystem::create_directory(dir / "state");
    std::ofstream(dir / "agentd.toml") << "[cleori]\nbase_url = \"http://127.0.0.1:" << s.port
                                       << "\"\ntelemetry_interval_s = 0.5\npoll_interval_s = 0.5\n"
                                          "[daemon]\nmetrics_listen = \"127.0.0.1:0\"\nstate_directory = \""
                                       << (dir / "state").string()
                                       << "\"\n"
                                          "[[asset]]\nid = \"site-a1\"\ntoken_file = \"a1.token\"\ndevice = \"simulated\"\n"
                                          "[[asset]]\nid = \"site-a2\"\ntoken_file = \"a2.token\"\ndevice = \"simulated\"\n"
                                          "  [asset.simulated]\n  initial_soc_pct = 70\n"
                                          "[[asset]]\nid = \"site-a3\"\ntoken_file = \"a3.token\"\ndevice = \"modbus\"\n"
                                          "  [asset.ratings]\n  capacity_kwh = 200\n  max_charge_kw = 100\n  max_discharge_kw = 100\n"
                                          "  response_time_ms = 500\n  round_trip_efficiency_pct = 90\n  chemistry = \"lifepo4\"\n"
                                          "  [asset.modbus]\n  host = \"127.0.0.1\"\n  port = "
                                       << plant.port() << "\n  map = \"" CLEORI_MAPS_DIR "/example_pcs.json\"\n";
    notify_socket notify(dir / "notify");
    auto const log_path = dir / "agentd.log";
    cleori::test::child_process daemon(
        {CLEORI_AGENTD, "--config", (dir / "agentd.toml").string()},
        {.env = {{"NOTIFY_SOCKET", notify.path().string()},
                 {"WATCHDOG_USEC", "1000000"},
                 {"JOURNAL_STREAM", ""},
                 {"CREDENTIALS_DIRECTORY", (dir / "credentials").string()}},
         .output = log_path.string()});

    // READY once every asset has polled.
    BOOST_TEST_REQUIRE(wait_for([&] { return notify.count("READY=1") == 1; }, 15s), slurp(log_path));
    // The metrics endpoint, from the port it logged.
    std::smatch m;
    std::string log;
    BOOST_TEST_REQUIRE(wait_for([&] {
        log = slurp(log_path);
        return std::regex_search(log, m, std::regex(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)"));
    }, 5s));
    auto const metrics_port = static_cast<unsigned short>(std::stoi(m[1]));
    std::this_thread::sleep_for(4s); // the activations start at 2 s
    auto const text = http_get(metrics_port, "/metrics");
    BOOST_TEST_REQUIRE(text.rfind("HTTP/1.1 200", 0) == 0u, text.substr(0, 200));
    BOOST_TEST(text.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    auto const metrics = parse_metrics(text);
    for (std::string a : {"site-a1", "site-a2", "site-a3"}) {
        auto const l = "{asset=\"" + a + "\"}";
        BOOST_TEST(metrics.at("cleori_seconds_since_poll_ok" + l) < 5.0, a);
        BOOST_TEST(metrics.at("cleori_seconds_since_telemetry_ack" + l) < 5.0, a);
        BOOST_TEST(metrics.at("cleori_polls_total" + l) >= 4.0, a);
        BOOST_TEST(metrics.at("cleori_agent_running" + l) == 1.0, a);
        BOOST_TEST(metrics.at("cleori_consecutive_auth_failures" + l) == 0.0, a);
        BOOST_TEST(metrics.at("cleori_outbox_samples" + l) <= 2.0, a);
        BOOST_TEST(metrics.at("cleori_samples_evicted_in_flight" + l) == 0.0, a);
    }
    BOOST_TEST(metrics.at("cleori_soc_percent{asset=\"site-a2\"}") == 70.0);
    // The two activations run: one on a simulated battery, one through Modbus.
    BOOST_TEST(metrics.at("cleori_commanded_power_kw{asset=\"site-a1\"}") == -40.0);
    BOOST_TEST(metrics.at("cleori_commanded_power_kw{asset=\"site-a3\"}") == -50.0);
    BOOST_TEST(metrics.at("cleori_measured_power_kw{asset=\"site-a3\"}") == -50.0); // the plant's own reading
    BOOST_TEST(metrics.at("cleori_activations{asset=\"site-a3\",phase=\"executing\"}") == 1.0);
    BOOST_TEST(metrics.at("cleori_commanded_power_kw{asset=\"site-a2\"}") == 0.0);
    BOOST_TEST(http_get(metrics_port, "/other").rfind("HTTP/1.1 404", 0) == 0u);
    // The watchdog is fed every half period while every asset polls.
    BOOST_TEST(notify.count("WATCHDOG=1") >= 4u);

    // SIGTERM: baseline everywhere, then exit 0.
    auto const status = daemon.kill(SIGTERM, 30s);
    BOOST_TEST(exit_status(status) == 0, "wait status " << status << "\n" << slurp(log_path));
    BOOST_TEST(notify.count("STOPPING=1") == 1u);
    log = slurp(log_path);
    for (std::string a : {"site-a1", "site-a2", "site-a3"})
        BOOST_TEST(log.find("level=info asset=" + a + " msg=\"stopped at baseline") != std::string::npos, a);
    // The plant was commanded −50 kW (+50000 W on this PCS), then 0 at the stop.
    auto const plant_log = plant.log();
    auto const on = plant_log.find("unit=1 setpoint_w=50000");
    BOOST_TEST_REQUIRE(on != std::string::npos, plant_log);
    BOOST_TEST(plant_log.find("unit=1 setpoint_w=0", on) != std::string::npos, plant_log);
    // Every line is one event: level=… [asset=…] msg="…".
    std::istringstream lines(log);
    std::string line;
    std::size_t n = 0;
    while (std::getline(lines, line)) {
        ++n;
        BOOST_TEST(std::regex_match(line, std::regex(R"(^level=(debug|info|warning|error)( asset=[\w.-]+)? msg=".*"$)")), line);
    }
    BOOST_TEST(n >= 10u);
    // No token anywhere.
    for (auto const& t : tokens) {
        BOOST_TEST(log.find(t) == std::string::npos);
        BOOST_TEST(text.find(t) == std::string::npos);
        for (auto const& msg : notify.messages()) BOOST_TEST(msg.find(t) == std::string::npos);
    }
    // A journal per asset.
    for (std::string a : {"site-a1", "site-a2", "site-a3"}) BOOST_TEST(std::filesystem::exists(dir / "state" / (a + ".journal")));
    // … and an audit trail per asset (empty for site-a2, which had no
    // activation), with the activations that ran, and no token.
    for (std::string a : {"site-a1", "site-a2", "site-a3"}) {
        BOOST_TEST_REQUIRE(std::filesystem::exists(dir / "state" / (a + ".audit.jsonl")), a);
        auto const trail = slurp(dir / "state" / (a + ".audit.jsonl"));
        for (auto const& tok : tokens) BOOST_TEST(trail.find(tok) == std::string::npos);
        if (a == "site-a2") continue;
        BOOST_TEST(trail.find("\"event\":\"received\"") != std::string::npos, a << ": " << trail);
        BOOST_TEST(trail.find("\"event\":\"commanded\"") != std::string::npos, a);
        BOOST_TEST(trail.find(a == "site-a1" ? "\"activation\":\"a1-up\"" : "\"activation\":\"a3-up\"") != std::string::npos, a);
    }
    s.stop();
    auto const report = s.server.report();
    for (auto const& asset : report.at("assets").as_array())
        BOOST_TEST(asset.at("polls").to_number<double>() >= 8.0, boost::json::serialize(asset));
}

BOOST_AUTO_TEST_CASE(a_bad_configuration_exits_2_naming_each_error) {
    cleori::test::temp_dir dir;
    std::ofstream(dir / "agentd.toml") << "[cleori]\nbase_url = \"https://cleori.example\"\npoll_interval_s = 120\n"
                                          "[[asset]]\nid = \"x\"\ntoken_file = \"none.token\"\ndevice = \"battery\"\ncolour = 1\n";
    auto const log_path = dir / "out.log";
    for (auto const* flag : {"--check-config", "--config"}) {
        std::filesystem::remove(log_path);
        cleori::test::child_process p({CLEORI_AGENTD, flag, (dir / "agentd.toml").string()}, {.output = log_path.string()});
        int const status = p.kill(0, 10s); // signal 0: just wait for it
        BOOST_TEST(exit_status(status) == 2, flag);
        auto const out = slurp(log_path);
        auto const file = (dir / "agentd.toml").string();
        BOOST_TEST(out.find(file + ":3: [cleori].poll_interval_s is out of range (fix: use a value from 0.1 to 60") != std::string::npos, out);
        BOOST_TEST(out.find(file + ":6: [[asset]] 'x': token file") != std::string::npos, out);
        BOOST_TEST(out.find(file + ":7: [[asset]] 'x': device \"battery\" is not known") != std::string::npos, out);
        BOOST_TEST(out.find(file + ":8: unknown key 'colour' in [[asset]]") != std::string::npos, out);
        BOOST_TEST(out.find("4 error(s)") != std::string::npos, out);
    }
}

BOOST_AUTO_TEST_CASE(a_refused_token_stops_its_asset_and_every_one_refused_exits_3) {
    sim_thread s;
    s.run();
    cleori::test::temp_dir dir;
    std::string const wrong = "agentd-wrong-token-never-logged";
    std::ofstream(dir / "wrong.token") << wrong << "\n";
    std::ofstream(dir / "good.token") << tokens[0] << "\n";
    auto config = [&](bool with_good) {
        std::ofstream f(dir / "agentd.toml");
        f << "[cleori]\nbase_url = \"http://127.0.0.1:" << s.port
          << "\"\ntelemetry_interval_s = 0.2\npoll_interval_s = 0.2\n"
             "[daemon]\nmetrics_listen = \"\"\nauth_failures_to_exit = 3\n"
             "[[asset]]\nid = \"refused\"\ntoken_file = \"wrong.token\"\ndevice = \"simulated\"\n";
        if (with_good) f << "[[asset]]\nid = \"good\"\ntoken_file = \"good.token\"\ndevice = \"simulated\"\n";
    };
    auto const log_path = dir / "agentd.log";
    // One refused asset of two: it stops, the site goes on, SIGTERM ends it cleanly.
    config(true);
    {
        cleori::test::child_process p({CLEORI_AGENTD, "--config", (dir / "agentd.toml").string()}, {.output = log_path.string()});
        BOOST_TEST_REQUIRE(wait_for([&] { return slurp(log_path).find("This asset stops") != std::string::npos; }, 20s),
                           slurp(log_path));
        std::this_thread::sleep_for(1s);
        BOOST_TEST(p.running());
        int const status = p.kill(SIGTERM, 20s);
        auto const log = slurp(log_path);
        BOOST_TEST(exit_status(status) == 0, log);
        BOOST_TEST(log.find("level=error asset=refused msg=\"Cleori answered 401 to") != std::string::npos, log);
        BOOST_TEST(log.find("level=info asset=good msg=\"stopped at baseline") != std::string::npos, log);
        BOOST_TEST(log.find(wrong) == std::string::npos);
    }
    // Every asset refused: exit 3.
    std::filesystem::remove(log_path);
    config(false);
    cleori::test::child_process p({CLEORI_AGENTD, "--config", (dir / "agentd.toml").string()}, {.output = log_path.string()});
    int const status = p.kill(0, 30s); // signal 0: wait for it to exit by itself
    auto const log = slurp(log_path);
    BOOST_TEST(exit_status(status) == 3, log);
    BOOST_TEST(log.find("level=error asset=refused msg=\"Cleori answered 401 to") != std::string::npos, log);
    BOOST_TEST(log.find(wrong) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_files_are_checked_without_being_quoted) {
    cleori::test::temp_dir dir;
    std::string const secret = "agentd-secret-with-a-newline-inside";
    std::ofstream(dir / "bad.token") << "agentd-secret\rX-Injected: 1\n";
    std::ofstream(dir / "agentd.toml") << "[cleori]\nbase_url = \"https://cleori.example\"\n"
                                          "[[asset]]\nid = \"x\"\ntoken_file = \"bad.token\"\ndevice = \"simulated\"\n"
                                          "[[asset]]\nid = \"y\"\ntoken_file = \"" << secret << "-pasted-where-a-file-name-belongs-0123456789\"\ndevice = \"simulated\"\n";
    auto const log_path = dir / "out.log";
    cleori::test::child_process p({CLEORI_AGENTD, "--check-config", (dir / "agentd.toml").string()}, {.output = log_path.string()});
    BOOST_TEST(exit_status(p.kill(0, 10s)) == 2);
    auto const out = slurp(log_path);
    BOOST_TEST(out.find(":5: [[asset]] 'x': token file") != std::string::npos, out);
    BOOST_TEST(out.find("holds a character a bearer token cannot have") != std::string::npos, out);
    BOOST_TEST(out.find(":9: [[asset]] 'y': token file (the name given) cannot be read") != std::string::npos, out);
    BOOST_TEST(out.find("agentd-secret") == std::string::npos, out);
    BOOST_TEST(out.find("X-Injected") == std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(the_unit_files_pass_systemd_analyze_verify) {
    if (std::system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        BOOST_TEST_MESSAGE("systemd-analyze is not installed: unit files not verified");
        return;
    }
    cleori::test::temp_dir dir;
    for (std::string unit : {"cleori-agentd.service", "cleori-agentd@.service"}) {
        // As installed, but naming the binary that was built.
        auto text = slurp(std::filesystem::path(CLEORI_AGENTD).parent_path() / unit);
        BOOST_TEST_REQUIRE(!text.empty(), unit);
        text = std::regex_replace(text, std::regex(R"(/\S*/cleori-agentd )"), std::string(CLEORI_AGENTD) + " ");
        auto const name = unit == "cleori-agentd@.service" ? "cleori-agentd@north.service" : unit;
        std::ofstream(dir / name) << text;
        auto const cmd = "systemd-analyze verify " + (dir / name).string() + " > " + (dir / "verify.log").string() + " 2>&1";
        BOOST_TEST(std::system(cmd.c_str()) == 0, unit << ": " << slurp(dir / "verify.log"));
        BOOST_TEST(slurp(dir / "verify.log").empty(), unit << ": " << slurp(dir / "verify.log"));
    }
}

BOOST_AUTO_TEST_SUITE_END()
