#include <cleori/time/rfc3339.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ostream>
#include <string>

using namespace std::chrono;
using cleori::error;

namespace {
struct valid_case {
    const char* input;
    const char* canonical; // format(parse(input))
};
std::ostream& operator<<(std::ostream& os, valid_case const& c) { return os << c.input; }

struct invalid_case {
    std::string input;
    error expected;
};
std::ostream& operator<<(std::ostream& os, invalid_case const& c) {
    return os << '"' << c.input.substr(0, 40) << '"';
}

const valid_case valid_cases[] = {
    {"2026-11-26T16:17:20Z", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26T16:17:20.000Z", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26t16:17:20z", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26 16:17:20Z", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26T16:17:20.5Z", "2026-11-26T16:17:20.500Z"},
    {"2026-11-26T16:17:20.123456Z", "2026-11-26T16:17:20.123456Z"},
    {"2026-11-26T16:17:20.1234567891Z", "2026-11-26T16:17:20.123456Z"}, // truncated to µs
    {"2026-11-26T18:17:20+02:00", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26T10:47:20-05:30", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26T16:17:20+00:00", "2026-11-26T16:17:20.000Z"},
    {"2026-11-26T16:17:20-00:00", "2026-11-26T16:17:20.000Z"},
    {"2026-01-01T01:30:00+02:00", "2025-12-31T23:30:00.000Z"},  // crosses a year boundary
    {"2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z"},       // leap year
    {"2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z"},       // divisible by 400
    {"2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"},       // leap second folded forward
    {"2016-12-31T15:59:60-08:00", "2017-01-01T00:00:00.000Z"},
    {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"},
    {"0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"},
    {"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
    {"1937-01-01T12:00:27.87+00:20", "1937-01-01T11:40:27.870Z"}, // RFC 3339 §5.8 example
};

const invalid_case invalid_cases[] = {
    {"", error::timestamp_syntax},
    {"2026-11-26", error::timestamp_syntax},
    {"2026-02-30T00:00:00Z", error::timestamp_invalid_date},
    {"2025-02-29T00:00:00Z", error::timestamp_invalid_date},
    {"1900-02-29T00:00:00Z", error::timestamp_invalid_date},
    {"2026-13-01T00:00:00Z", error::timestamp_invalid_date},
    {"2026-00-10T00:00:00Z", error::timestamp_invalid_date},
    {"2026-04-31T00:00:00Z", error::timestamp_invalid_date},
    {"2026-11-26T25:00:00Z", error::timestamp_invalid_time},
    {"2026-11-26T24:00:00Z", error::timestamp_invalid_time},
    {"2026-11-26T12:60:00Z", error::timestamp_invalid_time},
    {"2026-11-26T12:30:61Z", error::timestamp_invalid_time},
    {"2026-11-26T12:30:60Z", error::timestamp_invalid_time}, // leap second only ends a minute
    {"2026-11-26T16:17:20", error::timestamp_missing_zone},
    {"2026-11-26T16:17:20.5", error::timestamp_missing_zone},
    {"2026-11-26T16:17:20 Z", error::timestamp_missing_zone},
    {"2026-11-26T16:17:20ZZ", error::timestamp_trailing_characters},
    {"2026-11-26T16:17:20Z junk", error::timestamp_trailing_characters},
    {"2026-11-26T16:17:20+02:00:00", error::timestamp_trailing_characters},
    {"2026-11-26T16:17:20+0200", error::timestamp_invalid_offset},
    {"2026-11-26T16:17:20+24:00", error::timestamp_invalid_offset},
    {"2026-11-26T16:17:20+02:60", error::timestamp_invalid_offset},
    {"2026-11-26T16:17:20+2:00", error::timestamp_invalid_offset},
    {"2026-11-26T16:17:20.Z", error::timestamp_syntax},
    {"2026-11-26T16:17Z", error::timestamp_syntax},
    {"2026-11-26X16:17:20Z", error::timestamp_syntax},
    {"26-11-26T16:17:20Z", error::timestamp_syntax},
    {"2026/11/26T16:17:20Z", error::timestamp_syntax},
    {"-026-11-26T16:17:20Z", error::timestamp_syntax},
    {"2026-1a-26T16:17:20Z", error::timestamp_syntax},
    {"+2026-11-26T16:17:20Z", error::timestamp_syntax},
    {std::string("2026-11-26T16:17:20\0Z", 21), error::timestamp_missing_zone},
    {"0000-01-01T00:00:00+00:01", error::timestamp_out_of_range},
    {"9999-12-31T23:59:59-00:01", error::timestamp_out_of_range},
    {"2026-11-26T16:17:20." + std::string(60, '1') + "Z", error::timestamp_too_long},
    {std::string(1 << 20, '9'), error::timestamp_too_long},
};
} // namespace

BOOST_AUTO_TEST_SUITE(time_rfc3339)

BOOST_DATA_TEST_CASE(parses_and_formats_canonically, boost::unit_test::data::make(valid_cases), c) {
    auto t = cleori::parse_rfc3339(c.input);
    BOOST_TEST_REQUIRE(t.has_value(), "rejected: " << t.error().message());
    BOOST_TEST(cleori::to_rfc3339(*t) == c.canonical);
    // Canonical text is a fixed point.
    auto again = cleori::parse_rfc3339(c.canonical);
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST((*again == *t));
}

BOOST_DATA_TEST_CASE(rejects_with_a_specific_error, boost::unit_test::data::make(invalid_cases), c) {
    auto t = cleori::parse_rfc3339(c.input);
    BOOST_TEST_REQUIRE(!t.has_value());
    BOOST_TEST(t.error() == make_error_code(c.expected), t.error().message());
    BOOST_TEST(!t.error().message().empty());
}

BOOST_AUTO_TEST_CASE(known_instant) {
    auto t = cleori::parse_rfc3339("2026-11-26T16:17:20.250Z");
    BOOST_TEST_REQUIRE(t.has_value());
    cleori::timestamp const expected = sys_days{2026y / November / 26} + 16h + 17min + 20s + 250ms;
    BOOST_TEST((*t == expected));
}

BOOST_AUTO_TEST_CASE(round_trip_every_day_of_a_leap_cycle) {
    // Every day across 1999-2001 (a 400-year leap day included) and a spread of times of day.
    cleori::timestamp t = sys_days{1999y / January / 1} + 7h + 3min + 9s + 1us;
    cleori::timestamp const end = sys_days{2001y / March / 1};
    int n = 0;
    for (; t < end; t += days{1} + 37min + 11s + 777us, ++n) {
        std::string const text = cleori::to_rfc3339(t);
        auto back = cleori::parse_rfc3339(text);
        BOOST_TEST_REQUIRE(back.has_value(), text);
        BOOST_TEST_REQUIRE((*back == t), text);
    }
    BOOST_TEST(n > 700);
}

BOOST_AUTO_TEST_CASE(format_writes_milliseconds_or_microseconds) {
    cleori::timestamp const base = sys_days{2026y / November / 26};
    BOOST_TEST(cleori::to_rfc3339(base) == "2026-11-26T00:00:00.000Z");
    BOOST_TEST(cleori::to_rfc3339(base + 1ms) == "2026-11-26T00:00:00.001Z");
    BOOST_TEST(cleori::to_rfc3339(base + 1us) == "2026-11-26T00:00:00.000001Z");
    BOOST_TEST(cleori::to_rfc3339(base - 1us) == "2026-11-25T23:59:59.999999Z");
}

BOOST_AUTO_TEST_CASE(format_refuses_out_of_range_years) {
    cleori::timestamp const before = sys_days{year{-1} / December / 31};
    cleori::timestamp const after = sys_days{year{10000} / January / 1};
    BOOST_TEST(cleori::to_rfc3339(before).empty());
    BOOST_TEST(cleori::to_rfc3339(after).empty());
    std::array<char, cleori::rfc3339_max_formatted> buf{};
    BOOST_TEST(cleori::format_rfc3339(after, buf) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
