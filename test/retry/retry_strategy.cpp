#include <cleori/retry/retry_strategy.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace std::chrono_literals;
using cleori::attempt_outcome;
using cleori::failure_kind;

namespace {
// A manual monotonic clock: time moves only when the test says so.
std::chrono::steady_clock::time_point t0{std::chrono::hours{1000}};
cleori::retry_context ctx(unsigned attempt, unsigned status, std::chrono::steady_clock::time_point now = t0,
                          std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    return {attempt, attempt_outcome{{}, status, retry_after}, now};
}
} // namespace

static_assert(cleori::RetryStrategy<cleori::no_retry>);
static_assert(cleori::RetryStrategy<cleori::exponential_backoff>);
static_assert(cleori::RetryStrategy<cleori::default_retry>);
static_assert(!cleori::RetryStrategy<int>);

BOOST_AUTO_TEST_SUITE(retry_strategy)

BOOST_AUTO_TEST_CASE(classification) {
    for (unsigned s : {429u, 500u, 502u, 503u, 504u})
        BOOST_TEST((cleori::classify({{}, s, {}}) == failure_kind::retryable), s);
    for (unsigned s : {400u, 401u, 403u, 404u, 409u, 422u, 501u})
        BOOST_TEST((cleori::classify({{}, s, {}}) == failure_kind::permanent), s);
    for (unsigned s : {200u, 201u, 204u}) BOOST_TEST((cleori::classify({{}, s, {}}) == failure_kind::none), s);
    BOOST_TEST((cleori::classify({make_error_code(cleori::error::timeout), 0, {}}) == failure_kind::retryable));
    BOOST_TEST((cleori::classify({make_error_code(cleori::error::connection_closed), 0, {}}) == failure_kind::retryable));
    BOOST_TEST((cleori::classify({make_error_code(boost::system::errc::connection_refused), 0, {}}) ==
                failure_kind::retryable));
    BOOST_TEST((cleori::classify({make_error_code(cleori::error::insecure_url), 0, {}}) == failure_kind::permanent));
    BOOST_TEST((cleori::classify({make_error_code(cleori::error::response_too_large), 0, {}}) == failure_kind::permanent));
    BOOST_TEST((cleori::classify({boost::asio::error::operation_aborted, 0, {}}) == failure_kind::permanent));
}

BOOST_AUTO_TEST_CASE(no_retry_never_retries) {
    cleori::no_retry r;
    BOOST_TEST(r.next_delay(ctx(1, 503)).error() == make_error_code(cleori::error::attempts_exhausted));
}

BOOST_AUTO_TEST_CASE(full_jitter_stays_under_the_exponential_ceiling) {
    cleori::exponential_backoff b{{.base = 100ms, .cap = 1000ms, .max_attempts = 6}};
    BOOST_TEST(b.ceiling_for(1).count() == 100);
    BOOST_TEST(b.ceiling_for(2).count() == 200);
    BOOST_TEST(b.ceiling_for(4).count() == 800);
    BOOST_TEST(b.ceiling_for(5).count() == 1000);
    BOOST_TEST(b.ceiling_for(30).count() == 1000);
    std::chrono::milliseconds lo{100000}, hi{0};
    for (int i = 0; i < 2000; ++i) {
        auto d = b.next_delay(ctx(3, 503));
        BOOST_TEST_REQUIRE(d.has_value());
        BOOST_TEST_REQUIRE(d->count() <= 400);
        lo = std::min(lo, *d);
        hi = std::max(hi, *d);
    }
    // "full" jitter: the whole range is used
    BOOST_TEST(lo.count() < 40);
    BOOST_TEST(hi.count() > 360);
    BOOST_TEST(b.next_delay(ctx(7, 503)).error() == make_error_code(cleori::error::attempts_exhausted));
}

BOOST_AUTO_TEST_CASE(same_seed_same_delays) {
    cleori::exponential_backoff a{{.seed = 42}}, b{{.seed = 42}}, c{{.seed = 43}};
    bool differs = false;
    for (unsigned i = 1; i <= 5; ++i) {
        auto x = a.next_delay(ctx(i, 503)).value();
        BOOST_TEST(x.count() == b.next_delay(ctx(i, 503)).value().count());
        differs = differs || x != c.next_delay(ctx(i, 503)).value();
    }
    BOOST_TEST(differs);
}

BOOST_AUTO_TEST_CASE(retry_after_is_a_floor) {
    cleori::exponential_backoff b{{.base = 100ms, .cap = 1000ms, .max_attempts = 6}};
    auto d = b.next_delay(ctx(1, 429, t0, 7000ms));
    BOOST_TEST(d.value().count() == 7000);
}

BOOST_AUTO_TEST_CASE(budget_empties_and_refills_with_time) {
    cleori::retry_budget<cleori::exponential_backoff> r{cleori::exponential_backoff{{.max_attempts = 100}},
                                                        {.capacity = 3, .refill_per_second = 0.5}};
    auto now = t0;
    for (int i = 0; i < 3; ++i) BOOST_TEST(r.next_delay(ctx(1, 503, now)).has_value());
    BOOST_TEST(r.next_delay(ctx(1, 503, now)).error() == make_error_code(cleori::error::retry_budget_exhausted));
    now += 1s; // half a token
    BOOST_TEST(!r.next_delay(ctx(1, 503, now)).has_value());
    now += 1s; // one token
    BOOST_TEST(r.next_delay(ctx(1, 503, now)).has_value());
    BOOST_TEST(!r.next_delay(ctx(1, 503, now)).has_value());
    now += 1h; // refills to capacity, not beyond
    r.on_success(now);
    BOOST_TEST(r.tokens() == 3.0);
}

BOOST_AUTO_TEST_CASE(retry_after_parsing) {
    // Found by fuzzing: a date past 2262 overflowed the system clock's nanoseconds.
    BOOST_TEST(cleori::parse_retry_after("Wed, 25 Nov 2826 16:20:00 GMT", std::chrono::system_clock::now()).value() ==
               std::chrono::milliseconds(std::chrono::hours(24)));
    auto const now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + 16h;
    BOOST_TEST(cleori::parse_retry_after("120", now).value().count() == 120000);
    BOOST_TEST(cleori::parse_retry_after(" 0 ", now).value().count() == 0);
    BOOST_TEST(cleori::parse_retry_after("Thu, 26 Nov 2026 16:00:30 GMT", now).value().count() == 30000);
    BOOST_TEST(cleori::parse_retry_after("Thu, 26 Nov 2026 15:00:00 GMT", now).value().count() == 0);
    BOOST_TEST(cleori::parse_retry_after("99999999999", now).value().count() == 86400000); // capped at a day
    BOOST_TEST(!cleori::parse_retry_after("", now).has_value());
    BOOST_TEST(!cleori::parse_retry_after("-5", now).has_value());
    BOOST_TEST(!cleori::parse_retry_after("soon", now).has_value());
    BOOST_TEST(!cleori::parse_retry_after("Thu, 31 Nov 2026 16:00:30 GMT", now).has_value());
    BOOST_TEST(!cleori::parse_retry_after("Thu, 26 Foo 2026 16:00:30 GMT", now).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
