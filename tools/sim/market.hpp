#pragma once
/// @file
/// @brief `cleori::sim::basic_market` — the simulated Cleori without sockets:
/// the v1 contract (authentication, telemetry validation, paged polls,
/// confirmations), scripted activations, injected faults and the compliance
/// report, all on a `Clock` policy.
///
/// Two ways to reach it:
/// - over loopback sockets, plain or TLS: `cleori::sim::server`
///   (`sim/server.hpp`), on the real clocks;
/// - in process, in virtual time: `market.responder()` answers the requests of
///   a `cleori::testing::memory_transport`, and a `manual_clock` shared with
///   the agent runs a market day in seconds (`tools/sim/market_day.cpp`).
///
/// @code
/// cleori::manual_clock clock;
/// cleori::sim::basic_market<cleori::manual_clock> market{io.get_executor(), {.tokens = {"tok-1"}}, clock};
/// cleori::testing::memory_transport transport{io.get_executor(), market.responder()};
/// market.load_scenario(text);           // actions at virtual times
/// … an agent on `transport` and `clock` …
/// clock.run_for(io, std::chrono::hours(24));
/// auto report = market.report();        // compliance: rules PASS/FAIL, energies
/// @endcode
///
/// Assets are named `asset-1`, `asset-2`, … in the order of their tokens;
/// tokens never appear in the report or in any response. All member
/// functions are thread-safe.

#include "sim/compliance.hpp"

#include <cleori/api/json.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/transport/http.hpp>
#include <cleori/transport/url.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace cleori::sim {

/// @brief Kinds of injected fault.
enum class fault_kind {
    status,    ///< answer with `status` (and `Retry-After` if given) and an error envelope
    latency,   ///< wait `delay` before answering normally (sockets only)
    drop,      ///< close the connection without answering
    truncate,  ///< announce a body, send half of it, close
    malformed, ///< process the request, then answer 200 with a body that is not JSON
    oversize,  ///< process the request, then answer 200 with a body of `size` bytes
};

/// @brief Fault kinds by the names scenario files and reports use.
inline constexpr std::array<std::pair<std::string_view, fault_kind>, 6> fault_names{{{"status", fault_kind::status},
                                                                                     {"latency", fault_kind::latency},
                                                                                     {"drop", fault_kind::drop},
                                                                                     {"truncate", fault_kind::truncate},
                                                                                     {"malformed", fault_kind::malformed},
                                                                                     {"oversize", fault_kind::oversize}}};

/// @brief The name of a fault kind, as scenario files and reports spell it.
constexpr std::string_view name_of(fault_kind k) noexcept {
    for (auto const& [n, v] : fault_names)
        if (v == k) return n;
    return "unknown";
}

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
    mono_time at{};                                  ///< when the request arrived
    /// Time until the same client sent the same request again (same method,
    /// path and credentials); empty while it has not.
    std::optional<std::chrono::milliseconds> retried_after{};
};

/// @brief Settings of the simulator (the socket server's too).
struct server_options {
    std::vector<std::string> tokens{};        ///< one per asset: asset-1, asset-2, …
    std::string address = "127.0.0.1";       ///< sockets only
    unsigned short port = 0;                  ///< sockets only; 0: an ephemeral port
    boost::asio::ssl::context* tls = nullptr; ///< sockets only: serve TLS with this context
    std::size_t max_request_bytes = 1024 * 1024;
    /// Called with one line per notable event (activation created, modified,
    /// cancelled or confirmed; fault, outage; requests refused with 4xx).
    /// Runs under the simulator's lock: it must not call back into it.
    std::function<void(std::string const&)> on_event{};
    /// What the compliance verdicts are judged against (see compliance.hpp).
    compliance_rules rules{};
};
using market_options = server_options;

/// @brief One API request as the market sees it, whatever carried it.
struct market_request {
    std::string_view method;  ///< "GET", "POST", "PATCH", …
    std::string_view target;  ///< path and query
    std::optional<std::string_view> authorization; ///< the header's value, if present
    std::string_view body;
};

/// @brief What to answer, and how a fault spoils the answer.
struct market_reply {
    unsigned status = 200;
    std::string body{};
    std::string retry_after{};
    bool drop = false;      ///< close without answering
    bool truncate = false;  ///< announce the body, send half, close
    std::chrono::milliseconds delay{0};
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
    std::optional<mono_time> last_telemetry_at{};
    std::chrono::milliseconds max_telemetry_gap{0};
    std::size_t polls = 0;
    std::optional<mono_time> last_poll_at{};
    std::chrono::milliseconds max_poll_gap{0};
    std::optional<mono_time> last_poll_attempt{}; ///< any poll that reached the server, faulted or not
    std::chrono::milliseconds max_poll_attempt_gap{0}; ///< between attempts, outages excluded
    std::vector<timestamp> poll_walls{};          ///< wall time of every successful poll
    std::vector<telemetry_sample> received{};     ///< in arrival order
};

inline std::chrono::milliseconds gap(mono_time::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}
// Milliseconds with microsecond resolution, for latencies.
inline double ms(mono_time::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) / 1000.0;
}

} // namespace detail

/// @brief The simulated Cleori. See the file comment.
template <class Clock = real_clock>
class basic_market {
    static_assert(cleori::Clock<Clock>, "cleori::sim::basic_market: 'Clock' does not model Clock");

public:
    basic_market(boost::asio::any_io_executor ex, market_options opt, Clock clock = Clock{})
        : state_(std::make_shared<state>(std::move(ex), std::move(opt), std::move(clock))) {
        for (std::size_t i = 0; i < state_->opt.tokens.size(); ++i) {
            detail::asset_record a;
            a.name = "asset-" + std::to_string(i + 1);
            a.token = state_->opt.tokens[i];
            state_->assets.push_back(std::move(a));
        }
    }
    basic_market(basic_market const&) = delete;
    basic_market& operator=(basic_market const&) = delete;
    ~basic_market() { cancel_scheduled(); }

    /// @brief Answers one API or control request.
    market_reply handle(market_request const& req) { return state_->handle(req); }

    /// @brief A responder for `cleori::testing::memory_transport`: the market
    /// in process. A dropped or truncated answer is a transport error
    /// (`connection_reset`, `eof`); a latency fault answers at once (virtual
    /// time has no waiting connection) and is noted as a control error.
    auto responder() {
        return [s = state_](http_request const& req) -> std::pair<boost::system::error_code, http_response> {
            std::string const auth = std::string("Bearer ").append(req.bearer_token);
            market_reply r = s->handle({to_string(req.method), req.target, std::string_view(auth), req.body});
            if (r.delay.count() > 0) {
                std::lock_guard lock(s->mutex);
                s->control_errors.push_back("latency fault answered at once: the in-process market has no connection to delay");
            }
            if (r.drop) return {boost::asio::error::connection_reset, {}};
            if (r.truncate) return {boost::asio::error::eof, {}};
            return {{}, http_response{r.status, std::move(r.body), std::move(r.retry_after)}};
        };
    }

    /// @brief Makes an activation visible to `asset`'s polls.
    void add_activation(std::string const& asset, activation a) {
        std::lock_guard lock(state_->mutex);
        state_->create(asset, std::move(a));
    }
    /// @brief Changes a served activation (power, end time…); false if unknown.
    template <class F>
    bool modify_activation(std::string const& id, F&& change) {
        std::lock_guard lock(state_->mutex);
        auto it = state_->activations.find(id);
        if (it == state_->activations.end()) return false;
        std::forward<F>(change)(it->second.a);
        it->second.changed(state_->clock.wall_now());
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
        state_->start_outage(d);
    }
    /// @brief Applies one control action — the format of the scenario file and
    /// of the `/sim/` endpoints (see doc/simulator.md). With `"at_s": S` it
    /// runs S seconds from now.
    /// @return empty when accepted, else what is wrong with the action
    std::string apply(boost::json::object const& action) {
        std::lock_guard lock(state_->mutex);
        return state_->schedule(action, state_->clock.now());
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
            if (why.empty()) why = state_->check_asset(a.get_object());
            if (!why.empty()) return "scenario: action " + std::to_string(i) + ": " + why;
        }
        std::lock_guard lock(state_->mutex);
        auto const now = state_->clock.now();
        for (std::size_t i = 0; i < actions->get_array().size(); ++i)
            if (auto why = state_->schedule(actions->get_array()[i].get_object(), now); !why.empty())
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
    /// @brief Scheduled actions that have not run yet.
    std::size_t scheduled_actions() const {
        std::lock_guard lock(state_->mutex);
        return state_->timers.size();
    }

    /// @brief The compliance report (see doc/simulator.md): per asset, per
    /// activation energies and verdicts, the rules with PASS/FAIL, and `pass`.
    boost::json::value report() const {
        std::lock_guard lock(state_->mutex);
        return state_->make_report();
    }
    /// @brief The time series of the run as CSV, one row per sample received
    /// (see compliance.hpp, `write_csv`).
    std::string time_series_csv() const {
        std::lock_guard lock(state_->mutex);
        return write_csv(state_->histories(), state_->clock.wall_now());
    }

    /// @brief Cancels every scheduled action that has not run.
    void cancel_scheduled() {
        std::lock_guard lock(state_->mutex);
        state_->stopped = true;
        for (auto& t : state_->timers) t.cancel();
    }

protected:
    struct state;
    std::shared_ptr<state> const& shared_state() const noexcept { return state_; }

    struct state : std::enable_shared_from_this<state> {
        using timer_type = decltype(std::declval<Clock&>().make_timer(std::declval<boost::asio::any_io_executor>()));

        state(boost::asio::any_io_executor e, market_options o, Clock c)
            : ex(std::move(e)), opt(std::move(o)), clock(std::move(c)) {}
        boost::asio::any_io_executor ex;
        market_options opt;
        Clock clock;
        bool stopped = false;
        mutable std::mutex mutex;
        std::vector<detail::asset_record> assets;
        std::map<std::string, activation_history> activations;
        std::deque<fault> faults;
        std::optional<mono_time> outage_until;
        std::vector<std::pair<mono_time, mono_time>> outages; ///< every outage, for the delays it excuses
        std::size_t api_requests = 0;
        std::vector<injected_fault> injected;
        // Faults whose request has not been sent again yet, by method, path and credentials.
        std::map<std::string, std::vector<std::size_t>, std::less<>> awaiting_retry;
        std::vector<std::string> control_errors; ///< scheduled actions that failed when they ran
        std::list<timer_type> timers;             ///< one per scheduled action, until it runs

        void event(std::string const& line) const {
            if (opt.on_event) opt.on_event(line);
        }

        std::vector<asset_history> histories() const {
            std::vector<asset_history> out;
            for (auto const& a : assets) {
                asset_history h{a.name, a.received, a.poll_walls, {}};
                for (auto const& [id, r] : activations)
                    if (r.asset == a.name) h.activations.push_back(&r);
                out.push_back(std::move(h));
            }
            return out;
        }

        boost::json::value make_report() const {
            auto const now = clock.wall_now();
            auto const hist = histories();
            boost::json::array assets_out;
            std::vector<rule_result> rules;
            for (std::size_t i = 0; i < assets.size(); ++i) {
                auto const& a = assets[i];
                auto assessed = assess_asset(hist[i], opt.rules, now);
                boost::json::array acts;
                for (auto const& e : assessed.activations) acts.push_back(to_json(e));
                assets_out.push_back(boost::json::object{
                    {"asset", a.name},
                    {"samples_received", a.samples},
                    {"duplicate_samples", a.duplicate_samples},
                    {"telemetry_requests", a.telemetry_requests},
                    {"max_sample_gap_s", seconds(max_sample_gap(a))},
                    {"max_telemetry_gap_s", seconds(a.max_telemetry_gap)},
                    {"polls", a.polls},
                    {"max_poll_gap_s", seconds(a.max_poll_gap)},
                    {"max_poll_attempt_gap_s", seconds(a.max_poll_attempt_gap)},
                    {"setpoints_outside_windows", assessed.outside_windows},
                    {"baseline_misses", assessed.baseline_misses},
                    {"activations", std::move(acts)}});
                if (a.telemetry_requests == 0 && a.polls == 0) continue; // an asset that never ran is not judged
                // Silence until the report counts too: an agent that stops
                // talking has a gap that never closes.
                auto telemetry_gap = max_sample_gap(a);
                if (!a.sample_times.empty() && now > *a.sample_times.rbegin())
                    telemetry_gap = std::max(telemetry_gap, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                now - *a.sample_times.rbegin()));
                auto poll_gap_ = a.max_poll_attempt_gap;
                if (a.last_poll_attempt) poll_gap_ = std::max(poll_gap_, detail::gap(clock.now() - *a.last_poll_attempt));
                merge_rules(rules, asset_rules(a.name, assessed, seconds(telemetry_gap), seconds(poll_gap_), opt.rules));
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
            for (auto const& [n, k] : fault_names)
                by_kind[n] = std::count_if(injected.begin(), injected.end(),
                                           [k = k](injected_fault const& f) { return f.kind == k; });
            boost::json::array rules_out;
            bool pass = true;
            for (auto const& r : rules) {
                rules_out.push_back(to_json(r));
                pass = pass && r.pass;
            }
            return boost::json::object{{"api_requests", api_requests},
                                       {"faults_injected", std::move(by_kind)},
                                       {"telemetry_lateness_ms", std::move(lateness)},
                                       {"assets", std::move(assets_out)},
                                       {"rules", std::move(rules_out)},
                                       {"pass", pass},
                                       {"tolerances", to_json(opt.rules)},
                                       {"control_errors", std::move(errors)}};
        }

        static double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

        // Over sample times, not arrival: a back-filled outage leaves no gap.
        static std::chrono::milliseconds max_sample_gap(detail::asset_record const& a) {
            std::chrono::milliseconds out{0};
            for (auto it = a.sample_times.begin(); it != a.sample_times.end() && std::next(it) != a.sample_times.end(); ++it)
                out = std::max(out, std::chrono::duration_cast<std::chrono::milliseconds>(*std::next(it) - *it));
            return out;
        }

        static market_reply json_reply(unsigned status, std::string body) {
            market_reply r;
            r.status = status;
            r.body = std::move(body);
            return r;
        }
        static market_reply error_reply(unsigned status, std::string_view code, std::string_view message) {
            std::string body = R"({"error":{"code":)";
            cleori::detail::append_json_string(body, code);
            body += R"(,"message":)";
            cleori::detail::append_json_string(body, message);
            body += "}}";
            return json_reply(status, std::move(body));
        }
        // Keeps what a fault decided about the reply, takes the answer.
        static market_reply with(market_reply r, market_reply answer) {
            answer.drop = r.drop;
            answer.truncate = r.truncate;
            answer.delay = r.delay;
            return answer;
        }

        // The one entry point of every request, whatever carried it.
        market_reply handle(market_request const& req) {
            std::lock_guard lock(mutex);
            if (req.target.substr(0, 5) == "/sim/") return control(req);
            bool malformed = false;
            std::optional<std::size_t> oversize;
            market_reply r = handle_api(req, malformed, oversize);
            // A corrupting proxy: the server did the work, the answer is spoiled.
            if (malformed) r = with(r, json_reply(200, R"({"data":[{"id":)"));
            if (oversize) r = with(r, json_reply(200, std::string(*oversize, ' ')));
            if (!r.drop && r.status >= 400 && r.status < 500 && r.status != 409 && r.status != 429) {
                auto const err = decode_api_error<api_profile_v1>(r.body);
                event(std::to_string(r.status) + " for " + std::string(req.method) + " " +
                      std::string(req.target.substr(0, req.target.find('?'))) + (err ? ": " + err->message : std::string()));
            }
            return r;
        }

        detail::asset_record* asset_of(std::optional<std::string_view> auth) {
            if (!auth || auth->substr(0, 7) != "Bearer ") return nullptr;
            for (auto& a : assets)
                if (a.token == auth->substr(7)) return &a;
            return nullptr;
        }

        market_reply handle_api(market_request const& req, bool& malformed, std::optional<std::size_t>& oversize) {
            ++api_requests;
            auto const now = clock.now();
            std::string_view const path = req.target.substr(0, req.target.find('?'));
            detail::asset_record* const asset = asset_of(req.authorization);
            if (asset && req.method == "GET" && path == api_profile_v1::activations_path) {
                // What the agent controls is that it tries: attempts count
                // even when a fault or an outage spoils them.
                if (auto from = asset->last_poll_attempt)
                    asset->max_poll_attempt_gap = std::max(asset->max_poll_attempt_gap, detail::gap(now - *from));
                asset->last_poll_attempt = now;
            }
            if (outage_until && now < *outage_until) {
                market_reply r;
                r.drop = true;
                return r;
            }
            std::string retry_key;
            if (!awaiting_retry.empty() || !faults.empty()) {
                retry_key.append(req.method).append(" ").append(path).append(" ");
                if (req.authorization) retry_key.append(*req.authorization);
            }
            if (!awaiting_retry.empty())
                if (auto w = awaiting_retry.find(retry_key); w != awaiting_retry.end()) {
                    for (auto i : w->second) injected[i].retried_after = detail::gap(now - injected[i].at);
                    awaiting_retry.erase(w);
                }
            market_reply r;
            for (auto it = faults.begin(); it != faults.end(); ++it) {
                if (it->count == 0 || (!it->path.empty() && path.substr(0, it->path.size()) != it->path)) continue;
                fault const f = *it;
                if (--it->count == 0) faults.erase(it);
                awaiting_retry[retry_key].push_back(injected.size());
                injected.push_back({f.kind, f.kind == fault_kind::status ? f.status : 0u, std::string(req.method),
                                    std::string(path), f.kind == fault_kind::status ? f.retry_after : std::string(), now, {}});
                switch (f.kind) {
                case fault_kind::status:
                    r = error_reply(f.status, "injected", "injected fault");
                    r.retry_after = f.retry_after;
                    return r;
                case fault_kind::drop: r.drop = true; return r;
                case fault_kind::malformed: malformed = true; break;
                case fault_kind::oversize: oversize = f.size; break;
                case fault_kind::latency: r.delay = f.delay; break;
                case fault_kind::truncate: r.truncate = true; break;
                }
                break;
            }

            // Authentication: the token names the asset.
            if (!req.authorization) return with(r, error_reply(401, "unauthenticated", "missing bearer token"));
            if (req.authorization->substr(0, 7) != "Bearer ")
                return with(r, error_reply(401, "unauthenticated", "expected a bearer token"));
            if (asset == nullptr) return with(r, error_reply(401, "unauthenticated", "unknown token"));

            if (req.method == "POST" && path == api_profile_v1::telemetry_path) return with(r, telemetry(*asset, req.body, now));
            if (req.method == "GET" && path == api_profile_v1::activations_path) return with(r, poll(*asset, req.target, now));
            auto const prefix = api_profile_v1::confirm_path_prefix;
            auto const suffix = api_profile_v1::confirm_path_suffix;
            if (req.method == "POST" && path.substr(0, prefix.size()) == prefix &&
                path.size() > prefix.size() + suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
                std::string_view id = path.substr(prefix.size());
                id.remove_suffix(suffix.size());
                return with(r, confirm(*asset, cleori::detail::percent_decode(id), req.body, now));
            }
            return with(r, error_reply(404, "not_found", "no such endpoint"));
        }

        market_reply telemetry(detail::asset_record& a, std::string_view body, mono_time now) {
            std::string why;
            auto samples = decode_telemetry(body, &why);
            if (!samples) return error_reply(422, "invalid_telemetry", why);
            ++a.telemetry_requests;
            auto const wall = clock.wall_now();
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
            return json_reply(204, {});
        }

        market_reply poll(detail::asset_record& a, std::string_view target, mono_time now) {
            auto param = [&](std::string_view name, std::size_t fallback) -> std::optional<std::size_t> {
                auto q = target.find('?');
                if (q == std::string_view::npos) return fallback;
                std::string_view rest = target.substr(q + 1);
                while (!rest.empty()) {
                    auto amp = rest.find('&');
                    std::string_view kv = rest.substr(0, amp);
                    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=') {
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
                return error_reply(400, "invalid_paging", "limit must be 1-100 and offset a number");
            ++a.polls;
            if (a.last_poll_at) a.max_poll_gap = std::max(a.max_poll_gap, detail::gap(now - *a.last_poll_at));
            a.last_poll_at = now;
            auto const wall = clock.wall_now();
            a.poll_walls.push_back(wall);
            std::vector<activation_history*> visible;
            for (auto& [id, r] : activations)
                if (r.asset == a.name && !r.a.has_ended(wall)) visible.push_back(&r);
            std::string body = R"({"data":[)";
            std::size_t const end = std::min(visible.size(), *offset + *limit);
            for (std::size_t i = *offset; i < end; ++i) {
                if (i != *offset) body.push_back(',');
                if (!visible[i]->first_served) {
                    visible[i]->first_served = now;
                    visible[i]->first_served_wall = wall;
                }
                encode_activation(visible[i]->a, body);
            }
            body += R"(],"pagination":{"limit":)" + std::to_string(*limit) + R"(,"offset":)" + std::to_string(*offset) +
                    R"(,"total":)" + std::to_string(visible.size()) + "}}";
            return json_reply(200, std::move(body));
        }

        market_reply confirm(detail::asset_record& a, std::string const& id, std::string_view body, mono_time now) {
            auto it = activations.find(id);
            if (it == activations.end()) return error_reply(404, "not_found", "unknown activation");
            if (it->second.asset != a.name) return error_reply(403, "forbidden", "activation belongs to another asset");
            std::string why;
            auto c = decode_confirmation(body, &why);
            if (!c) return error_reply(422, "invalid_confirmation", why);
            auto& r = it->second;
            ++r.confirmations;
            auto const wall = clock.wall_now();
            if (r.first_confirmation) {
                // Stopping at a limit: `unavailable` after `executing` ends the
                // obligation (the profile's assumption); anything else is a repeat.
                if (r.first_confirmation->status == confirmation_status::executing &&
                    c->status == confirmation_status::unavailable && !r.released_wall) {
                    r.released_wall = wall;
                    r.release_reason = c->reason.value_or(std::string());
                    event("activation " + id + " released by " + a.name + ": unavailable after executing" +
                          (c->reason ? " (" + *c->reason + ")" : std::string()));
                    std::string out = R"({"data":)";
                    encode_activation(r.a, out);
                    return json_reply(200, out + "}");
                }
                return error_reply(409, "already_confirmed", "activation already confirmed");
            }
            r.confirmed_at = now;
            r.confirmed_wall = wall;
            {
                // Latency counts from when the agent could act: it had seen the
                // activation and (to confirm execution) its start time had come.
                // A refusal sent before the start counts from when the activation
                // was seen; one sent later (the device failed as it started) from the start.
                auto start = now - std::chrono::duration_cast<mono_time::duration>(wall - r.a.start_time);
                if (c->status == confirmation_status::unavailable && wall < r.a.start_time)
                    start = r.first_served.value_or(now);
                r.actionable_at = r.first_served ? std::max(*r.first_served, start) : start;
                // While the server was unreachable the agent could not confirm.
                for (auto const& [from, to] : outages) {
                    auto const lo = std::max(from, *r.actionable_at), hi = std::min(to, now);
                    if (hi > lo) r.unreachable += hi - lo;
                }
            }
            r.first_confirmation = *c;
            {
                std::ostringstream os;
                os << "activation " << id << " confirmed by " << a.name << ": "
                   << (c->status == confirmation_status::executing ? "executing" : "unavailable");
                if (c->setpoint) os << " at " << *c->setpoint;
                if (c->reason) os << " (" << *c->reason << ")";
                os << ", " << detail::gap(now - *r.actionable_at - r.unreachable).count() << " ms after it could";
                event(os.str());
            }
            if (c->status == confirmation_status::executing && r.a.status == activation_status::pending)
                r.a.status = activation_status::confirmed;
            std::string out = R"({"data":)";
            encode_activation(r.a, out);
            out += "}";
            return json_reply(200, std::move(out));
        }

        market_reply control(market_request const& req) {
            std::string_view const target = req.target;
            if (req.method == "GET" && target == "/sim/report")
                return json_reply(200, boost::json::serialize(make_report()));
            if (req.method != "POST" && req.method != "PATCH")
                return error_reply(405, "method_not_allowed", "control endpoints take POST (PATCH to modify)");
            boost::system::error_code ec;
            auto body = boost::json::parse(req.body.empty() ? std::string_view("{}") : req.body, ec);
            if (ec || !body.is_object()) return error_reply(400, "invalid_json", "the body must be a JSON object");
            boost::json::object action = std::move(body.get_object());
            constexpr std::string_view acts = "/sim/activations";
            if (target == acts && req.method == "POST") {
                action["action"] = "create";
            } else if (target == "/sim/faults" && req.method == "POST") {
                action["action"] = "fault";
            } else if (target == "/sim/outage" && req.method == "POST") {
                action["action"] = "outage";
            } else if (target.substr(0, acts.size() + 1) == std::string(acts) + "/") {
                std::string_view rest = target.substr(acts.size() + 1);
                constexpr std::string_view cancel_suffix = "/cancel";
                bool const cancel = rest.size() > cancel_suffix.size() &&
                                    rest.substr(rest.size() - cancel_suffix.size()) == cancel_suffix;
                if (cancel) rest.remove_suffix(cancel_suffix.size());
                if (cancel && req.method == "POST") action["action"] = "cancel";
                else if (!cancel && req.method == "PATCH") action["action"] = "modify";
                else return error_reply(405, "method_not_allowed", "PATCH /sim/activations/{id} or POST …/{id}/cancel");
                action["id"] = cleori::detail::percent_decode(rest);
            } else {
                return error_reply(404, "not_found", "unknown control endpoint");
            }
            if (auto why = schedule(action, clock.now()); !why.empty()) return error_reply(422, "invalid_action", why);
            return json_reply(202, R"({"data":{"accepted":true}})");
        }

        std::string schedule(boost::json::object const& a, mono_time base) {
            if (auto why = check_action(a); !why.empty()) return why;
            double const at = number_at(a, "at_s").value_or(0.0);
            auto const when = base + std::chrono::duration_cast<mono_time::duration>(seconds_of(at));
            if (when <= clock.now()) return run_action(a);
            auto t = timers.insert(timers.end(), clock.make_timer(ex));
            t->expires_at(when);
            t->async_wait([w = this->weak_from_this(), t, act = a](boost::system::error_code ec) {
                auto s = w.lock();
                if (!s || ec) return;
                std::lock_guard lock(s->mutex);
                if (s->stopped) return;
                if (auto why = s->run_action(act); !why.empty()) s->control_errors.push_back(why);
                s->timers.erase(t);
            });
            return {};
        }

        // The asset set is fixed at construction, so this check needs no lock.
        std::string check_asset(boost::json::object const& a) const {
            auto const asset = string_at(a, "asset");
            if (!asset || std::any_of(assets.begin(), assets.end(), [&](auto const& r) { return r.name == *asset; }))
                return {};
            return "create: unknown asset \"" + *asset + "\" (assets are asset-1 … asset-" + std::to_string(assets.size()) +
                   ")";
        }

        void create(std::string const& asset, activation a) {
            std::string id = a.id;
            activation_history h;
            h.asset = asset;
            h.a = std::move(a);
            h.created_wall = clock.wall_now();
            h.requested.push_back({h.a.start_time, h.a.setpoint().in_kw()});
            activations[id] = std::move(h);
        }

        std::string run_action(boost::json::object const& a) {
            auto const what = *string_at(a, "action");
            auto const wall = clock.wall_now();
            if (what == "create") {
                if (auto why = check_asset(a); !why.empty()) return why;
                auto const asset = *string_at(a, "asset");
                auto act = build_activation(a.at("activation").get_object(), wall);
                if (!act) return "create: " + act.error();
                if (activations.contains(act->id)) return "create: activation \"" + act->id + "\" exists; use modify";
                std::string id = act->id;
                event("activation " + id + " created for " + asset + ": " + describe(*act));
                create(asset, std::move(*act));
                return {};
            }
            if (what == "modify" || what == "cancel") {
                auto const id = *string_at(a, "id");
                auto it = activations.find(id);
                if (it == activations.end()) return what + ": unknown activation \"" + id + "\"";
                if (what == "cancel") {
                    it->second.a.status = activation_status::cancelled;
                    if (!it->second.cancelled_wall) it->second.cancelled_wall = wall;
                    event("activation " + id + " cancelled");
                    return {};
                }
                std::string current;
                encode_activation(it->second.a, current);
                auto merged = boost::json::parse(current).as_object();
                for (auto const& [k, v] : a)
                    if (k != "action" && k != "id" && k != "at_s") merged[k] = v;
                auto act = build_activation(std::move(merged), wall);
                if (!act) return "modify: " + act.error();
                it->second.a = std::move(*act);
                it->second.changed(wall);
                event("activation " + id + " modified: " + describe(it->second.a));
                return {};
            }
            if (what == "fault") {
                faults.push_back(*parse_fault(a.at("fault").get_object()));
                event("fault queued: " + boost::json::serialize(a.at("fault")));
                return {};
            }
            event("outage for " + boost::json::serialize(a.at("duration_s")) + " s: every API connection is dropped");
            start_outage(std::chrono::duration_cast<mono_time::duration>(seconds_of(*number_at(a, "duration_s"))));
            return {};
        }

        void start_outage(mono_time::duration d) {
            auto const now = clock.now();
            outage_until = now + d;
            outages.push_back({now, now + d});
        }
    };

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
        fault f;
        auto const kind = string_at(o, "kind");
        auto const k = std::find_if(fault_names.begin(), fault_names.end(),
                                    [&](auto const& p) { return kind && p.first == *kind; });
        if (k == fault_names.end())
            return failed{std::string("\"kind\" must be status, latency, drop, truncate, malformed or oversize")};
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
    // relative to `wall`: start_in_s, end_in_s, duration_s (from the start).
    static boost::system::result<activation, std::string> build_activation(boost::json::object o, timestamp wall) {
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

    static std::string describe(activation const& a) {
        std::ostringstream os;
        os << (a.direction == mfrr_direction::up ? "up " : "down ") << a.power << " from " << to_rfc3339(a.start_time);
        if (a.end_time) os << " to " << to_rfc3339(*a.end_time);
        return os.str();
    }

    std::shared_ptr<state> state_;
};

} // namespace cleori::sim
