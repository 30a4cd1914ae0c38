#pragma once
/// @file
/// @brief `cleori::sim::server` — a Cleori-compatible server for loopback
/// testing: serves the v1 contract (plain or TLS), authenticates per-asset
/// bearer tokens, validates telemetry, serves scripted activations, injects
/// faults, and reports compliance (telemetry gaps, poll gaps, confirmation
/// latency, samples received).
///
/// @code
/// asio::io_context io;
/// cleori::sim::server sim{io.get_executor(), {.tokens = {"tok-1"}}};
/// auto port = sim.start().value();                    // ephemeral port on 127.0.0.1
/// sim.add_activation("asset-1", activation);          // or sim.apply(json), POST /sim/activations
/// sim.load_scenario(text);                              // {"actions": [ … ]}, see doc/simulator.md
/// sim.inject({.kind = cleori::sim::fault_kind::status, .status = 503, .retry_after = "1"});
/// std::thread t{[&] { io.run(); }};
/// … run an agent against http://127.0.0.1:<port> …
/// auto report = sim.report();                          // boost::json::value
/// @endcode
///
/// Assets are named `asset-1`, `asset-2`, … in the order of their tokens;
/// tokens never appear in the report or in any response. All member
/// functions are thread-safe.

#include <cleori/api/json.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/transport/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <chrono>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace cleori::sim {

/// @brief Kinds of injected fault.
enum class fault_kind {
    status,    ///< answer with `status` (and `Retry-After` if given) and an error envelope
    latency,   ///< wait `delay` before answering normally
    drop,      ///< close the connection without answering
    truncate,  ///< announce a body, send half of it, close
    malformed, ///< process the request, then answer 200 with a body that is not JSON
    oversize,  ///< process the request, then answer 200 with a body of `size` bytes
};

/// @brief One fault, applied to the next `count` API requests whose path starts with `path`.
struct fault {
    fault_kind kind = fault_kind::status;
    unsigned status = 503;
    std::string retry_after{};           ///< raw header value, empty for none
    std::chrono::milliseconds delay{0};  ///< for `latency`
    std::size_t size = 0;                ///< for `oversize`
    std::string path{};                  ///< e.g. "/v1/activations"; empty = every API path
    unsigned count = 1;
};

/// @brief A fault as it was applied to one request, and how the client came back.
struct injected_fault {
    fault_kind kind = fault_kind::status;
    unsigned status = 0;                             ///< for `status`
    std::string method{}, path{};                    ///< the request it spoiled
    std::string retry_after{};                       ///< the header sent, if any
    std::chrono::steady_clock::time_point at{};      ///< when the request arrived
    /// Time until the same client sent the same request again (same method,
    /// path and credentials); empty while it has not.
    std::optional<std::chrono::milliseconds> retried_after{};
};

/// @brief The name of a fault kind, as scenario files and reports spell it.
constexpr std::string_view name_of(fault_kind k) noexcept {
    switch (k) {
    case fault_kind::status: return "status";
    case fault_kind::latency: return "latency";
    case fault_kind::drop: return "drop";
    case fault_kind::truncate: return "truncate";
    case fault_kind::malformed: return "malformed";
    case fault_kind::oversize: return "oversize";
    }
    return "unknown";
}

/// @brief Settings of the simulator.
struct server_options {
    std::vector<std::string> tokens{};        ///< one per asset: asset-1, asset-2, …
    std::string address = "127.0.0.1";
    unsigned short port = 0;                  ///< 0: an ephemeral port
    boost::asio::ssl::context* tls = nullptr; ///< serve TLS with this context (certificate loaded)
    std::size_t max_request_bytes = 1024 * 1024;
    /// Called with one line per notable event (activation created, modified,
    /// cancelled or confirmed; fault, outage; requests refused with 4xx).
    /// Runs under the server's lock: it must not call back into the server.
    std::function<void(std::string const&)> on_event{};
};

namespace detail {

struct asset_record {
    std::string name{};
    std::string token{};
    std::size_t samples = 0;
    std::size_t duplicate_samples = 0;
    std::size_t telemetry_requests = 0;
    std::set<timestamp> sample_times{}; ///< every distinct sample time (back-fill arrives late)
    std::vector<double> lateness_ms{};  ///< arrival wall time − sample time, per sample
    std::optional<std::chrono::steady_clock::time_point> last_telemetry_at{};
    std::chrono::milliseconds max_telemetry_gap{0};
    std::size_t polls = 0;
    std::optional<std::chrono::steady_clock::time_point> last_poll_at{};
    std::chrono::milliseconds max_poll_gap{0};
    std::vector<telemetry_sample> received{}; ///< in arrival order
};

struct activation_record {
    activation a;
    std::string asset{};
    std::optional<std::chrono::steady_clock::time_point> first_served{};
    std::size_t confirmations = 0;
    std::optional<std::chrono::steady_clock::time_point> confirmed_at{};
    std::optional<std::chrono::steady_clock::time_point> actionable_at{}; ///< later of first served and start_time
    std::optional<timestamp> cancelled_wall{}; ///< when it was cancelled (ends the delivery window)
    std::optional<confirmation> first_confirmation{};
};

inline std::chrono::milliseconds gap(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}
// Milliseconds with microsecond resolution, for latencies.
inline double ms(std::chrono::steady_clock::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) / 1000.0;
}

} // namespace detail

/// @brief The simulator. Runs on the executor given; `start()` binds and listens.
class server {
public:
    server(boost::asio::any_io_executor ex, server_options opt)
        : state_(std::make_shared<state>(std::move(ex), std::move(opt))) {
        for (std::size_t i = 0; i < state_->opt.tokens.size(); ++i)
            {
            detail::asset_record a;
            a.name = "asset-" + std::to_string(i + 1);
            a.token = state_->opt.tokens[i];
            state_->assets.push_back(std::move(a));
        }
    }
    server(server const&) = delete;
    server& operator=(server const&) = delete;
    ~server() { stop(); }

    /// @brief Binds and starts accepting. @return the port, or the bind error.
    result<unsigned short> start() {
        boost::system::error_code ec;
        auto addr = boost::asio::ip::make_address(state_->opt.address, ec);
        if (ec) return ec;
        boost::asio::ip::tcp::endpoint ep{addr, state_->opt.port};
        auto& acc = state_->acceptor;
        acc.open(ep.protocol(), ec);
        if (!ec) acc.set_option(boost::asio::socket_base::reuse_address(true), ec);
        if (!ec) acc.bind(ep, ec);
        if (!ec) acc.listen(boost::asio::socket_base::max_listen_connections, ec);
        if (ec) return ec;
        boost::asio::co_spawn(state_->ex, accept_loop(state_), boost::asio::detached);
        return acc.local_endpoint().port();
    }

    /// @brief Stops as a killed server would: no new connections, and each
    /// open one is dropped, unanswered, at its next request. A new server on
    /// the same port (`server_options::port`) is a restart.
    void stop() {
        boost::asio::post(state_->ex, [s = state_] {
            boost::system::error_code ignored;
            s->acceptor.close(ignored);
            s->stopped = true;
        });
    }

    /// @brief Makes an activation visible to `asset`'s polls.
    void add_activation(std::string const& asset, activation a) {
        std::string id = a.id; // the right side of `=` is evaluated first: keep the key
        std::lock_guard lock(state_->mutex);
        state_->activations[id] = detail::activation_record{std::move(a), asset, {}, 0, {}, {}};
    }
    /// @brief Changes a served activation (power, end time…); false if unknown.
    template <class F>
    bool modify_activation(std::string const& id, F&& change) {
        std::lock_guard lock(state_->mutex);
        auto it = state_->activations.find(id);
        if (it == state_->activations.end()) return false;
        std::forward<F>(change)(it->second.a);
        return true;
    }
    /// @brief Marks an activation cancelled; false if unknown.
    bool cancel_activation(std::string const& id) {
        return apply(boost::json::object{{"action", "cancel"}, {"id", id}}).empty();
    }
    /// @brief Queues a fault.
    void inject(fault f) {
        std::lock_guard lock(state_->mutex);
        state_->faults.push_back(std::move(f));
    }
    /// @brief Drops every API connection for `d` from now.
    void outage(std::chrono::milliseconds d) {
        std::lock_guard lock(state_->mutex);
        state_->outage_until = std::chrono::steady_clock::now() + d;
    }
    /// @brief Applies one control action — the format of the scenario file and
    /// of the `/sim/` endpoints (see doc/simulator.md). With `"at_s": S` it
    /// runs S seconds from now.
    /// @return empty when accepted, else what is wrong with the action
    std::string apply(boost::json::object const& action) {
        std::lock_guard lock(state_->mutex);
        return schedule(state_, action, std::chrono::steady_clock::now());
    }
    /// @brief Loads a scenario `{"actions": [ … ]}`; every action's `at_s` counts
    /// from this call. Nothing is applied unless every action is well formed.
    /// @return empty when loaded, else the first problem, prefixed with the action's index
    std::string load_scenario(std::string_view json_text) {
        boost::system::error_code ec;
        auto v = boost::json::parse(boost::json::string_view(json_text.data(), json_text.size()), ec);
        if (ec) return "scenario: not JSON: " + ec.message();
        auto const* root = v.if_object();
        auto const* actions = root ? root->if_contains("actions") : nullptr;
        if (actions == nullptr || !actions->is_array()) return "scenario: expected {\"actions\": [ … ]}";
        for (std::size_t i = 0; i < actions->get_array().size(); ++i) {
            auto const& a = actions->get_array()[i];
            if (!a.is_object()) return "scenario: action " + std::to_string(i) + ": expected an object";
            auto why = check_action(a.get_object());
            if (why.empty()) why = check_asset(*state_, a.get_object());
            if (!why.empty()) return "scenario: action " + std::to_string(i) + ": " + why;
        }
        std::lock_guard lock(state_->mutex);
        auto const now = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < actions->get_array().size(); ++i)
            if (auto why = schedule(state_, actions->get_array()[i].get_object(), now); !why.empty())
                return "scenario: action " + std::to_string(i) + ": " + why;
        return {};
    }

    /// @brief The samples `asset` delivered, in arrival order.
    std::vector<telemetry_sample> samples(std::string const& asset) const {
        std::lock_guard lock(state_->mutex);
        for (auto const& a : state_->assets)
            if (a.name == asset) return a.received;
        return {};
    }
    /// @brief Requests that reached the API (faulted ones included).
    std::size_t api_requests() const {
        std::lock_guard lock(state_->mutex);
        return state_->api_requests;
    }

    /// @brief Every fault applied so far, in order (bounded by what was injected).
    std::vector<injected_fault> injected_faults() const {
        std::lock_guard lock(state_->mutex);
        return state_->injected;
    }

    /// @brief The compliance report (see doc/simulator.md).
    boost::json::value report() const {
        std::lock_guard lock(state_->mutex);
        return state_->make_report();
    }

private:
    struct state {
        state(boost::asio::any_io_executor e, server_options o) : ex(std::move(e)), opt(std::move(o)), acceptor(ex) {}
        boost::asio::any_io_executor ex;
        server_options opt;
        boost::asio::ip::tcp::acceptor acceptor;
        bool stopped = false;
        mutable std::mutex mutex;
        std::vector<detail::asset_record> assets;
        std::map<std::string, detail::activation_record> activations;
        std::deque<fault> faults;
        std::optional<std::chrono::steady_clock::time_point> outage_until;
        std::size_t api_requests = 0;
        std::vector<injected_fault> injected;
        // Faults whose request has not been sent again yet, by method, path and credentials.
        std::map<std::string, std::vector<std::size_t>, std::less<>> awaiting_retry;
        std::vector<std::string> control_errors; ///< scheduled actions that failed when they ran

        void event(std::string const& line) const {
            if (opt.on_event) opt.on_event(line);
        }

        boost::json::value make_report() const {
            boost::json::array assets_out;
            for (auto const& a : assets) {
                boost::json::array acts;
                for (auto const& [id, r] : activations) {
                    if (r.asset != a.name) continue;
                    boost::json::object o{{"id", id},
                                          {"requested_kw", r.a.setpoint().in_kw()},
                                          {"status", std::string(name_of(r.a.status))},
                                          {"confirmations", r.confirmations}};
                    if (r.first_served && r.confirmed_at && r.actionable_at)
                        o["confirmation_latency_ms"] = detail::ms(*r.confirmed_at - *r.actionable_at);
                    if (r.first_confirmation && r.first_confirmation->setpoint)
                        o["confirmed_setpoint_kw"] = r.first_confirmation->setpoint->in_kw();
                    bool const refused =
                        r.first_confirmation && r.first_confirmation->status == confirmation_status::unavailable;
                    if (refused && r.first_confirmation->reason) o["refusal"] = *r.first_confirmation->reason;
                    if (!refused)
                        if (auto d = delivered(a, r.a, r.cancelled_wall)) o["delivered_mean_kw"] = *d;
                    acts.push_back(std::move(o));
                }
                assets_out.push_back(boost::json::object{
                    {"asset", a.name},
                    {"samples_received", a.samples},
                    {"duplicate_samples", a.duplicate_samples},
                    {"telemetry_requests", a.telemetry_requests},
                    {"max_sample_gap_s", static_cast<double>(max_sample_gap(a).count()) / 1000.0},
                    {"max_telemetry_gap_s", static_cast<double>(a.max_telemetry_gap.count()) / 1000.0},
                    {"polls", a.polls},
                    {"max_poll_gap_s", static_cast<double>(a.max_poll_gap.count()) / 1000.0},
                    {"activations", std::move(acts)}});
            }
            std::vector<double> late;
            for (auto const& a : assets) late.insert(late.end(), a.lateness_ms.begin(), a.lateness_ms.end());
            std::sort(late.begin(), late.end());
            auto pct = [&](double q) {
                return late.empty() ? 0.0 : late[static_cast<std::size_t>(q * static_cast<double>(late.size() - 1))];
            };
            boost::json::object lateness{{"samples", late.size()}, {"p50", pct(0.5)}, {"p99", pct(0.99)},
                                         {"max", late.empty() ? 0.0 : late.back()}};
            boost::json::array errors;
            for (auto const& e : control_errors) errors.push_back(boost::json::string(e));
            boost::json::object by_kind{{"total", injected.size()}};
            for (auto k : {fault_kind::status, fault_kind::latency, fault_kind::drop, fault_kind::truncate,
                           fault_kind::malformed, fault_kind::oversize})
                by_kind[sim::name_of(k)] = std::count_if(injected.begin(), injected.end(),
                                                   [k](injected_fault const& f) { return f.kind == k; });
            return boost::json::object{{"api_requests", api_requests},
                                       {"faults_injected", std::move(by_kind)},
                                       {"telemetry_lateness_ms", std::move(lateness)},
                                       {"assets", std::move(assets_out)},
                                       {"control_errors", std::move(errors)}};
        }

        // Over sample times, not arrival: a back-filled outage leaves no gap.
        static std::chrono::milliseconds max_sample_gap(detail::asset_record const& a) {
            std::chrono::milliseconds out{0};
            for (auto it = a.sample_times.begin(); it != a.sample_times.end() && std::next(it) != a.sample_times.end(); ++it)
                out = std::max(out, std::chrono::duration_cast<std::chrono::milliseconds>(*std::next(it) - *it));
            return out;
        }

        static std::string_view name_of(activation_status s) {
            for (auto const& [v, n] : api_profile_v1::status_names)
                if (v == s) return n;
            return "unknown";
        }

        // Mean measured power over the activation window, from the telemetry received.
        static std::optional<double> delivered(detail::asset_record const& a, activation const& act,
                                               std::optional<timestamp> cancelled) {
            double sum = 0;
            std::size_t n = 0;
            for (auto const& s : a.received) {
                if (!s.power || s.time < act.start_time || (act.end_time && s.time >= *act.end_time) ||
                    (cancelled && s.time >= *cancelled))
                    continue;
                sum += s.power->in_kw();
                ++n;
            }
            if (n == 0) return std::nullopt;
            return sum / static_cast<double>(n);
        }
    };

    using request_type = boost::beast::http::request<boost::beast::http::string_body>;
    using response_type = boost::beast::http::response<boost::beast::http::string_body>;

    // What to do with one request.
    struct reply {
        response_type res;
        bool drop = false;
        bool truncate = false;
        bool malformed = false;            // replace the body after processing
        std::optional<std::size_t> oversize{}; // likewise, with this many bytes
        std::chrono::milliseconds delay{0};
    };

    static boost::asio::awaitable<void> accept_loop(std::shared_ptr<state> s) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        for (;;) {
            auto [ec, sock] = co_await s->acceptor.async_accept(as_tuple(use_awaitable));
            if (ec) {
                if (s->stopped || ec == boost::asio::error::operation_aborted) co_return;
                continue;
            }
            boost::system::error_code ignored;
            sock.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
            boost::asio::co_spawn(s->ex, session(s, std::move(sock)), boost::asio::detached);
        }
    }

    static boost::asio::awaitable<void> session(std::shared_ptr<state> s, boost::asio::ip::tcp::socket sock) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        boost::beast::tcp_stream stream(std::move(sock));
        if (s->opt.tls) {
            boost::beast::ssl_stream<boost::beast::tcp_stream> tls(std::move(stream), *s->opt.tls);
            boost::beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(10));
            auto [ec] = co_await tls.async_handshake(boost::asio::ssl::stream_base::server, as_tuple(use_awaitable));
            if (ec) co_return;
            co_await serve(s, tls);
        } else {
            co_await serve(s, stream);
        }
    }

    template <class Stream>
    static boost::asio::awaitable<void> serve(std::shared_ptr<state> s, Stream& stream) {
        namespace http = boost::beast::http;
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(s->opt.max_request_bytes);
            boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
            if (rec || s->stopped) co_return;
            request_type req = parser.release();
            reply r = handle(s, req);
            if (r.delay.count() > 0) {
                boost::asio::steady_timer t(s->ex, r.delay);
                co_await t.async_wait(as_tuple(use_awaitable));
            }
            if (r.drop) co_return;
            r.res.version(11);
            r.res.keep_alive(req.keep_alive() && !r.truncate);
            r.res.prepare_payload();
            if (r.truncate) {
                // Announce the full length, deliver half, hang up.
                std::string head_and_half;
                http::response<http::string_body> copy = r.res;
                copy.body().resize(copy.body().size() / 2);
                copy.set(http::field::content_length, std::to_string(r.res.body().size()));
                std::ostringstream os;
                os << copy.base() << copy.body();
                head_and_half = os.str();
                co_await boost::asio::async_write(stream, boost::asio::buffer(head_and_half), as_tuple(use_awaitable));
                co_return;
            }
            auto [wec, wn] = co_await http::async_write(stream, r.res, as_tuple(use_awaitable));
            if (wec || !r.res.keep_alive()) co_return;
        }
    }

    static response_type json_response(unsigned status, std::string body) {
        response_type res{static_cast<boost::beast::http::status>(status), 11};
        res.set(boost::beast::http::field::content_type, "application/json");
        res.body() = std::move(body);
        return res;
    }
    static response_type error_response(unsigned status, std::string_view code, std::string_view message) {
        std::string body = R"({"error":{"code":)";
        cleori::detail::append_json_string(body, code);
        body += R"(,"message":)";
        cleori::detail::append_json_string(body, message);
        body += "}}";
        return json_response(status, std::move(body));
    }

    static reply handle(std::shared_ptr<state> const& sp, request_type const& req) {
        namespace http = boost::beast::http;
        state& s = *sp;
        std::string_view const target(req.target().data(), req.target().size());
        std::lock_guard lock(s.mutex);
        if (target.substr(0, 5) == "/sim/") return {control(sp, req, target)};
        reply r = handle_api(s, req, target);
        // A corrupting proxy: the server did the work, the answer is spoiled.
        if (r.malformed) r.res = json_response(200, R"({"data":[{"id":)");
        if (r.oversize) r.res = json_response(200, std::string(*r.oversize, ' '));
        unsigned const status = r.res.result_int();
        if (!r.drop && status >= 400 && status < 500 && status != 409 && status != 429) {
            auto const err = decode_api_error<api_profile_v1>(r.res.body());
            s.event(std::to_string(status) + " for " + std::string(req.method_string()) + " " +
                    std::string(target.substr(0, target.find('?'))) + (err ? ": " + err->message : std::string()));
        }
        return r;
    }

    static reply handle_api(state& s, request_type const& req, std::string_view target) {
        namespace http = boost::beast::http;
        ++s.api_requests;
        auto const now = std::chrono::steady_clock::now();
        if (s.outage_until && now < *s.outage_until) return {{}, true};

        std::string_view const path = target.substr(0, target.find('?'));
        auto const auth_at = req.find(http::field::authorization);
        std::string retry_key;
        if (!s.awaiting_retry.empty() || !s.faults.empty()) {
            retry_key.append(req.method_string().data(), req.method_string().size()).append(" ").append(path).append(" ");
            if (auth_at != req.end()) retry_key.append(auth_at->value().data(), auth_at->value().size());
        }
        if (!s.awaiting_retry.empty())
            if (auto w = s.awaiting_retry.find(retry_key); w != s.awaiting_retry.end()) {
                for (auto i : w->second) s.injected[i].retried_after = detail::gap(now - s.injected[i].at);
                s.awaiting_retry.erase(w);
            }
        reply r;
        for (auto it = s.faults.begin(); it != s.faults.end(); ++it) {
            if (it->count == 0 || (!it->path.empty() && path.substr(0, it->path.size()) != it->path)) continue;
            fault const f = *it;
            if (--it->count == 0) s.faults.erase(it);
            s.awaiting_retry[retry_key].push_back(s.injected.size());
            s.injected.push_back({f.kind, f.kind == fault_kind::status ? f.status : 0u, std::string(req.method_string()),
                                  std::string(path), f.kind == fault_kind::status ? f.retry_after : std::string(), now, {}});
            switch (f.kind) {
            case fault_kind::status:
                r.res = error_response(f.status, "injected", "injected fault");
                if (!f.retry_after.empty()) r.res.set(http::field::retry_after, f.retry_after);
                return r;
            case fault_kind::drop: r.drop = true; return r;
            case fault_kind::malformed: r.malformed = true; break;
            case fault_kind::oversize: r.oversize = f.size; break;
            case fault_kind::latency: r.delay = f.delay; break;
            case fault_kind::truncate: r.truncate = true; break;
            }
            break;
        }

        // Authentication: the token names the asset.
        auto const auth = auth_at;
        if (auth == req.end()) return with(r, error_response(401, "unauthenticated", "missing bearer token"));
        std::string_view const value(auth->value().data(), auth->value().size());
        if (value.substr(0, 7) != "Bearer ") return with(r, error_response(401, "unauthenticated", "expected a bearer token"));
        detail::asset_record* asset = nullptr;
        for (auto& a : s.assets)
            if (a.token == value.substr(7)) asset = &a;
        if (asset == nullptr) return with(r, error_response(401, "unauthenticated", "unknown token"));

        if (req.method() == http::verb::post && path == api_profile_v1::telemetry_path)
            return with(r, telemetry(*asset, req.body(), now));
        if (req.method() == http::verb::get && path == api_profile_v1::activations_path)
            return with(r, poll(s, *asset, target, now));
        if (req.method() == http::verb::post && path.substr(0, api_profile_v1::confirm_path_prefix.size()) ==
                                                    api_profile_v1::confirm_path_prefix &&
            path.size() > api_profile_v1::confirm_path_prefix.size() + api_profile_v1::confirm_path_suffix.size() &&
            path.substr(path.size() - api_profile_v1::confirm_path_suffix.size()) == api_profile_v1::confirm_path_suffix) {
            std::string_view id = path.substr(api_profile_v1::confirm_path_prefix.size());
            id.remove_suffix(api_profile_v1::confirm_path_suffix.size());
            return with(r, confirm(s, *asset, cleori::detail::percent_decode(id), req.body(), now));
        }
        return with(r, error_response(404, "not_found", "no such endpoint"));
    }

    static reply with(reply r, response_type res) {
        r.res = std::move(res);
        return r;
    }

    static response_type telemetry(detail::asset_record& a, std::string const& body,
                                   std::chrono::steady_clock::time_point now) {
        std::string why;
        auto samples = decode_telemetry(body, &why);
        if (!samples) return error_response(422, "invalid_telemetry", why);
        ++a.telemetry_requests;
        auto const wall = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        if (a.last_telemetry_at) a.max_telemetry_gap = std::max(a.max_telemetry_gap, detail::gap(now - *a.last_telemetry_at));
        a.last_telemetry_at = now;
        for (auto const& smp : *samples) {
            if (!a.sample_times.insert(smp.time).second) {
                ++a.duplicate_samples;
                continue;
            }
            a.lateness_ms.push_back(
                static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(wall - smp.time).count()) /
                1000.0);
            a.received.push_back(smp);
            ++a.samples;
        }
        return response_type{boost::beast::http::status::no_content, 11};
    }

    static response_type poll(state& s, detail::asset_record& a, std::string_view target,
                              std::chrono::steady_clock::time_point now) {
        ++a.polls;
        if (a.last_poll_at) a.max_poll_gap = std::max(a.max_poll_gap, detail::gap(now - *a.last_poll_at));
        a.last_poll_at = now;
        auto param = [&](std::string_view name, std::size_t fallback) -> std::optional<std::size_t> {
            auto q = target.find('?');
            if (q == std::string_view::npos) return fallback;
            std::string_view rest = target.substr(q + 1);
            while (!rest.empty()) {
                auto amp = rest.find('&');
                std::string_view kv = rest.substr(0, amp);
                if (kv.substr(0, name.size() + 1) == std::string(name) + "=") {
                    std::size_t v = 0;
                    std::string_view digits = kv.substr(name.size() + 1);
                    if (digits.empty() || digits.size() > 9) return std::nullopt;
                    for (char c : digits) {
                        if (c < '0' || c > '9') return std::nullopt;
                        v = v * 10 + static_cast<std::size_t>(c - '0');
                    }
                    return v;
                }
                if (amp == std::string_view::npos) break;
                rest.remove_prefix(amp + 1);
            }
            return fallback;
        };
        auto limit = param("limit", 20);
        auto offset = param("offset", 0);
        if (!limit || !offset || *limit == 0 || *limit > 100)
            return error_response(400, "invalid_paging", "limit must be 1-100 and offset a number");
        auto const wall = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        std::vector<detail::activation_record*> visible;
        for (auto& [id, r] : s.activations)
            if (r.asset == a.name && !r.a.has_ended(wall)) visible.push_back(&r);
        std::string body = R"({"data":[)";
        std::size_t const end = std::min(visible.size(), *offset + *limit);
        for (std::size_t i = *offset; i < end; ++i) {
            if (i != *offset) body.push_back(',');
            if (!visible[i]->first_served) visible[i]->first_served = now;
            encode_activation(visible[i]->a, body);
        }
        body += R"(],"pagination":{"limit":)" + std::to_string(*limit) + R"(,"offset":)" + std::to_string(*offset) +
                R"(,"total":)" + std::to_string(visible.size()) + "}}";
        return json_response(200, std::move(body));
    }

    static response_type confirm(state& s, detail::asset_record& a, std::string const& id, std::string const& body,
                                 std::chrono::steady_clock::time_point now) {
        auto it = s.activations.find(id);
        if (it == s.activations.end()) return error_response(404, "not_found", "unknown activation");
        if (it->second.asset != a.name) return error_response(403, "forbidden", "activation belongs to another asset");
        std::string why;
        auto c = decode_confirmation(body, &why);
        if (!c) return error_response(422, "invalid_confirmation", why);
        auto& r = it->second;
        ++r.confirmations;
        if (r.confirmed_at) return error_response(409, "already_confirmed", "activation already confirmed");
        r.confirmed_at = now;
        {
            // Latency counts from when the agent could act: it had seen the
            // activation and (to confirm execution) its start time had come.
            // A refusal can be sent as soon as the activation is seen.
            auto const wall = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
            auto start = now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(wall - r.a.start_time);
            if (c->status == confirmation_status::unavailable) start = r.first_served.value_or(now);
            r.actionable_at = r.first_served ? std::max(*r.first_served, start) : start;
        }
        r.first_confirmation = *c;
        {
            std::ostringstream os;
            os << "activation " << id << " confirmed by " << a.name << ": "
               << (c->status == confirmation_status::executing ? "executing" : "unavailable");
            if (c->setpoint) os << " at " << *c->setpoint;
            if (c->reason) os << " (" << *c->reason << ")";
            os << ", " << detail::gap(now - *r.actionable_at).count() << " ms after it could";
            s.event(os.str());
        }
        if (c->status == confirmation_status::executing && r.a.status == activation_status::pending)
            r.a.status = activation_status::confirmed;
        std::string out = R"({"data":)";
        encode_activation(r.a, out);
        out += "}";
        return json_response(200, std::move(out));
    }

    static response_type control(std::shared_ptr<state> const& sp, request_type const& req, std::string_view target) {
        namespace http = boost::beast::http;
        state& s = *sp;
        if (req.method() == http::verb::get && target == "/sim/report")
            return json_response(200, boost::json::serialize(s.make_report()));
        if (req.method() != http::verb::post && req.method() != http::verb::patch)
            return error_response(405, "method_not_allowed", "control endpoints take POST (PATCH to modify)");
        boost::system::error_code ec;
        auto body = boost::json::parse(req.body().empty() ? std::string_view("{}") : std::string_view(req.body()), ec);
        if (ec || !body.is_object()) return error_response(400, "invalid_json", "the body must be a JSON object");
        boost::json::object action = std::move(body.get_object());
        constexpr std::string_view acts = "/sim/activations";
        if (target == acts && req.method() == http::verb::post) {
            action["action"] = "create";
        } else if (target == "/sim/faults" && req.method() == http::verb::post) {
            action["action"] = "fault";
        } else if (target == "/sim/outage" && req.method() == http::verb::post) {
            action["action"] = "outage";
        } else if (target.substr(0, acts.size() + 1) == std::string(acts) + "/") {
            std::string_view rest = target.substr(acts.size() + 1);
            constexpr std::string_view cancel_suffix = "/cancel";
            bool const cancel = rest.size() > cancel_suffix.size() &&
                                rest.substr(rest.size() - cancel_suffix.size()) == cancel_suffix;
            if (cancel) rest.remove_suffix(cancel_suffix.size());
            if (cancel && req.method() == http::verb::post) action["action"] = "cancel";
            else if (!cancel && req.method() == http::verb::patch) action["action"] = "modify";
            else return error_response(405, "method_not_allowed", "PATCH /sim/activations/{id} or POST …/{id}/cancel");
            action["id"] = cleori::detail::percent_decode(rest);
        } else {
            return error_response(404, "not_found", "unknown control endpoint");
        }
        if (auto why = schedule(sp, action, std::chrono::steady_clock::now()); !why.empty())
            return error_response(422, "invalid_action", why);
        return json_response(202, R"({"data":{"accepted":true}})");
    }

    // --- actions: one format for the scenario file and the control endpoints ---

    static std::optional<double> number_at(boost::json::object const& o, std::string_view key) {
        auto const* v = o.if_contains(boost::json::string_view(key.data(), key.size()));
        double d = 0;
        if (v == nullptr || cleori::detail::read_number(*v, d)) return std::nullopt;
        return d;
    }
    static std::optional<std::string> string_at(boost::json::object const& o, std::string_view key) {
        auto const* v = o.if_contains(boost::json::string_view(key.data(), key.size()));
        if (v == nullptr || !v->is_string()) return std::nullopt;
        return std::string(v->get_string());
    }
    static std::chrono::microseconds seconds_of(double s) {
        return std::chrono::microseconds(static_cast<std::int64_t>(s * 1e6));
    }

    // Converts to any result<T, std::string> holding the error text.
    struct failed {
        std::string why;
        template <class T>
        operator boost::system::result<T, std::string>() && {
            return {boost::system::in_place_error, std::move(why)};
        }
    };

    // Shape checks that need no state, so a scenario is refused before anything runs.
    static std::string check_action(boost::json::object const& a) {
        auto const what = string_at(a, "action");
        if (!what) return "missing \"action\" (create, modify, cancel, fault, outage)";
        if (auto const* at = a.if_contains("at_s")) {
            double d = 0;
            if (cleori::detail::read_number(*at, d) || d < 0 || d > 7 * 86400.0) return "\"at_s\" must be 0…604800 seconds";
        }
        if (*what == "create") {
            if (!string_at(a, "asset")) return "create: missing \"asset\" (e.g. \"asset-1\")";
            if (auto const* act = a.if_contains("activation"); act == nullptr || !act->is_object())
                return "create: missing \"activation\" object";
            return {};
        }
        if (*what == "modify" || *what == "cancel") return string_at(a, "id") ? "" : *what + ": missing \"id\"";
        if (*what == "fault") {
            auto const* f = a.if_contains("fault");
            if (f == nullptr || !f->is_object()) return "fault: missing \"fault\" object";
            auto parsed = parse_fault(f->get_object());
            return parsed ? "" : "fault: " + parsed.error();
        }
        if (*what == "outage") {
            auto d = number_at(a, "duration_s");
            return d && *d > 0 && *d <= 86400 ? "" : "outage: \"duration_s\" must be in (0, 86400]";
        }
        return "unknown action \"" + *what + "\"";
    }

    static boost::system::result<fault, std::string> parse_fault(boost::json::object const& o) {
        static constexpr std::array<std::pair<std::string_view, fault_kind>, 6> kinds{{{"status", fault_kind::status},
                                                                                       {"latency", fault_kind::latency},
                                                                                       {"drop", fault_kind::drop},
                                                                                       {"truncate", fault_kind::truncate},
                                                                                       {"malformed", fault_kind::malformed},
                                                                                       {"oversize", fault_kind::oversize}}};
        fault f;
        auto const kind = string_at(o, "kind");
        auto const k = std::find_if(kinds.begin(), kinds.end(), [&](auto const& p) { return kind && p.first == *kind; });
        if (k == kinds.end()) return failed{std::string("\"kind\" must be status, latency, drop, truncate, malformed or oversize")};
        f.kind = k->second;
        if (auto v = number_at(o, "status")) {
            if (*v < 100 || *v > 599) return failed{std::string("\"status\" must be 100…599")};
            f.status = static_cast<unsigned>(*v);
        }
        if (auto v = string_at(o, "retry_after")) f.retry_after = *v;
        else if (auto n = number_at(o, "retry_after")) f.retry_after = std::to_string(static_cast<long long>(*n));
        if (auto v = number_at(o, "delay_ms")) {
            if (*v < 0 || *v > 600000) return failed{std::string("\"delay_ms\" must be 0…600000")};
            f.delay = std::chrono::milliseconds(static_cast<std::int64_t>(*v));
        }
        if (auto v = number_at(o, "size")) {
            if (*v < 0 || *v > 1e9) return failed{std::string("\"size\" must be 0…1e9 bytes")};
            f.size = static_cast<std::size_t>(*v);
        }
        if (auto v = string_at(o, "path")) f.path = *v;
        if (auto v = number_at(o, "count")) {
            if (*v < 1 || *v > 1e6) return failed{std::string("\"count\" must be 1…1000000")};
            f.count = static_cast<unsigned>(*v);
        }
        return f;
    }

    // Builds an activation from its wire form, with times that may be given
    // relative to now: start_in_s, end_in_s, duration_s (from the start).
    static boost::system::result<activation, std::string> build_activation(boost::json::object o) {
        auto const wall = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        if (auto s = number_at(o, "start_in_s")) {
            o["start_time"] = to_rfc3339(wall + seconds_of(*s));
            o.erase("start_in_s");
        }
        if (auto s = number_at(o, "end_in_s")) {
            o["end_time"] = to_rfc3339(wall + seconds_of(*s));
            o.erase("end_in_s");
        }
        if (auto d = number_at(o, "duration_s")) {
            auto const* st = o.if_contains("start_time");
            auto start = st && st->is_string() ? parse_rfc3339(std::string_view(st->get_string())) : result<timestamp>(wall);
            if (!start) return failed{std::string("\"duration_s\" needs a valid start_time")};
            o["end_time"] = to_rfc3339(*start + seconds_of(*d));
            o.erase("duration_s");
        }
        if (!o.contains("status")) o["status"] = "pending";
        std::string text = "[" + boost::json::serialize(o) + "]";
        auto page = decode_activation_page<api_profile_v1>(text);
        if (!page) return failed{std::string("activation: ") + page.error().message()};
        if (!page->rejected.empty()) return failed{"activation: " + page->rejected.front().reason};
        if (page->activations.size() != 1) return failed{std::string("activation: expected one object")};
        return std::move(page->activations.front());
    }

    static std::string schedule(std::shared_ptr<state> const& sp, boost::json::object const& a,
                                std::chrono::steady_clock::time_point base) {
        if (auto why = check_action(a); !why.empty()) return why;
        double const at = number_at(a, "at_s").value_or(0.0);
        auto const when = base + std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds_of(at));
        if (when <= std::chrono::steady_clock::now()) return run_action(*sp, a);
        boost::asio::co_spawn(
            sp->ex,
            [](std::shared_ptr<state> s, boost::json::object act,
               std::chrono::steady_clock::time_point t) -> boost::asio::awaitable<void> {
                boost::asio::steady_timer timer(s->ex, t);
                auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
                if (ec || s->stopped) co_return;
                std::lock_guard lock(s->mutex);
                if (auto why = run_action(*s, act); !why.empty()) s->control_errors.push_back(why);
            }(sp, a, when),
            boost::asio::detached);
        return {};
    }

    static std::string describe(activation const& a) {
        std::ostringstream os;
        os << (a.direction == mfrr_direction::up ? "up " : "down ") << a.power << " from " << to_rfc3339(a.start_time);
        if (a.end_time) os << " to " << to_rfc3339(*a.end_time);
        return os.str();
    }

    // The asset set is fixed at construction, so this check needs no lock.
    static std::string check_asset(state const& s, boost::json::object const& a) {
        auto const asset = string_at(a, "asset");
        if (!asset || std::any_of(s.assets.begin(), s.assets.end(), [&](auto const& r) { return r.name == *asset; }))
            return {};
        return "create: unknown asset \"" + *asset + "\" (assets are asset-1 … asset-" + std::to_string(s.assets.size()) +
               ")";
    }

    static std::string run_action(state& s, boost::json::object const& a) {
        auto const what = *string_at(a, "action");
        if (what == "create") {
            if (auto why = check_asset(s, a); !why.empty()) return why;
            auto const asset = *string_at(a, "asset");
            auto act = build_activation(a.at("activation").get_object());
            if (!act) return "create: " + act.error();
            if (s.activations.contains(act->id)) return "create: activation \"" + act->id + "\" exists; use modify";
            std::string id = act->id;
            s.event("activation " + id + " created for " + asset + ": " + describe(*act));
            s.activations[id] = detail::activation_record{std::move(*act), asset, {}, 0, {}, {}};
            return {};
        }
        if (what == "modify" || what == "cancel") {
            auto const id = *string_at(a, "id");
            auto it = s.activations.find(id);
            if (it == s.activations.end()) return what + ": unknown activation \"" + id + "\"";
            if (what == "cancel") {
                it->second.a.status = activation_status::cancelled;
                it->second.cancelled_wall =
                    std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
                s.event("activation " + id + " cancelled");
                return {};
            }
            std::string current;
            encode_activation(it->second.a, current);
            auto merged = boost::json::parse(current).as_object();
            for (auto const& [k, v] : a)
                if (k != "action" && k != "id" && k != "at_s") merged[k] = v;
            auto act = build_activation(std::move(merged));
            if (!act) return "modify: " + act.error();
            it->second.a = std::move(*act);
            s.event("activation " + id + " modified: " + describe(it->second.a));
            return {};
        }
        if (what == "fault") {
            s.faults.push_back(*parse_fault(a.at("fault").get_object()));
            s.event("fault queued: " + boost::json::serialize(a.at("fault")));
            return {};
        }
        s.event("outage for " + boost::json::serialize(a.at("duration_s")) + " s: every API connection is dropped");
        s.outage_until = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             seconds_of(*number_at(a, "duration_s")));
        return {};
    }

    std::shared_ptr<state> state_;
};

} // namespace cleori::sim
