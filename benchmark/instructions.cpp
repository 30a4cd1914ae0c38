// Instructions per activation and per telemetry cycle, counted by callgrind:
// cleori's agent against libcurl + nlohmann/json doing the same work. Run it
// under valgrind (benchmark/instructions_table.py does, and prints the table):
//   valgrind --tool=callgrind --collect-atstart=no --separate-threads=yes
//            --callgrind-out-file=out instructions <mode> <count>
// Only the windows below are collected, each opened and closed by a callgrind
// client request, so set-up, warm-up and the server's side are not counted.
// Modes:
//   cleori-activation  the real agent (basic_agent; a device that answers inline) over an
//                      in-memory transport that does the Beast transport's wire
//                      work: it writes each request head with the transport's
//                      own writer and parses each response with its parser.
//                      A new activation every 15 minutes of virtual time
//                      (manual_clock), as a busy asset sees them. Window: the
//                      bytes of the poll response that first carries it start
//                      to be parsed → the confirmation's request bytes are
//                      ready.
//   cleori-telemetry   same agent. Window: the agent starts reading the device
//                      for a sample → the telemetry request bytes are ready.
//   curl-activation    libcurl (one reused easy handle, keep-alive) + nlohmann/json
//                      against a loopback server thread (not counted: only this
//                      thread's file is read). Window: curl_easy_perform of the
//                      poll → the confirmation's curl_easy_perform has returned.
//   curl-telemetry     Window: build the sample → its curl_easy_perform has returned.
//   curl-exchange      Window: one curl_easy_perform of a GET answered 204: the
//                      part of curl's windows that cleori's windows do not have
//                      (writing the first request, reading the last response,
//                      the socket layer) is about this big.
// Each mode prints how many windows it measured (divide the total by it) and
// their median wall time; only the cleori modes' is the work alone (curl's
// windows hold socket I/O), and only a run without valgrind gives it.
// `--cold-us N` (cleori modes, without valgrind) sleeps N µs before each
// window opens, so the median is the same work with the state a client loses
// between polls lost as well.
#include "support/stats.hpp"

#include <cleori/agent.hpp>
#include <cleori/device/simulated_battery.hpp> // reference_battery
#include <cleori/clock/manual_clock.hpp>
#include <cleori/transport/beast_transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "baseline/easy_session.hpp"

#include <nlohmann/json.hpp>

#include <valgrind/callgrind.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// One window open at a time; the toggles are the only instrumentation. Each
// window is also timed, with the clock read outside the collected part, so
// that a run without valgrind gives the same work's wall time: warm (the
// windows follow each other with no sleep in between), or cold, with the
// thread asleep for `cold` just before each window opens, as a client is
// between polls.
struct window {
    bool armed = false; // windows open only while measuring
    bool open = false;
    std::chrono::microseconds cold{0};
    std::size_t closed = 0;
    std::chrono::steady_clock::time_point opened{};
    std::vector<double> micros{};
    void begin() {
        if (open || !armed) return;
        open = true;
        if (cold.count() > 0) std::this_thread::sleep_for(cold);
        opened = std::chrono::steady_clock::now();
        CALLGRIND_TOGGLE_COLLECT;
    }
    void end() {
        if (!open) return;
        CALLGRIND_TOGGLE_COLLECT;
        micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - opened).count());
        open = false;
        ++closed;
    }
    // "windows N" and, on another line, the median wall time of one.
    void report() const {
        std::cout << "windows " << closed << "\nwall-time median " << bench::summarize(micros).p50 << " us\n";
    }
};

// The poll page every server here serves: activation n, started 1 ms ago,
// 5 minutes long.
std::string page_body(std::size_t n, cleori::timestamp now) {
    cleori::activation a{.id = "act-2026-12-02-" + std::to_string(1000 + n),
                         .direction = n % 2 ? cleori::mfrr_direction::down : cleori::mfrr_direction::up,
                         .power = cleori::kilowatts{50.0 + static_cast<double>(n % 40)},
                         .start_time = now - 1ms,
                         .end_time = now + 5min,
                         .status = cleori::activation_status::pending};
    std::string body = R"({"data":[)";
    cleori::encode_activation(a, body);
    body += R"(],"pagination":{"limit":100,"offset":0,"total":1}})";
    return body;
}

std::string http_response_bytes(std::string_view status, std::string_view body) {
    std::string r = "HTTP/1.1 ";
    r.append(status).append("\r\nContent-Type: application/json\r\nContent-Length: ");
    r.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    return r;
}

// --- cleori over memory: the Beast transport's wire work without a socket ---

enum class kind { poll, confirm, telemetry, other };

// A response, and whether it opens the activation window (its poll page
// carries an activation the agent has not seen).
struct served {
    std::string const& bytes;
    bool opens_window;
};

kind kind_of(cleori::http_request const& req) {
    using profile = cleori::api_profile_v1;
    if (req.target.starts_with(profile::confirm_path_prefix) && req.target.ends_with(profile::confirm_path_suffix))
        return kind::confirm;
    if (req.target.starts_with(profile::activations_path)) return kind::poll;
    if (req.target.starts_with(profile::telemetry_path)) return kind::telemetry;
    return kind::other;
}

class wire_memory_transport {
public:
    using executor_type = asio::any_io_executor;
    // Answers a request with the bytes of a whole HTTP response.
    using server = std::function<served(cleori::http_request const&)>;

    wire_memory_transport(executor_type ex, server s, window& w, bool activations)
        : ex_(std::move(ex)), server_(std::move(s)), window_(w), activations_(activations) {}

    template <class Handler>
    void async_request(cleori::http_request req, Handler&& handler) {
        namespace detail = cleori::detail;
        auto const k = kind_of(req);
        if (!detail::valid_request(req)) {
            asio::post(ex_, [h = std::forward<Handler>(handler)]() mutable {
                std::move(h)(make_error_code(cleori::error::invalid_request_field), cleori::http_response{});
            });
            return;
        }
        detail::write_request_head(head_, req, "", "api.cleori.test", "cleori-bench/1");
        // The request's bytes are ready: head_ and req.body.
        if (activations_ ? k == kind::confirm : k == kind::telemetry) window_.end();
        else if (window_.open) ++others_in_window;
        auto const [answer, opens] = server_(req);
        if (opens) window_.begin();
        // Read into one of two responses kept, and lend it to the handler
        // while the next exchange reads into the other, as the Beast
        // transport does.
        cleori::http_response& out = responses_[next_];
        next_ ^= 1;
        cleori::detail::response_reader parser{out, 1 << 20};
        boost::system::error_code ec;
        asio::const_buffer rest = asio::buffer(answer);
        while (!ec && !parser.is_done() && rest.size() > 0) rest += parser.put(rest, ec);
        if (!ec && !parser.is_done()) ec = asio::error::eof;
        asio::post(ex_, [h = std::forward<Handler>(handler), ec, &out]() mutable {
            std::move(h)(ec, std::as_const(out)); // lent for the call
        });
    }
    [[nodiscard]] executor_type get_executor() const { return ex_; }

    std::size_t others_in_window = 0; // requests other than the window's own, seen while it was open

private:
    executor_type ex_;
    server server_;
    window& window_;
    bool activations_;
    std::string head_;
    std::array<cleori::http_response, 2> responses_;
    std::size_t next_ = 0;
};

// The device: answers at once, as the libcurl client's variable does. Opens
// the telemetry window when the agent starts a sample.
struct bench_device {
    static constexpr cleori::battery_ratings ratings = cleori::reference_battery::ratings;
    window* w = nullptr;
    bool telemetry = false;
    cleori::kilowatts setpoint{0.0};
    template <class Handler>
    void async_read_state(Handler&& h) {
        if (telemetry) w->begin();
        std::forward<Handler>(h)(boost::system::error_code{},
                                 cleori::battery_state{.power = setpoint, .soc = cleori::percent{50.0}});
    }
    template <class Handler>
    void async_apply_setpoint(cleori::kilowatts p, Handler&& h) {
        setpoint = p;
        std::forward<Handler>(h)(boost::system::error_code{});
    }
};

struct virtual_time : cleori::default_policies {
    using clock = cleori::manual_clock;
};

int run_cleori(bool activations, std::size_t count, std::chrono::microseconds cold) {
    asio::io_context io;
    cleori::manual_clock clock;
    window w;
    w.cold = cold;
    std::string const no_content = http_response_bytes("204 No Content", "");
    std::string const empty_page =
        http_response_bytes("200 OK", R"({"data":[],"pagination":{"limit":100,"offset":0,"total":0}})");
    // As a busy asset sees them: a new activation every 15 minutes, served
    // in every poll until it ends 5 minutes later. The window opens on the
    // poll that first carries it. Those of the last hour stay tracked.
    std::string page;
    std::size_t next = 0;
    cleori::timestamp next_due = clock.wall_now(), current_end{};
    auto serve = [&](cleori::http_request const& req) -> served {
        if (kind_of(req) != kind::poll) return {no_content, false};
        auto const now = std::chrono::time_point_cast<std::chrono::microseconds>(clock.wall_now());
        if (!activations || (now >= current_end && now < next_due)) return {empty_page, false};
        bool const fresh = now >= next_due;
        if (fresh) {
            page = http_response_bytes("200 OK", page_body(next++, now));
            next_due = now + 15min;
            current_end = now + 5min;
        }
        return {page, fresh};
    };
    wire_memory_transport transport{io.get_executor(), serve, w, activations};
    bench_device battery;
    battery.w = &w;
    cleori::basic_agent<bench_device, wire_memory_transport, virtual_time> agent{
        battery, transport,
        {.token = "bench-token", .telemetry_interval = activations ? 10s : 1s, .poll_interval = 59997ms},
        clock};
    std::size_t confirmed = 0, telemetry = 0;
    agent.hooks().on_activation_confirmed = [&](auto const&, auto const&) { ++confirmed; };
    agent.hooks().on_telemetry_sent = [&](std::size_t) { ++telemetry; };
    std::size_t errors = 0; // any error means the run did not do the work it claims to measure
    agent.hooks().on_error = [&](std::string_view e) {
        ++errors;
        std::cerr << "cleori: " << e << "\n";
    };
    if (auto started = agent.start(); !started) {
        std::cerr << "agent did not start: " << started.error().message() << "\n";
        return 1;
    }
    // Warm-up: buffers grown, an hour of activations tracked. No window is open.
    clock.run_for(io, activations ? 1h : 20s);
    battery.telemetry = !activations;
    w.armed = true;
    auto const confirmed0 = confirmed, telemetry0 = telemetry;
    // Polls every 59.997 s, so that they never fall on a telemetry tick.
    for (std::size_t ticks = 0; w.closed < count && ticks < 2000 * count; ++ticks) clock.run_for(io, 1s);
    battery.telemetry = false;
    w.end();
    w.armed = false;
    agent.stop();
    clock.run_for(io, 1min);
    auto const done = activations ? confirmed - confirmed0 : telemetry - telemetry0;
    if (w.closed != count || done < count || transport.others_in_window != 0 || errors != 0) {
        std::cerr << "measured " << w.closed << " windows, " << done << " cycles completed, "
                  << transport.others_in_window << " other requests inside windows, " << errors
                  << " errors; wanted " << count << " windows and no errors\n";
        return 1;
    }
    w.report();
    return 0;
}

// --- libcurl + nlohmann/json over loopback, as benchmark/baseline/curl_client.cpp ---

// A blocking keep-alive server on its own thread: answers polls with a page
// carrying a new activation and everything else with 204. Its instructions
// land in another thread's callgrind file.
class loopback_server {
public:
    loopback_server() {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listener_, 1) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("loopback server: cannot listen");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~loopback_server() {
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        thread_.join();
    }
    unsigned short port() const { return port_; }

private:
    void serve() {
        int const s = ::accept(listener_, nullptr, nullptr);
        if (s < 0) return;
        int one = 1;
        ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::string in;
        char buf[16384];
        std::size_t n = 0;
        for (;;) {
            auto const head_end = in.find("\r\n\r\n");
            if (head_end == std::string::npos) {
                auto const got = ::read(s, buf, sizeof buf);
                if (got <= 0) break;
                in.append(buf, static_cast<std::size_t>(got));
                continue;
            }
            std::size_t length = 0;
            if (auto p = in.find("Content-Length: "); p != std::string::npos && p < head_end)
                length = std::stoul(in.substr(p + 16));
            if (in.size() < head_end + 4 + length) {
                auto const got = ::read(s, buf, sizeof buf);
                if (got <= 0) break;
                in.append(buf, static_cast<std::size_t>(got));
                continue;
            }
            std::string out;
            if (in.starts_with("GET /v1/activations?")) {
                auto const now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
                out = http_response_bytes("200 OK", page_body(n++, now));
            } else {
                out = http_response_bytes("204 No Content", "");
            }
            in.erase(0, head_end + 4 + length);
            if (::write(s, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
        }
        ::close(s);
    }

    int listener_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
};

int run_curl(std::string_view mode, std::size_t count) {
    loopback_server server;
    std::string const base = "http://127.0.0.1:" + std::to_string(server.port());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::optional<baseline::easy_session> session{std::in_place};
    CURL* const h = session->h;
    std::string& body = session->body;
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    std::set<std::string> seen;
    double device_setpoint = 0;
    std::string const poll_url = base + "/v1/activations?limit=100&offset=0";
    std::string const telemetry_url = base + "/v1/telemetry";
    std::string const health_url = base + "/v1/health";
    window w;
    w.armed = true; // the loop opens windows only after warm-up
    std::size_t const warm_up = 20;
    bool ok = true;
    for (std::size_t i = 0; i < warm_up + count && ok; ++i) {
        bool const measured = i >= warm_up;
        if (mode == "curl-activation") {
            body.clear();
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(h, CURLOPT_URL, poll_url.c_str());
            if (measured) w.begin();
            ok = curl_easy_perform(h) == CURLE_OK;
            auto const doc = nlohmann::json::parse(body, nullptr, false);
            bool confirmed = false;
            if (ok && !doc.is_discarded())
                for (auto const& a : doc["data"]) {
                    std::string id = a["id"];
                    if (!seen.insert(id).second) continue;
                    double const kw = a["power"].get<double>() * (a["direction"] == "up" ? -1.0 : 1.0);
                    device_setpoint = kw;
                    nlohmann::json c{{"time", "2026-11-26T12:00:00.000Z"}, {"status", "executing"}, {"setpoint", kw}};
                    std::string const payload = c.dump();
                    std::string const url = base + "/v1/activations/" + id + "/confirm";
                    body.clear();
                    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
                    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
                    ok = curl_easy_perform(h) == CURLE_OK;
                    confirmed = ok;
                }
            if (measured) w.end();
            ok = ok && confirmed;
        } else if (mode == "curl-telemetry") {
            if (measured) w.begin();
            nlohmann::json sample{{"time", "2026-11-26T12:00:00.000Z"}, {"power", device_setpoint}, {"soc", 55.5}};
            std::string const payload = sample.dump();
            body.clear();
            curl_easy_setopt(h, CURLOPT_URL, telemetry_url.c_str());
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
            ok = curl_easy_perform(h) == CURLE_OK;
            if (measured) w.end();
        } else { // curl-exchange
            body.clear();
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(h, CURLOPT_URL, health_url.c_str());
            if (measured) w.begin();
            ok = curl_easy_perform(h) == CURLE_OK;
            if (measured) w.end();
        }
    }
    long connects = 0; // connections opened by the last transfer: 0 when it reused one
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    session.reset();
    curl_global_cleanup();
    if (!ok || w.closed != count) {
        std::cerr << mode << ": a request failed after " << w.closed << " windows: " << error << "\n";
        return 1;
    }
    if (connects != 0) {
        std::cerr << mode << ": the connection was not kept alive\n";
        return 1;
    }
    w.report();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // A whole decimal number of at most `max`, or nothing.
    auto number = [](std::string_view text, std::uint64_t max) -> std::optional<std::uint64_t> {
        std::uint64_t v = 0;
        auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || end != text.data() + text.size() || v == 0 || v > max) return std::nullopt;
        return v;
    };
    auto usage = [] {
        std::cerr << "usage: instructions cleori-activation|cleori-telemetry|curl-activation|curl-telemetry|"
                     "curl-exchange <count> [--cold-us N]\n"
                     "  --cold-us N  (cleori modes, without valgrind) sleep N microseconds, 1 to 10000000, before "
                     "each window\n";
        return 2;
    };
    if (argc != 3 && !(argc == 5 && std::string_view(argv[3]) == "--cold-us")) return usage();
    std::string_view const mode = argv[1];
    bool const cleori_mode = mode == "cleori-activation" || mode == "cleori-telemetry";
    if (!cleori_mode && mode != "curl-activation" && mode != "curl-telemetry" && mode != "curl-exchange") {
        std::cerr << "unknown mode " << mode << "\n";
        return usage();
    }
    auto const count = number(argv[2], 100'000'000);
    if (!count) return usage();
    std::chrono::microseconds cold{0};
    if (argc == 5) {
        auto const us = number(argv[4], 10'000'000);
        if (!us) return usage();
        if (!cleori_mode) {
            std::cerr << "--cold-us applies to the cleori modes only\n";
            return 2;
        }
        cold = std::chrono::microseconds(static_cast<std::int64_t>(*us));
    }
    std::cout << bench::machine_line() << "; libcurl " << curl_version_info(CURLVERSION_NOW)->version
              << "; nlohmann/json " << NLOHMANN_JSON_VERSION_MAJOR << "." << NLOHMANN_JSON_VERSION_MINOR << "."
              << NLOHMANN_JSON_VERSION_PATCH << "\n";
    if (mode == "cleori-activation") return run_cleori(true, *count, cold);
    if (mode == "cleori-telemetry") return run_cleori(false, *count, cold);
    return run_curl(mode, *count);
}
