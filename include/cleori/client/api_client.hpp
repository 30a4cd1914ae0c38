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
#include <cleori/detail/scratch.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/error.hpp>
#include <cleori/policies.hpp>
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/transport/http.hpp>
#include <cleori/transport/url.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <charconv>
#include <concepts>
#include <chrono>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
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

// Whether the caller runs on `ex` (false when that cannot be told: the
// caller then posts, which is always correct).
template <class Ex>
bool running_in(Ex const& ex) noexcept {
    if constexpr (requires { ex.running_in_this_thread(); }) {
        return ex.running_in_this_thread();
    } else if constexpr (requires { ex.template target<boost::asio::io_context::executor_type>(); }) {
        if (auto const* io = ex.template target<boost::asio::io_context::executor_type>())
            return io->running_in_this_thread();
        if (auto const* s = ex.template target<boost::asio::strand<boost::asio::io_context::executor_type>>())
            return s->running_in_this_thread();
        return false;
    } else {
        return false;
    }
}

template <class A, class B>
bool same_executor(A const& a, B const& b) noexcept {
    if constexpr (std::is_same_v<A, B>) return a == b;
    else return false;
}

inline void append_decimal(std::string& out, std::size_t v) {
    char digits[std::numeric_limits<std::size_t>::digits10 + 1];
    out.append(digits, std::to_chars(std::begin(digits), std::end(digits), v).ptr);
}

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
                                "async_request(http_request, h) taking a move-only handler h(error_code, http_response const&), and "
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

    /// @name The three calls, with any Asio completion token
    /// Each completes with `void(api_result<…>)`: a callback, `asio::use_future`,
    /// `asio::use_awaitable`, `asio::deferred`, or any other token. The work
    /// runs on the transport's executor (a call from another thread is posted
    /// there first; on it, the request is handed to the transport at once)
    /// and never completes inside the call that starts it; the handler runs on its own associated executor (the
    /// transport's by default), and the operation's memory comes from its
    /// associated allocator. `token` and `samples` are read at each attempt
    /// and must stay valid until the operation completes (as Asio's buffers
    /// must); `activation_id` and the confirmation are copied.
    /// @{

    /// @brief POST telemetry: one sample or a batch (in order).
    template <class CompletionToken>
    auto async_send_telemetry(std::string_view token, std::span<telemetry_sample const> samples,
                              clock::time_point deadline, CompletionToken&& completion) {
        return start<api_result<void>>(call_op<call_kind::telemetry>{this, token, deadline, {samples}},
                                       std::forward<CompletionToken>(completion));
    }
    /// @brief GET every activation, following pagination.
    template <class CompletionToken>
    auto async_get_activations(std::string_view token, clock::time_point deadline, CompletionToken&& completion) {
        return async_get_activations(token, deadline, activation_poll{}, std::forward<CompletionToken>(completion));
    }
    /// @brief GET every activation, decoded into `reuse`'s storage: pass the
    /// previous poll's result back, and a poll whose page looks like the last
    /// one allocates nothing (its activations' strings and vectors are
    /// overwritten in place). What `reuse` held is discarded.
    template <class CompletionToken>
    auto async_get_activations(std::string_view token, clock::time_point deadline, activation_poll reuse,
                               CompletionToken&& completion) {
        call_op<call_kind::poll> op{this, token, deadline};
        reuse.pages = 0;
        op.d.out = std::move(reuse);
        return start<api_result<activation_poll>>(std::move(op), std::forward<CompletionToken>(completion));
    }
    /// @brief POST a confirmation. A 409 (already confirmed) counts as success.
    template <class CompletionToken>
    auto async_confirm(std::string_view token, std::string_view activation_id, confirmation c, clock::time_point deadline,
                       CompletionToken&& completion) {
        return async_confirm(token, std::string(activation_id), std::move(c), deadline,
                             std::forward<CompletionToken>(completion));
    }
    /// @brief The same with an id the caller gives up: it is moved, not copied.
    template <class Id, class CompletionToken>
        requires std::same_as<Id, std::string>
    auto async_confirm(std::string_view token, Id&& activation_id, confirmation c, clock::time_point deadline,
                       CompletionToken&& completion) {
        call_op<call_kind::confirm> op{this, token, deadline};
        op.d.id = std::move(activation_id);
        op.d.body = std::move(c);
        return start<api_result<void>>(std::move(op), std::forward<CompletionToken>(completion));
    }
    /// @}

    /// @name The same calls as coroutines (`co_await`, `asio::use_awaitable`)
    /// @{
    boost::asio::awaitable<api_result<void>> send_telemetry(std::string_view token,
                                                            std::span<telemetry_sample const> samples,
                                                            clock::time_point deadline) {
        return async_send_telemetry(token, samples, deadline, boost::asio::use_awaitable);
    }
    boost::asio::awaitable<api_result<activation_poll>> get_activations(std::string_view token,
                                                                        clock::time_point deadline) {
        return async_get_activations(token, deadline, boost::asio::use_awaitable);
    }
    boost::asio::awaitable<api_result<void>> confirm(std::string_view token, std::string_view activation_id,
                                                     confirmation const& c, clock::time_point deadline) {
        return async_confirm(token, activation_id, c, deadline, boost::asio::use_awaitable);
    }
    /// @}

    [[nodiscard]] R& retry() noexcept { return retry_; }

private:
    enum class call_kind { telemetry, poll, confirm };

    template <class Result, class Op, class CompletionToken>
    auto start(Op op, CompletionToken&& completion) {
        return boost::asio::async_compose<CompletionToken, void(Result)>(std::move(op), completion,
                                                                         transport_.get_executor());
    }

    // What one kind of call was given, and for a poll what its pages held.
    struct telemetry_data {
        std::span<telemetry_sample const> samples;
    };
    struct poll_data {
        activation_poll out{};
        std::size_t offset = 0; // of the next page
    };
    struct confirm_data {
        std::string id{};
        confirmation body{};
    };

    // One call: its attempts, the retry waits between them and, for a poll,
    // its pages. Each attempt builds its request afresh from what the call
    // was given, in strings the thread lends (`detail::scratch_lease`: a
    // transport reads a request only during the call that hands it over),
    // and hands it to the transport. What only a failure needs
    // (its description, the retry timer) is made when the first one comes,
    // so that the operation, which the handler pool keeps a block
    // for, stays small.
    template <call_kind K>
    struct call_op {
        using result_type = std::conditional_t<K == call_kind::poll, api_result<activation_poll>, api_result<void>>;
        using retry_timer = decltype(std::declval<C&>().make_timer(std::declval<T&>().get_executor()));
        using data_type = std::conditional_t<K == call_kind::telemetry, telemetry_data,
                                             std::conditional_t<K == call_kind::poll, poll_data, confirm_data>>;
        struct trouble {
            api_failure failure{};
            std::optional<retry_timer> timer{}; // stays put while the op moves
        };

        using io_executor = decltype(std::declval<T&>().get_executor());
        enum class phase : unsigned char { fresh, running, failed_early };

        basic_api_client* c;
        std::string_view token;
        clock::time_point deadline;
        data_type d{};
        // The transport's executor, kept: a transport being destroyed still
        // completes its requests, and this must not ask it for anything then.
        io_executor io = c->transport_.get_executor();
        std::unique_ptr<trouble> t{};
        unsigned attempts = 0; // of the current page
        phase ph = phase::fresh;
        bool not_inline = false; // no longer inside the initiating call: completing at once is allowed
        bool handed_off = false; // `self` was moved into the next operation

        static constexpr detail::endpoint_name endpoint() noexcept {
            if constexpr (K == call_kind::telemetry) return {"POST ", Profile::telemetry_path};
            else if constexpr (K == call_kind::poll) return {"GET ", Profile::activations_path};
            else return {"POST ", Profile::confirm_path_prefix, "{id}", Profile::confirm_path_suffix};
        }

        // The request, its strings in `target` and `body` (cleared first;
        // their capacity is kept from one request to the next).
        http_request make_request(std::string& target, std::string& body) const {
            http_request req;
            target.clear();
            body.clear();
            if constexpr (K == call_kind::telemetry) {
                req.method = http_method::post;
                req.target = Profile::telemetry_path;
                body.reserve(d.samples.size() * 128 + 2); // a sample's JSON is about 80 bytes
                if (d.samples.size() == 1) encode_telemetry<Profile>(d.samples[0], body);
                else encode_telemetry<Profile>(d.samples, body);
            } else if constexpr (K == call_kind::poll) {
                target.append(Profile::activations_path).append("?").append(Profile::limit_param).append("=");
                detail::append_decimal(target, Profile::page_limit);
                target.append("&").append(Profile::offset_param).append("=");
                detail::append_decimal(target, d.offset);
                req.target = target;
            } else {
                req.method = http_method::post;
                target.append(Profile::confirm_path_prefix);
                detail::append_percent_encoded(target, d.id);
                target.append(Profile::confirm_path_suffix);
                req.target = target;
                encode_confirmation<Profile>(d.body, body);
            }
            req.body = body;
            req.bearer_token = token;
            return req;
        }

        api_failure& failure() {
            if (!t) t = std::make_unique<trouble>();
            return t->failure;
        }
        api_failure fail() {
            auto& f = failure();
            f.attempts = attempts;
            f.endpoint = endpoint().str();
            return std::move(f);
        }

        // Started; or, after a post, moved onto the transport's executor or
        // delivering the failure known at once.
        template <class Self>
        void operator()(Self& self) {
            handed_off = false;
            if (ph == phase::failed_early) return done(self, fail());
            if (ph == phase::fresh) {
                ph = phase::running;
                if (!detail::running_in(io)) {
                    // Called from another thread: the transport is used only on its executor.
                    not_inline = true;
                    handed_off = true;
                    return boost::asio::post(io, std::move(self));
                }
            }
            guarded(self, [&] { attempt(self); });
        }
        // The transport's answer.
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec, http_response const& res) {
            handed_off = false;
            guarded(self, [&] { answered(self, ec, res); });
        }
        // The end of a retry wait.
        template <class Self>
        void operator()(Self& self, boost::system::error_code) {
            handed_off = false;
            guarded(self, [&] { attempt(self); });
        }

        // A policy or the decoder that throws ends the call with a failure
        // that says so, instead of leaving it without an outcome.
        template <class Self, class F>
        void guarded(Self& self, F&& f) {
            try {
                f();
            } catch (std::exception const& x) {
                if (handed_off) throw; // the operation went on: it is no longer ours to end
                auto& e = failure();
                e.ec = make_error_code(boost::system::errc::io_error);
                e.code.clear();
                e.message = std::string("request ended by an exception: ") + x.what();
                failed(self);
            }
        }

        // The handler is the caller's: what it throws is not the call's failure.
        // It runs on its associated executor: at once when that is the
        // transport's, where this runs (the agent's case), else dispatched.
        template <class Self, class Result>
        void done(Self& self, Result&& r) {
            handed_off = true;
            result_type v(std::forward<Result>(r)); // before `self` moves: `r` may be part of it
            auto const ex = boost::asio::get_associated_executor(self, io);
            // async_compose associates the transport's executor, tracked, by default.
            if (detail::same_executor(ex, io) ||
                detail::same_executor(ex, boost::asio::prefer(io, boost::asio::execution::outstanding_work.tracked)))
                return self.complete(std::move(v));
            boost::asio::dispatch(ex, [s = std::move(self), v = std::move(v)]() mutable { s.complete(std::move(v)); });
        }

        // Ends the call with `failure()`.
        template <class Self>
        void failed(Self& self) {
            if (not_inline) return done(self, fail());
            // Nothing was started yet: the handler must not run inside the initiating call.
            ph = phase::failed_early;
            handed_off = true;
            boost::asio::post(std::move(self));
        }

        template <class Self>
        void attempt(Self& self) {
            ++attempts;
            auto const now = c->clock_.now();
            if (now >= deadline) {
                if (auto& f = failure(); !f.ec) f.ec = error::deadline_exceeded;
                return failed(self);
            }
            detail::scratch_lease buffers;
            auto req = make_request(buffers.target(), buffers.body());
            // Rounded up: a remainder under a millisecond is still time for a
            // loopback or LAN exchange, where a truncated 0 ms would fail it
            // unsent (every poll did, at a 1 ms poll interval).
            req.timeout = std::min(c->attempt_timeout, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
            not_inline = true;
            handed_off = true;
            c->transport_.async_request(std::move(req), std::move(self));
        }

        template <class Self>
        void answered(Self& self, boost::system::error_code ec, http_response const& res) {
            attempt_outcome outcome{ec, ec ? 0u : res.status, std::nullopt};
            if (!ec && !res.retry_after.empty())
                outcome.retry_after = parse_retry_after(res.retry_after, c->clock_.wall_now());
            bool const conflict_ok = K == call_kind::confirm && Profile::conflict_on_confirm_is_success;
            if (!ec && ((res.status >= 200 && res.status < 300) || (conflict_ok && res.status == 409))) {
                c->retry_.on_success(c->clock_.now());
                if constexpr (K == call_kind::poll) return next_page(self, res);
                else return done(self, api_result<void>{});
            }
            auto& f = failure();
            f.ec = ec ? ec : detail::status_error(res.status);
            f.status = outcome.status;
            f.retry_after = outcome.retry_after;
            f.code.clear();
            f.message.clear();
            if (!ec) {
                if (auto e = decode_api_error<Profile>(res.body)) {
                    // A server that echoes the token back must not put it in our logs.
                    f.code = detail::redact(std::move(e->code), token);
                    f.message = detail::redact(std::move(e->message), token);
                }
            }
            if (classify(outcome) != failure_kind::retryable) return done(self, fail());
            auto delay = c->retry_.next_delay(retry_context{attempts, outcome, c->clock_.now()});
            if (!delay) return done(self, fail()); // the last attempt's error says more than "exhausted"
            // The wait may end up to the clock's slack late (coalescing_clock).
            if (c->clock_.now() + *delay + cleori::timer_slack_of(c->clock_) >= deadline) return done(self, fail());
            if (!t->timer) t->timer.emplace(c->clock_.make_timer(io));
            t->timer->expires_at(c->clock_.now() + *delay);
            handed_off = true;
            t->timer->async_wait(std::move(self));
        }

        template <class Self>
        void next_page(Self& self, http_response const& res) {
            auto& out = d.out;
            // The first page is read into the storage the caller handed over.
            auto page = out.pages == 0 ? decode_activation_page<Profile>(
                                             res.body, activation_page{std::move(out.activations), std::move(out.rejected), {}})
                                       : decode_activation_page<Profile>(res.body);
            if (!page) return done(self, api_failure{page.error(), endpoint().str(), res.status, {}, {}, 1});
            std::size_t const n = page->activations.size() + page->rejected.size();
            if (out.pages++ == 0) {
                out.activations = std::move(page->activations);
                out.rejected = std::move(page->rejected);
            } else {
                for (auto& a : page->activations) out.activations.push_back(std::move(a));
                for (auto& j : page->rejected) out.rejected.push_back(std::move(j));
            }
            d.offset += n;
            if (out.activations.size() + out.rejected.size() > Profile::max_poll_activations)
                return done(self, api_failure{error::response_too_large, endpoint().str(), res.status, {}, {}, 1});
            // Stop on the last page; a server that keeps paging is cut off.
            if (!page->page || n == 0 || d.offset >= page->page->total || out.pages >= Profile::max_poll_pages)
                return done(self, std::move(out));
            t.reset(); // each page has its own attempts
            attempts = 0;
            attempt(self);
        }
    };

    T& transport_;
    R retry_;
    C clock_;
};

} // namespace cleori
