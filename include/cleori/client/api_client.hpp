#pragma once
/// @file
/// @brief `cleori::basic_api_client` — the three Cleori calls (send telemetry,
/// get activations, confirm) over a `Transport`, with a `RetryStrategy` and
/// deadlines, for one or many assets (the token is per call).
///
/// Every call takes a deadline (the next telemetry or poll due time): no retry
/// is scheduled that would end past it, and each attempt's timeout is cut to
/// fit. Failures are `api_failure`s naming the endpoint, the HTTP status,
/// Cleori's error code and message when present, and the number of attempts —
/// never the token.
///
/// @code
/// cleori::beast_transport transport{io.get_executor(), base_url};
/// cleori::api_client client{transport};            // <cleori/agent.hpp>: basic_api_client<beast_transport>
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///     auto poll = co_await client.get_activations(token, steady_clock::now() + 5s);
///     if (!poll) log(poll.error().describe());   // "GET /v1/activations: 401 …"
/// }, asio::detached);
///
/// // Or with any Asio completion token: a callback, use_future, deferred, use_awaitable.
/// client.async_get_activations(token, steady_clock::now() + 5s, [](cleori::api_result<cleori::activation_poll> r) { … });
/// std::future<cleori::api_result<void>> f = client.async_confirm(token, id, c, deadline, asio::use_future);
/// @endcode

#include <cleori/api/json.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/error.hpp>
#include <cleori/policies.hpp>
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/transport/http.hpp>
#include <cleori/transport/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <chrono>
#include <exception>
#include <span>
#include <string>
#include <vector>

namespace cleori {

/// @brief Why an API call failed.
struct api_failure {
    boost::system::error_code ec{}; ///< what went wrong (cleori, Asio or SSL category)
    std::string endpoint{};         ///< e.g. "POST /v1/telemetry"
    unsigned status = 0;          ///< HTTP status of the last attempt, 0 if none
    std::string code{};             ///< Cleori's error code, when the body had one
    std::string message{};          ///< Cleori's error message, when the body had one
    unsigned attempts = 0;        ///< attempts made
    /// The server's `Retry-After` on the last attempt, when it sent one: the
    /// caller holds that endpoint for this long (the agent does, capped).
    std::optional<std::chrono::milliseconds> retry_after{};

    /// @brief One line for a log: endpoint, status, error, Cleori's code and message.
    [[nodiscard]] std::string describe() const {
        std::string s = endpoint + ": ";
        std::string const what = ec.message();
        if (status != 0 && what.rfind(std::to_string(status), 0) != 0) s += "HTTP " + std::to_string(status) + ": ";
        s += what;
        if (!code.empty() || !message.empty()) s += " [" + code + (message.empty() ? "" : ": " + message) + "]";
        s += " (" + std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)");
        return s;
    }
};

/// @brief Lets `boost::system::result<T, api_failure>::value()` throw a readable exception.
[[noreturn]] inline void throw_exception_from_error(api_failure const& f, boost::source_location const& loc) {
    boost::throw_exception(boost::system::system_error(f.ec, f.describe()), loc);
}

/// @brief Result of an API call.
template <class T>
using api_result = boost::system::result<T, api_failure>;

namespace detail {
// Every occurrence of `secret` in `text`, replaced.
inline std::string redact(std::string text, std::string_view secret) {
    constexpr std::string_view mark = "<redacted>";
    if (secret.empty()) return text;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + mark.size()))
        text.replace(at, secret.size(), mark);
    return text;
}

// "POST /v1/telemetry", kept as its parts (all static strings of the profile).
struct endpoint_name {
    std::string_view method, path, middle{}, suffix{};
    [[nodiscard]] std::string str() const {
        std::string s;
        s.reserve(method.size() + path.size() + middle.size() + suffix.size());
        return s.append(method).append(path).append(middle).append(suffix);
    }
};

inline boost::system::error_code status_error(unsigned status) noexcept {
    switch (status) {
    case 400: return error::http_bad_request;
    case 401: return error::http_unauthorized;
    case 403: return error::http_forbidden;
    case 404: return error::http_not_found;
    case 422: return error::http_unprocessable;
    case 429: return error::http_rate_limited;
    default: return status >= 500 && status < 600 ? error::http_server_error : error::http_unexpected_status;
    }
}
} // namespace detail

/// @brief The Cleori API client.
/// @tparam T a `Transport` (e.g. `beast_transport`)
/// @tparam P a `Policies` bundle (`default_policies`, or a type derived from
///   it): `P::retry` decides retries, `P::profile` the paths and wire fields,
///   and `P::clock` runs deadlines and retry waits (`manual_clock` in tests).
///   `P::store` is the agent's and is not used here.
template <class T, class P = default_policies>
class basic_api_client {
    static_assert(Transport<T>, "cleori::api_client: 'Transport' does not model Transport: it needs "
                                "async_request(http_request, h) taking a move-only handler h(error_code, http_response), and "
                                "get_executor() returning an Asio executor. "
                                "See doc/concepts/Transport.md");
    static_assert(cleori::Policies<P>, "cleori::api_client: 'Policies' does not model Policies: derive it from "
                                       "cleori::default_policies and shadow what differs (clock, retry, profile, store). "
                                       "See doc/concepts/Policies.md");

public:
    using policies_type = P;
    using retry_type = typename detail::checked_policies<P>::retry;
    using profile_type = typename detail::checked_policies<P>::profile;
    using clock_type = typename detail::checked_policies<P>::clock;

private:
    using R = retry_type;
    using Profile = profile_type;
    using C = clock_type;
    static_assert(!cleori::Policies<P> || RetryStrategy<R>,
                  "cleori::api_client: 'Policies::retry' does not model RetryStrategy: it needs "
                  "next_delay(retry_context) -> result<milliseconds> and on_success(time_point). See "
                  "doc/concepts/RetryStrategy.md");
    static_assert(!cleori::Policies<P> || Clock<C>,
                  "cleori::api_client: 'Policies::clock' does not model Clock: it needs now() -> steady time_point, "
                  "wall_now() -> timestamp and make_timer(executor) whose timer has expires_at(time_point), "
                  "cancel() and async_wait(handler). See doc/concepts/Clock.md");
    static_assert(!cleori::Policies<P> || cleori::Profile<Profile>,
                  "cleori::api_client: 'Policies::profile' does not model Profile: derive it from "
                  "cleori::api_profile_v1 and shadow what differs. See doc/concepts/Profile.md");

public:
    using clock = std::chrono::steady_clock;

    explicit basic_api_client(T& transport, R retry = R{}, C clk = C{})
        : transport_(transport), retry_(std::move(retry)), clock_(std::move(clk)) {}

    /// @brief The longest single attempt (cut further to fit the deadline).
    std::chrono::milliseconds attempt_timeout{5000};

    /// @brief POST telemetry: one sample or a batch (in order).
    boost::asio::awaitable<api_result<void>> send_telemetry(std::string_view token,
                                                            std::span<telemetry_sample const> samples,
                                                            clock::time_point deadline) {
        http_request req;
        req.method = http_method::post;
        req.target = std::string(Profile::telemetry_path);
        req.body.reserve(samples.size() * 128 + 2); // a sample's JSON is about 80 bytes: one allocation
        if (samples.size() == 1) encode_telemetry<Profile>(samples[0], req.body);
        else encode_telemetry<Profile>(samples, req.body);
        req.bearer_token = std::string(token);
        auto r = co_await call(std::move(req), {"POST ", Profile::telemetry_path}, deadline, false);
        if (!r) co_return r.error();
        co_return api_result<void>{};
    }

    /// @brief GET every activation, following pagination.
    boost::asio::awaitable<api_result<activation_poll>> get_activations(std::string_view token,
                                                                        clock::time_point deadline) {
        // The caller's string may change while this call is suspended (a
        // token rotation); every page is asked with the token it was given.
        std::string const owned_token(token);
        activation_poll out;
        std::size_t offset = 0;
        for (;;) {
            http_request req;
            req.target = std::string(Profile::activations_path) + "?" + std::string(Profile::limit_param) + "=" +
                         std::to_string(Profile::page_limit) + "&" + std::string(Profile::offset_param) + "=" +
                         std::to_string(offset);
            req.bearer_token = owned_token;
            detail::endpoint_name const endpoint{"GET ", Profile::activations_path};
            auto r = co_await call(std::move(req), endpoint, deadline, false);
            if (!r) co_return r.error();
            auto page = decode_activation_page<Profile>(r->body);
            if (!page) co_return api_failure{page.error(), endpoint.str(), r->status, {}, {}, 1};
            ++out.pages;
            std::size_t const n = page->activations.size() + page->rejected.size();
            for (auto& a : page->activations) out.activations.push_back(std::move(a));
            for (auto& j : page->rejected) out.rejected.push_back(std::move(j));
            offset += n;
            if (out.activations.size() + out.rejected.size() > Profile::max_poll_activations)
                co_return api_failure{error::response_too_large, endpoint.str(), r->status, {}, {}, 1};
            // Stop on the last page; a server that keeps paging is cut off.
            if (!page->page || n == 0 || offset >= page->page->total || out.pages >= Profile::max_poll_pages) break;
        }
        co_return out;
    }

    /// @brief POST a confirmation. A 409 (already confirmed) counts as success.
    boost::asio::awaitable<api_result<void>> confirm(std::string_view token, std::string_view activation_id,
                                                     confirmation const& c, clock::time_point deadline) {
        http_request req;
        req.method = http_method::post;
        req.target = std::string(Profile::confirm_path_prefix);
        detail::append_percent_encoded(req.target, activation_id);
        req.target += Profile::confirm_path_suffix;
        req.body.reserve(256);
        encode_confirmation<Profile>(c, req.body);
        req.bearer_token = std::string(token);
        auto r = co_await call(std::move(req), {"POST ", Profile::confirm_path_prefix, "{id}", Profile::confirm_path_suffix},
                               deadline, Profile::conflict_on_confirm_is_success);
        if (!r) co_return r.error();
        co_return api_result<void>{};
    }

    /// @name The same calls with any Asio completion token
    /// Each completes with `void(api_result<…>)`: a callback, `asio::use_future`,
    /// `asio::use_awaitable`, `asio::deferred`, or any other token. The work
    /// runs on the transport's executor; the handler runs on its own
    /// associated executor (the transport's by default). `token`, `samples`
    /// and `activation_id` are read when the operation starts and must stay
    /// valid until it completes (as Asio's buffers must).
    /// @{
    template <class CompletionToken>
    auto async_send_telemetry(std::string_view token, std::span<telemetry_sample const> samples,
                              clock::time_point deadline, CompletionToken&& completion) {
        return launch<api_result<void>>([this, token, samples, deadline] { return send_telemetry(token, samples, deadline); },
                                        std::forward<CompletionToken>(completion));
    }
    template <class CompletionToken>
    auto async_get_activations(std::string_view token, clock::time_point deadline, CompletionToken&& completion) {
        return launch<api_result<activation_poll>>([this, token, deadline] { return get_activations(token, deadline); },
                                                   std::forward<CompletionToken>(completion));
    }
    template <class CompletionToken>
    auto async_confirm(std::string_view token, std::string_view activation_id, confirmation c, clock::time_point deadline,
                       CompletionToken&& completion) {
        return launch<api_result<void>>(
            [this, token, activation_id, c = std::move(c), deadline] { return confirm(token, activation_id, c, deadline); },
            std::forward<CompletionToken>(completion));
    }
    /// @}

    [[nodiscard]] R& retry() noexcept { return retry_; }

private:
    // Runs the coroutine form on the transport's executor and completes the
    // token with its result (an exception from inside is a bug: rethrown).
    template <class Result, class Make, class CompletionToken>
    auto launch(Make make, CompletionToken&& completion) {
        return boost::asio::async_initiate<CompletionToken, void(Result)>(
            [this](auto handler, Make m) {
                auto const ex = boost::asio::get_associated_executor(handler, transport_.get_executor());
                boost::asio::co_spawn(transport_.get_executor(), m(),
                                      boost::asio::bind_executor(ex, [h = std::move(handler)](std::exception_ptr e,
                                                                                              Result r) mutable {
                                          if (e) std::rethrow_exception(e);
                                          std::move(h)(std::move(r));
                                      }));
            },
            completion, std::move(make));
    }

    boost::asio::awaitable<api_result<http_response>> call(http_request req, detail::endpoint_name endpoint,
                                                           clock::time_point deadline, bool conflict_ok) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        // The endpoint's name is spelled out only when a failure needs it.
        api_failure failure{{}, {}, 0, {}, {}, 0};
        auto fail = [&]() -> api_failure {
            failure.endpoint = endpoint.str();
            return std::move(failure);
        };
        for (unsigned attempt = 1;; ++attempt) {
            failure.attempts = attempt;
            auto const now = clock_.now();
            if (now >= deadline) {
                if (!failure.ec) failure.ec = error::deadline_exceeded;
                co_return fail();
            }
            req.timeout = std::min(attempt_timeout, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
            auto [ec, res] = co_await async_exchange(req, as_tuple(use_awaitable));
            attempt_outcome outcome{ec, ec ? 0u : res.status, std::nullopt};
            if (!ec && !res.retry_after.empty())
                outcome.retry_after = parse_retry_after(res.retry_after, clock_.wall_now());
            if (!ec && ((res.status >= 200 && res.status < 300) || (conflict_ok && res.status == 409))) {
                retry_.on_success(clock_.now());
                co_return std::move(res);
            }
            failure.ec = ec ? ec : detail::status_error(res.status);
            failure.status = outcome.status;
            failure.retry_after = outcome.retry_after;
            failure.code.clear();
            failure.message.clear();
            if (!ec) {
                if (auto body = decode_api_error<Profile>(res.body)) {
                    // A server that echoes the token back must not put it in our logs.
                    failure.code = detail::redact(std::move(body->code), req.bearer_token);
                    failure.message = detail::redact(std::move(body->message), req.bearer_token);
                }
            }
            if (classify(outcome) != failure_kind::retryable) co_return fail();
            auto delay = retry_.next_delay(retry_context{attempt, outcome, clock_.now()});
            if (!delay) co_return fail(); // the last attempt's error says more than "exhausted"
            if (clock_.now() + *delay >= deadline) co_return fail();
            auto timer = clock_.make_timer(transport_.get_executor());
            timer.expires_at(clock_.now() + *delay);
            co_await timer.async_wait(as_tuple(use_awaitable));
        }
    }

    template <class Token>
    auto async_exchange(http_request const& req, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, http_response)>(
            [this](auto handler, http_request const* r) { transport_.async_request(*r, std::move(handler)); }, token,
            &req);
    }

    T& transport_;
    R retry_;
    C clock_;
};

} // namespace cleori
