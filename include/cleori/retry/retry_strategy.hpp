#pragma once
/// @file
/// @brief Retry policy: classification of failed attempts, the `RetryStrategy`
/// concept and its models (`no_retry`, `exponential_backoff`, `retry_budget`),
/// and `Retry-After` parsing.
///
/// Decisions are pure functions of the attempt's outcome and the time passed
/// in, so they are tested with a manual clock and no sockets. Deadlines are
/// enforced by the caller (the API client): no strategy can schedule a retry
/// past the next telemetry or poll due time.
///
/// @code
/// cleori::retry_budget<cleori::exponential_backoff> retry{
///     cleori::exponential_backoff{{.base = 200ms, .cap = 5s, .max_attempts = 6}}, {.capacity = 20}};
/// auto delay = retry.next_delay({.attempt = 1, .outcome = {.status = 503}, .now = now});
/// if (delay) wait(*delay); else give_up(delay.error());   // e.g. retry_budget_exhausted
/// @endcode

#include <cleori/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cleori {

/// @brief What one attempt of a request produced.
struct attempt_outcome {
    boost::system::error_code ec{};                     ///< transport error, if the exchange failed
    unsigned status = 0;                              ///< HTTP status, 0 if none was received
    std::optional<std::chrono::milliseconds> retry_after{}; ///< the server's Retry-After, if any
};

/// @brief How a failed attempt should be treated.
enum class failure_kind {
    none,      ///< the attempt succeeded
    retryable, ///< connection errors, timeouts, 429, 500, 502, 503, 504
    permanent, ///< 400, 401, 403, 404, 422 and other 4xx; TLS verification; bad URL
};

namespace detail {
inline bool is_permanent_transport_error(boost::system::error_code const& ec) noexcept {
    // Aborted by its owner (a close, a stop, a transport being destroyed):
    // a retry would go to what is being torn down.
    if (ec == boost::asio::error::operation_aborted) return true;
    if (ec.category() == error_category()) {
        switch (static_cast<error>(ec.value())) {
        case error::invalid_url:
        case error::insecure_url:
        case error::invalid_request_field:
        case error::response_too_large:
        case error::tls_untrusted_certificate:
        case error::tls_certificate_expired:
        case error::tls_host_name_mismatch:
        case error::tls_handshake_failed: return true;
        default: return false;
        }
    }
    // TLS failures (untrusted issuer, wrong host, expired, protocol too old)
    // do not heal by retrying and must fail closed.
    return std::string_view(ec.category().name()) == "asio.ssl";
}
} // namespace detail

/// @brief Classifies an attempt: retry connection errors, timeouts, 429, 500,
/// 502, 503 and 504; never 400, 401, 403, 404, 422 (nor any other status),
/// an exchange aborted by its owner (`operation_aborted`), or a TLS refusal.
inline failure_kind classify(attempt_outcome const& o) noexcept {
    if (o.ec) return detail::is_permanent_transport_error(o.ec) ? failure_kind::permanent : failure_kind::retryable;
    if (o.status >= 200 && o.status < 300) return failure_kind::none;
    switch (o.status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return failure_kind::retryable;
    default: return failure_kind::permanent;
    }
}

/// @brief What a strategy is asked before a retry.
struct retry_context {
    unsigned attempt = 1;                      ///< 1 before the first retry, 2 before the second…
    attempt_outcome outcome;                   ///< what the failed attempt produced
    std::chrono::steady_clock::time_point now{}; ///< monotonic time now (virtual under a manual clock)
};

/// @brief A retry policy.
///
/// | expression | type | semantics |
/// |---|---|---|
/// | `r.next_delay(ctx)` | `cleori::result<std::chrono::milliseconds>` | the wait before retrying a `retryable` failure, or why not to retry (`attempts_exhausted`, `retry_budget_exhausted`) |
/// | `r.on_success(now)` | any | a request succeeded (a budget may refill) |
///
/// See doc/concepts/RetryStrategy.md.
template <class R>
concept RetryStrategy = requires(R& r, retry_context const& ctx, std::chrono::steady_clock::time_point now) {
    { r.next_delay(ctx) } -> std::same_as<result<std::chrono::milliseconds>>;
    r.on_success(now);
};

/// @brief Never retries.
struct no_retry {
    result<std::chrono::milliseconds> next_delay(retry_context const&) noexcept { return error::attempts_exhausted; }
    void on_success(std::chrono::steady_clock::time_point) noexcept {}
};

/// @brief Exponential backoff with full jitter: before retry n, wait a uniformly
/// random time in [0, min(cap, base·2ⁿ⁻¹)]; a `Retry-After` from the server
/// raises the wait to at least that.
class exponential_backoff {
public:
    struct options {
        std::chrono::milliseconds base{250};
        std::chrono::milliseconds cap{8000};
        unsigned max_attempts = 5;  ///< retries after the first attempt
        std::uint64_t seed = 0x2545F4914F6CDD1DULL; ///< jitter sequence (fixed: reproducible)
    };

    exponential_backoff() noexcept : exponential_backoff(options{}) {}
    explicit exponential_backoff(options o) noexcept : opt_(o), state_(o.seed ? o.seed : 1) {}

    result<std::chrono::milliseconds> next_delay(retry_context const& ctx) noexcept {
        if (ctx.attempt > opt_.max_attempts) return error::attempts_exhausted;
        auto const ceiling = ceiling_for(ctx.attempt);
        std::chrono::milliseconds d{static_cast<std::chrono::milliseconds::rep>(next_random() % (static_cast<std::uint64_t>(ceiling.count()) + 1))};
        if (ctx.outcome.retry_after) d = std::max(d, *ctx.outcome.retry_after);
        return d;
    }
    void on_success(std::chrono::steady_clock::time_point) noexcept {}

    /// @brief The upper bound of the jitter before retry `attempt`.
    [[nodiscard]] std::chrono::milliseconds ceiling_for(unsigned attempt) const noexcept {
        auto c = opt_.base;
        for (unsigned i = 1; i < attempt && c < opt_.cap; ++i) c *= 2;
        return std::min(c, opt_.cap);
    }
    [[nodiscard]] options const& config() const noexcept { return opt_; }

private:
    std::uint64_t next_random() noexcept { // xorshift64*: small, fast, good enough for jitter
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1DULL;
    }
    options opt_;
    std::uint64_t state_;
};

/// @brief A token bucket around another strategy, so that a dead server is not
/// hammered: each retry spends one token; tokens refill at a steady rate up to
/// the capacity. With the bucket empty, failures surface at once
/// (`retry_budget_exhausted`) until it refills.
template <class Inner>
class retry_budget {
public:
    struct options {
        double capacity = 10.0;        ///< tokens when full (burst of retries)
        double refill_per_second = 0.5; ///< sustained retries per second
    };

    explicit retry_budget(Inner inner = Inner{}) : retry_budget(std::move(inner), options{}) {}
    retry_budget(Inner inner, options o) : inner_(std::move(inner)), opt_(o), tokens_(o.capacity) {}

    result<std::chrono::milliseconds> next_delay(retry_context const& ctx) {
        refill(ctx.now);
        if (tokens_ < 1.0) return error::retry_budget_exhausted;
        auto d = inner_.next_delay(ctx);
        if (d) tokens_ -= 1.0;
        return d;
    }
    void on_success(std::chrono::steady_clock::time_point now) {
        refill(now);
        inner_.on_success(now);
    }
    [[nodiscard]] double tokens() const noexcept { return tokens_; }
    [[nodiscard]] Inner& inner() noexcept { return inner_; }

private:
    void refill(std::chrono::steady_clock::time_point now) {
        if (last_ && now > *last_) {
            std::chrono::duration<double> const dt = now - *last_;
            tokens_ = std::min(opt_.capacity, tokens_ + dt.count() * opt_.refill_per_second);
        }
        if (!last_ || now > *last_) last_ = now;
    }
    Inner inner_;
    options opt_;
    double tokens_;
    std::optional<std::chrono::steady_clock::time_point> last_;
};

/// @brief The default: exponential backoff with full jitter inside a retry budget.
using default_retry = retry_budget<exponential_backoff>;

/// @brief Parses an HTTP `Retry-After` value: delay-seconds (`120`) or an
/// IMF-fixdate (`Wed, 26 Nov 2026 16:20:00 GMT`), the latter relative to `now`.
/// @return the wait (0 for a date in the past), or `nullopt` when the value is
/// neither form. Waits are capped at one day.
inline std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v,
                                                                  std::chrono::system_clock::time_point now) noexcept {
    using namespace std::chrono;
    constexpr milliseconds cap = hours{24};
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty() || v.size() > 64) return std::nullopt;
    if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (v.size() > 6) return cap;
        long long s = 0;
        for (char c : v) s = s * 10 + (c - '0');
        return std::min<milliseconds>(seconds{s}, cap);
    }
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters)
    if (v.size() != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':' || v.substr(25) != " GMT")
        return std::nullopt;
    auto num = [&](std::size_t pos, std::size_t n) -> int {
        int x = 0;
        for (std::size_t i = 0; i < n; ++i) {
            char c = v[pos + i];
            if (c < '0' || c > '9') return -1;
            x = x * 10 + (c - '0');
        }
        return x;
    };
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    unsigned mon = 0;
    for (unsigned i = 0; i < 12; ++i)
        if (v.substr(8, 3) == months[i]) mon = i + 1;
    int const d = num(5, 2), y = num(12, 4), hh = num(17, 2), mi = num(20, 2), ss = num(23, 2);
    if (mon == 0 || d < 0 || y < 0 || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60)
        return std::nullopt;
    year_month_day const ymd{year{y}, month{mon}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    // In milliseconds: the system clock's own unit (nanoseconds) overflows
    // for dates past 2262.
    sys_time<milliseconds> const at = sys_days{ymd} + hours{hh} + minutes{mi} + seconds{ss};
    auto const from = time_point_cast<milliseconds>(now);
    if (at <= from) return milliseconds{0};
    return std::min<milliseconds>(at - from, cap);
}

} // namespace cleori
