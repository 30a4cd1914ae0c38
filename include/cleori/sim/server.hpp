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
/// sim.add_activation("asset-1", activation);          // or POST /sim/activations
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
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
    malformed, ///< answer 200 with a body that is not JSON
    oversize,  ///< answer 200 with a body of `size` bytes
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

/// @brief Settings of the simulator.
struct server_options {
    std::vector<std::string> tokens{};        ///< one per asset: asset-1, asset-2, …
    std::string address = "127.0.0.1";
    unsigned short port = 0;                  ///< 0: an ephemeral port
    boost::asio::ssl::context* tls = nullptr; ///< serve TLS with this context (certificate loaded)
    std::size_t max_request_bytes = 1024 * 1024;
};

namespace detail {

struct asset_record {
    std::string name{};
    std::string token{};
    std::size_t samples = 0;
    std::size_t duplicate_samples = 0;
    std::size_t telemetry_requests = 0;
    std::optional<timestamp> last_sample_time{};
    std::chrono::milliseconds max_sample_gap{0};
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
    std::optional<confirmation> first_confirmation{};
};

inline std::chrono::milliseconds gap(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
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

    /// @brief Stops accepting (open connections end with their next request).
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
        return modify_activation(id, [](activation& a) { a.status = activation_status::cancelled; });
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
                    if (r.first_served && r.confirmed_at)
                        o["confirmation_latency_ms"] = detail::gap(*r.confirmed_at - *r.first_served).count();
                    if (r.first_confirmation && r.first_confirmation->setpoint)
                        o["confirmed_setpoint_kw"] = r.first_confirmation->setpoint->in_kw();
                    if (auto d = delivered(a, r.a)) o["delivered_mean_kw"] = *d;
                    acts.push_back(std::move(o));
                }
                assets_out.push_back(boost::json::object{
                    {"asset", a.name},
                    {"samples_received", a.samples},
                    {"duplicate_samples", a.duplicate_samples},
                    {"telemetry_requests", a.telemetry_requests},
                    {"max_sample_gap_s", static_cast<double>(a.max_sample_gap.count()) / 1000.0},
                    {"max_telemetry_gap_s", static_cast<double>(a.max_telemetry_gap.count()) / 1000.0},
                    {"polls", a.polls},
                    {"max_poll_gap_s", static_cast<double>(a.max_poll_gap.count()) / 1000.0},
                    {"activations", std::move(acts)}});
            }
            return boost::json::object{{"api_requests", api_requests}, {"assets", std::move(assets_out)}};
        }

        static std::string_view name_of(activation_status s) {
            for (auto const& [v, n] : api_profile_v1::status_names)
                if (v == s) return n;
            return "unknown";
        }

        // Mean measured power over the activation window, from the telemetry received.
        static std::optional<double> delivered(detail::asset_record const& a, activation const& act) {
            double sum = 0;
            std::size_t n = 0;
            for (auto const& s : a.received) {
                if (!s.power || s.time < act.start_time || (act.end_time && s.time >= *act.end_time)) continue;
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
            if (rec) co_return;
            request_type req = parser.release();
            reply r = handle(*s, req);
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

    static reply handle(state& s, request_type const& req) {
        namespace http = boost::beast::http;
        std::string_view const target(req.target().data(), req.target().size());
        std::lock_guard lock(s.mutex);
        if (target.substr(0, 5) == "/sim/") return {control(s, req, target)};
        ++s.api_requests;
        auto const now = std::chrono::steady_clock::now();
        if (s.outage_until && now < *s.outage_until) return {{}, true};

        std::string_view const path = target.substr(0, target.find('?'));
        reply r;
        for (auto it = s.faults.begin(); it != s.faults.end(); ++it) {
            if (it->count == 0 || (!it->path.empty() && path.substr(0, it->path.size()) != it->path)) continue;
            fault const f = *it;
            if (--it->count == 0) s.faults.erase(it);
            switch (f.kind) {
            case fault_kind::status:
                r.res = error_response(f.status, "injected", "injected fault");
                if (!f.retry_after.empty()) r.res.set(http::field::retry_after, f.retry_after);
                return r;
            case fault_kind::drop: r.drop = true; return r;
            case fault_kind::malformed: r.res = json_response(200, R"({"data":[{"id":)"); return r;
            case fault_kind::oversize: r.res = json_response(200, std::string(f.size, ' ')); return r;
            case fault_kind::latency: r.delay = f.delay; break;
            case fault_kind::truncate: r.truncate = true; break;
            }
            break;
        }

        // Authentication: the token names the asset.
        auto const auth = req.find(http::field::authorization);
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
        if (a.last_telemetry_at) a.max_telemetry_gap = std::max(a.max_telemetry_gap, detail::gap(now - *a.last_telemetry_at));
        a.last_telemetry_at = now;
        for (auto const& smp : *samples) {
            bool dup = false;
            for (auto const& seen : a.received)
                if (seen.time == smp.time) dup = true;
            if (dup) {
                ++a.duplicate_samples;
                continue;
            }
            if (a.last_sample_time && smp.time > *a.last_sample_time)
                a.max_sample_gap = std::max(a.max_sample_gap,
                                            std::chrono::duration_cast<std::chrono::milliseconds>(smp.time - *a.last_sample_time));
            if (!a.last_sample_time || smp.time > *a.last_sample_time) a.last_sample_time = smp.time;
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
        r.first_confirmation = *c;
        if (c->status == confirmation_status::executing && r.a.status == activation_status::pending)
            r.a.status = activation_status::confirmed;
        std::string out = R"({"data":)";
        encode_activation(r.a, out);
        out += "}";
        return json_response(200, std::move(out));
    }

    static response_type control(state& s, request_type const& req, std::string_view target) {
        namespace http = boost::beast::http;
        if (req.method() == http::verb::get && target == "/sim/report")
            return json_response(200, boost::json::serialize(s.make_report()));
        return error_response(404, "not_found", "unknown control endpoint");
    }

    std::shared_ptr<state> state_;
};

} // namespace cleori::sim
