// Activation latency: from the last byte of a poll response carrying a new
// activation to (a) the setpoint reaching the device and (b) the last byte of
// the confirmation leaving the client — for a raw TCP floor (blocking reads,
// and the same bytes through an Asio event loop), cleori, libcurl +
// nlohmann/json, and Python requests, over plain HTTP and TLS, in one run
// against one server (benchmark/support/latency_server.hpp). Prints Markdown.
//   activation_latency [--activations N] [--poll-ms M] [--only cleori] [--json FILE]
// --json also writes the figures to FILE, for benchmark/targets.py.
#include "support/latency_server.hpp"
#include "support/stats.hpp"

#include <cleori/agent.hpp>
#include <cleori/device/simulated_battery.hpp>

#include "support/test_pki.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

using sets_map = std::map<std::string, std::int64_t>; // activation id → Tset (ns)

struct options {
    std::size_t activations = 1000;
    std::chrono::milliseconds poll{5};
    std::string only{}; // run only clients whose name starts with this
    std::string json{};
};

// --- the floor: the same exchanges as raw bytes, no HTTP or JSON library ---
template <class Stream>
std::string exchange_raw(Stream& s, std::string const& request, std::string& buf) {
    asio::write(s, asio::buffer(request));
    auto const head_end = asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n");
    std::size_t length = 0;
    if (auto p = buf.find("Content-Length: "); p != std::string::npos && p < head_end)
        length = std::stoul(buf.substr(p + 16));
    if (buf.size() < head_end + length) asio::read(s, asio::dynamic_buffer(buf), asio::transfer_exactly(head_end + length - buf.size()));
    std::string body = buf.substr(head_end, length);
    buf.erase(0, head_end + length);
    return body;
}

template <class Stream>
void floor_client(Stream& s, bench::latency_server& server, options const& o, sets_map& sets) {
    std::string const poll =
        "GET /v1/activations?limit=100&offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-token\r\n"
        "Accept: application/json\r\n\r\n";
    std::string buf;
    while (!server.done()) {
        std::string const body = exchange_raw(s, poll, buf);
        if (auto p = body.find("\"id\":\""); p != std::string::npos) {
            auto const id = body.substr(p + 6, body.find('"', p + 6) - p - 6);
            if (sets.emplace(id, bench::mono_ns()).second) {
                std::string const json = R"({"time":"2026-11-26T12:00:00.000Z","status":"executing","setpoint":-50})";
                exchange_raw(s,
                             "POST /v1/activations/" + id + "/confirm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Authorization: Bearer bench-token\r\nContent-Type: application/json\r\nContent-Length: " +
                                 std::to_string(json.size()) + "\r\n\r\n" + json,
                             buf);
            }
        }
        std::this_thread::sleep_for(o.poll);
    }
}

void run_floor(bool tls, unsigned short port, std::string const& ca, bench::latency_server& server, options const& o,
               sets_map& sets) {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    sock.set_option(asio::ip::tcp::no_delay(true));
    if (!tls) return floor_client(sock, server, o, sets);
    asio::ssl::context ctx{asio::ssl::context::tls_client};
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<asio::ip::tcp::socket> s(std::move(sock), ctx);
    s.handshake(asio::ssl::stream_base::client);
    floor_client(s, server, o, sets);
}

// --- the event-loop floor: the same raw bytes, read as Asio completions ---
// What any client built on an event loop pays and a blocking read does not:
// the wait in epoll and the completion's dispatch. The gap between this row
// and the blocking floor is the model's, not the library's.
template <class Stream>
asio::awaitable<std::string> exchange_async(Stream& s, std::string const& request, std::string& buf) {
    co_await asio::async_write(s, asio::buffer(request), asio::use_awaitable);
    auto const head_end = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", asio::use_awaitable);
    std::size_t length = 0;
    if (auto p = buf.find("Content-Length: "); p != std::string::npos && p < head_end)
        length = std::stoul(buf.substr(p + 16));
    if (buf.size() < head_end + length)
        co_await asio::async_read(s, asio::dynamic_buffer(buf), asio::transfer_exactly(head_end + length - buf.size()),
                                  asio::use_awaitable);
    std::string body = buf.substr(head_end, length);
    buf.erase(0, head_end + length);
    co_return body;
}

template <class Stream>
asio::awaitable<void> async_floor_client(Stream& s, bench::latency_server& server, options const& o, sets_map& sets) {
    std::string const poll =
        "GET /v1/activations?limit=100&offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-token\r\n"
        "Accept: application/json\r\n\r\n";
    std::string buf;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (!server.done()) {
        std::string const body = co_await exchange_async(s, poll, buf);
        if (auto p = body.find("\"id\":\""); p != std::string::npos) {
            auto const id = body.substr(p + 6, body.find('"', p + 6) - p - 6);
            if (sets.emplace(id, bench::mono_ns()).second) {
                std::string const json = R"({"time":"2026-11-26T12:00:00.000Z","status":"executing","setpoint":-50})";
                co_await exchange_async(s,
                                        "POST /v1/activations/" + id + "/confirm HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Authorization: Bearer bench-token\r\nContent-Type: application/json\r\n"
                                        "Content-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json,
                                        buf);
            }
        }
        pause.expires_after(o.poll);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

void run_async_floor(bool tls, unsigned short port, std::string const& ca, bench::latency_server& server,
                     options const& o, sets_map& sets) {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    sock.set_option(asio::ip::tcp::no_delay(true));
    asio::ssl::context ctx{asio::ssl::context::tls_client};
    std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> s;
    if (tls) {
        ctx.load_verify_file(ca);
        ctx.set_verify_mode(asio::ssl::verify_peer);
        s.emplace(sock, ctx);
        s->handshake(asio::ssl::stream_base::client);
    }
    auto rethrow = [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    };
    if (tls) asio::co_spawn(io, async_floor_client(*s, server, o, sets), rethrow);
    else asio::co_spawn(io, async_floor_client(sock, server, o, sets), rethrow);
    io.run();
}

// --- cleori: the real agent, with a device that timestamps setpoints ---
struct timing_device {
    static constexpr cleori::battery_ratings ratings = cleori::reference_battery::ratings;
    std::int64_t last_set_ns = 0;
    void async_read_state(auto h) { h(boost::system::error_code{}, cleori::battery_state{0.0_kW, 50.0_pct}); }
    void async_apply_setpoint(cleori::kilowatts, auto h) {
        last_set_ns = bench::mono_ns();
        h(boost::system::error_code{});
    }
};

void run_cleori(std::string const& url, std::string const& ca, bench::latency_server& server, options const& o,
                sets_map& sets) {
    asio::io_context io;
    cleori::beast_transport transport{io.get_executor(), url, {.ca_file = ca}};
    timing_device device;
    cleori::agent<timing_device> agent{device, transport,
                                       {.token = "bench-token", .telemetry_interval = 10s, .poll_interval = o.poll}};
    agent.hooks().on_activation_applied = [&](cleori::activation const& a, cleori::kilowatts) {
        sets.emplace(a.id, device.last_set_ns);
    };
    agent.hooks().on_error = [](std::string_view e) { std::cerr << "cleori: " << e << "\n"; };
    if (!agent.start()) throw std::runtime_error("agent did not start");
    asio::steady_timer check(io);
    std::function<void()> watch = [&] {
        if (server.done()) return agent.stop();
        check.expires_after(10ms);
        check.async_wait([&](boost::system::error_code) { watch(); });
    };
    watch();
    while (!agent.stopped() && io.run_one()) {}
}

// --- a baseline in its own process: reads its "set <id> <ns>" lines ---
void run_process(std::string const& command, sets_map& sets) {
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) throw std::runtime_error("cannot run " + command);
    char line[256];
    while (std::fgets(line, sizeof line, p)) {
        char id[128];
        long long ns = 0;
        if (std::sscanf(line, "set %127s %lld", id, &ns) == 2) sets.emplace(id, ns);
    }
    if (::pclose(p) != 0) throw std::runtime_error("failed: " + command);
}

// What this machine charges for memory that a sleep has let go cold: a chain
// of dependent loads, each from its own cache line in random order, timed
// warm (rounds back to back) and right after sleeping one poll interval, as
// every client here sleeps before the poll that brings an activation. The
// chain is about as long as the activation path's code in cache lines
// (benchmark/instructions_table.py measures that).
struct memory_probe {
    std::size_t lines = 1024;
    double warm_us = 0, after_sleep_us = 0;
};

memory_probe probe_memory(std::chrono::milliseconds sleep) {
    memory_probe p;
    constexpr std::size_t words_per_line = 64 / sizeof(std::size_t);
    std::size_t const span = p.lines * 4; // the lines lie spread over four times their size
    std::vector<std::size_t> order(span);
    for (std::size_t i = 0; i < span; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937{1});
    order.resize(p.lines);
    std::vector<std::size_t> next(span * words_per_line, 0);
    for (std::size_t i = 0; i < p.lines; ++i) next[order[i] * words_per_line] = order[(i + 1) % p.lines] * words_per_line;
    volatile std::size_t last = 0; // keeps the loads
    auto median_us = [&](bool sleep_first) {
        std::vector<double> v;
        for (int round = 0; round < 500; ++round) {
            if (sleep_first) std::this_thread::sleep_for(sleep);
            auto const t0 = std::chrono::steady_clock::now();
            std::atomic_signal_fence(std::memory_order_seq_cst); // the loads stay between the clock reads
            std::size_t at = order[0] * words_per_line;
            for (std::size_t i = 0; i < p.lines; ++i) at = next[at];
            last = at;
            std::atomic_signal_fence(std::memory_order_seq_cst);
            v.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        }
        return bench::summarize(std::move(v)).p50;
    };
    p.warm_us = median_us(false);
    p.after_sleep_us = median_us(true);
    return p;
}

struct result {
    std::string client, transport;
    bench::summary a, b;
};

std::string us(double v) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(v < 100 ? 1 : 0) << v;
    return os.str();
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string const a = argv[i];
        if (a == "--activations") o.activations = std::stoul(argv[i + 1]);
        else if (a == "--poll-ms") o.poll = std::chrono::milliseconds(std::stol(argv[i + 1]));
        else if (a == "--only") o.only = argv[i + 1];
        else if (a == "--json") o.json = argv[i + 1];
        else return std::cerr << "unknown option " << a << "\n", 2;
    }
    cleori::test::test_pki pki;
    asio::ssl::context server_tls{asio::ssl::context::tls_server};
    server_tls.use_certificate_chain_file(pki.crt("good"));
    server_tls.use_private_key_file(pki.key("good"), asio::ssl::context::pem);

    std::vector<result> results;
    for (bool tls : {false, true}) {
        bench::latency_server server{tls ? &server_tls : nullptr};
        std::string const url = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(server.port());
        std::string const ca = tls ? pki.ca() : std::string();
        std::string const args = " " + url + " " + (tls ? ca : "-") + " " + std::to_string(o.poll.count()) + " " +
                                 std::to_string(o.activations);
        struct client {
            std::string name;
            std::function<void(sets_map&)> run;
        };
        std::vector<client> clients{
            {"raw TCP floor", [&](sets_map& s) { run_floor(tls, server.port(), ca, server, o, s); }},
            {"raw TCP floor, Asio event loop",
             [&](sets_map& s) { run_async_floor(tls, server.port(), ca, server, o, s); }},
            {"cleori", [&](sets_map& s) { run_cleori(url, ca, server, o, s); }},
            {"libcurl + nlohmann/json", [&](sets_map& s) { run_process(CLEORI_BENCH_CURL_CLIENT + args, s); }},
            {"Python requests", [&](sets_map& s) { run_process("/usr/bin/python3 " CLEORI_BENCH_PY_CLIENT + args, s); }},
        };
        for (auto const& c : clients) {
            if (!c.name.starts_with(o.only)) continue;
            server.reset(o.activations);
            sets_map sets;
            c.run(sets);
            std::vector<double> a, b;
            auto const samples = server.samples();
            for (std::size_t i = 0; i < samples.size(); ++i) {
                auto const& s = samples[i];
                auto it = sets.find("act-" + std::to_string(i));
                if (s.served_ns == 0 || s.confirmed_ns == 0 || it == sets.end()) continue;
                a.push_back(static_cast<double>(it->second - s.served_ns) / 1000.0);
                b.push_back(static_cast<double>(s.confirmed_ns - s.served_ns) / 1000.0);
            }
            results.push_back({c.name, tls ? "TLS" : "plain", bench::summarize(a), bench::summarize(b)});
            std::cerr << "done: " << c.name << " " << (tls ? "TLS" : "plain") << " (" << a.size() << ")\n";
        }
    }

    std::cout << "### Activation latency (µs)\n\n" << bench::machine_line() << ". " << o.activations
              << " activations per row, poll every " << o.poll.count() << " ms, keep-alive, loopback.\n\n"
              << "| client | transport | n | (a) setpoint p50 | p99 | p99.9 | max | (b) confirmation p50 | p99 | p99.9 | max |\n"
              << "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (auto const& r : results)
        std::cout << "| " << r.client << " | " << r.transport << " | " << r.a.n << " | " << us(r.a.p50) << " | "
                  << us(r.a.p99) << " | " << us(r.a.p999) << " | " << us(r.a.max) << " | " << us(r.b.p50) << " | "
                  << us(r.b.p99) << " | " << us(r.b.p999) << " | " << us(r.b.max) << " |\n";
    auto const probe = probe_memory(o.poll);
    std::cout << "\nMemory after a sleep, on this machine: " << probe.lines
              << " dependent loads, each from its own cache line in random order, take " << us(probe.warm_us)
              << " µs warm and " << us(probe.after_sleep_us) << " µs right after sleeping " << o.poll.count()
              << " ms (median of 500 rounds each): " << std::fixed << std::setprecision(1)
              << (probe.after_sleep_us - probe.warm_us) * 1000.0 / static_cast<double>(probe.lines)
              << " ns more per line.\n";
    std::cout << "\n### Ratios of (b) confirmation latency: cleori ÷ other (below 1: cleori is faster)\n\n"
              << "| transport | vs | p50 ratio | p99 ratio |\n|---|---|---|---|\n";
    for (std::string t : {"plain", "TLS"}) {
        result const* cl = nullptr;
        for (auto const& r : results)
            if (r.transport == t && r.client == "cleori") cl = &r;
        for (auto const& r : results) {
            if (r.transport != t || r.client == "cleori" || !cl) continue;
            std::cout << "| " << t << " | " << r.client << " | " << std::fixed << std::setprecision(2)
                      << cl->b.p50 / r.b.p50 << " | " << cl->b.p99 / r.b.p99 << " |\n";
        }
    }
    if (!o.json.empty()) {
        auto const figures = [](bench::summary const& s) {
            return boost::json::object{{"n", s.n}, {"p50", s.p50}, {"p99", s.p99}, {"p999", s.p999}, {"max", s.max}};
        };
        boost::json::array rows;
        for (auto const& r : results)
            rows.push_back(boost::json::object{{"client", r.client}, {"transport", r.transport},
                                               {"setpoint_us", figures(r.a)}, {"confirmation_us", figures(r.b)}});
        boost::json::object const doc{
            {"activations", o.activations},
            {"poll_ms", o.poll.count()},
            {"rows", std::move(rows)},
            {"probe", {{"lines", probe.lines}, {"warm_us", probe.warm_us}, {"after_sleep_us", probe.after_sleep_us}}}};
        std::ofstream f(o.json);
        f << boost::json::serialize(doc) << "\n";
        if (!f) return std::cerr << "activation_latency: cannot write " << o.json << "\n", 1;
    }
    return 0;
}
