#pragma once
/// @file
/// @brief RFC 3339 timestamps: `cleori::timestamp`, `parse_rfc3339`,
/// `format_rfc3339` and `to_rfc3339`.
///
/// Parsing accepts the full RFC 3339 `date-time` production: `T`/`t` (or a
/// single space, as RFC 3339 §5.6 permits) between date and time, fractional
/// seconds of any length (kept to the microsecond, further digits truncated),
/// `Z`/`z` or a numeric offset `±hh:mm`, and the leap second `:60`, which is
/// folded into the following second as POSIX time does. Everything else —
/// impossible dates (`2026-02-30`), `25:00`, a missing zone, trailing junk,
/// inputs longer than 64 characters — is an error naming what is wrong.
///
/// Formatting always writes UTC with `Z` and milliseconds, or microseconds when
/// the value has them: `2026-11-26T16:17:20.000Z`.
///
/// @code
/// auto t = cleori::parse_rfc3339("2026-11-26T18:17:20.5+02:00");
/// assert(t && cleori::to_rfc3339(*t) == "2026-11-26T16:17:20.500Z");
/// @endcode

#include <cleori/error.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cleori {

/// @brief A point in UTC, to the microsecond.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// @brief The longest text `format_rfc3339` writes (`YYYY-MM-DDThh:mm:ss.ffffffZ`).
inline constexpr std::size_t rfc3339_max_formatted = 27;
/// @brief Inputs longer than this are refused without being scanned.
inline constexpr std::size_t rfc3339_max_input = 64;

namespace detail {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads exactly n digits at s[pos]; returns -1 if any is not a digit.
constexpr int read_digits(std::string_view s, std::size_t pos, std::size_t n) noexcept {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (!is_digit(c)) return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

constexpr char* write_digits(char* out, std::uint32_t v, int n) noexcept {
    for (int i = n - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    return out + n;
}

inline constexpr timestamp min_timestamp =
    std::chrono::sys_days{std::chrono::year{0} / 1 / 1};
inline constexpr timestamp max_timestamp =
    std::chrono::sys_days{std::chrono::year{10000} / 1 / 1} - std::chrono::microseconds{1};

} // namespace detail

/// @brief Parses an RFC 3339 `date-time`.
/// @return the instant in UTC, or a `cleori::error::timestamp_*` code.
inline result<timestamp> parse_rfc3339(std::string_view s) noexcept {
    using namespace std::chrono;
    using detail::read_digits;
    if (s.size() > rfc3339_max_input) return error::timestamp_too_long;
    // date-fullyear "-" date-month "-" date-mday
    int const y = read_digits(s, 0, 4);
    if (y < 0 || s.size() < 10 || s[4] != '-' || s[7] != '-') return error::timestamp_syntax;
    int const mo = read_digits(s, 5, 2);
    int const d = read_digits(s, 8, 2);
    if (mo < 0 || d < 0) return error::timestamp_syntax;
    year_month_day const ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return error::timestamp_invalid_date;
    if (s.size() == 10) return error::timestamp_syntax; // a date alone is not a date-time
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return error::timestamp_syntax;
    // partial-time: hh ":" mm ":" ss [ "." 1*DIGIT ]
    if (s.size() < 19 || s[13] != ':' || s[16] != ':') return error::timestamp_syntax;
    int const hh = read_digits(s, 11, 2);
    int const mi = read_digits(s, 14, 2);
    int const ss = read_digits(s, 17, 2);
    if (hh < 0 || mi < 0 || ss < 0) return error::timestamp_syntax;
    // A leap second can only end a minute (the hour varies with the offset).
    if (hh > 23 || mi > 59 || ss > 60 || (ss == 60 && mi != 59)) return error::timestamp_invalid_time;
    std::size_t pos = 19;
    std::int64_t micros = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t const first = pos;
        int scale = 100000;
        while (pos < s.size() && detail::is_digit(s[pos])) {
            micros += (s[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == first) return error::timestamp_syntax;
    }
    // time-offset: "Z" / time-numoffset
    if (pos == s.size()) return error::timestamp_missing_zone;
    minutes offset{0};
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
        int const oh = read_digits(s, pos + 1, 2);
        if (oh < 0 || pos + 3 >= s.size() || s[pos + 3] != ':') return error::timestamp_invalid_offset;
        int const om = read_digits(s, pos + 4, 2);
        if (om < 0) return error::timestamp_invalid_offset;
        if (oh > 23 || om > 59) return error::timestamp_invalid_offset;
        offset = minutes{oh * 60 + om};
        if (s[pos] == '-') offset = -offset;
        pos += 6;
    } else {
        return error::timestamp_missing_zone;
    }
    if (pos != s.size()) return error::timestamp_trailing_characters;

    timestamp t = sys_days{ymd} + hours{hh} + minutes{mi} + seconds{ss} + microseconds{micros} - offset;
    if (t < detail::min_timestamp || t > detail::max_timestamp) return error::timestamp_out_of_range;
    return t;
}

/// @brief Writes `t` as RFC 3339 UTC into `out` without allocating.
/// @return the number of characters written (24, or 27 with microseconds), or 0
/// when `t` lies outside years 0000–9999.
inline std::size_t format_rfc3339(timestamp t, std::span<char, rfc3339_max_formatted> out) noexcept {
    using namespace std::chrono;
    if (t < detail::min_timestamp || t > detail::max_timestamp) return 0;
    auto const day_start = floor<days>(t);
    year_month_day const ymd{day_start};
    hh_mm_ss<microseconds> const tod{t - day_start};
    char* p = out.data();
    p = detail::write_digits(p, static_cast<std::uint32_t>(static_cast<int>(ymd.year())), 4);
    *p++ = '-';
    p = detail::write_digits(p, static_cast<unsigned>(ymd.month()), 2);
    *p++ = '-';
    p = detail::write_digits(p, static_cast<unsigned>(ymd.day()), 2);
    *p++ = 'T';
    p = detail::write_digits(p, static_cast<std::uint32_t>(tod.hours().count()), 2);
    *p++ = ':';
    p = detail::write_digits(p, static_cast<std::uint32_t>(tod.minutes().count()), 2);
    *p++ = ':';
    p = detail::write_digits(p, static_cast<std::uint32_t>(tod.seconds().count()), 2);
    *p++ = '.';
    auto const us = static_cast<std::uint32_t>(tod.subseconds().count());
    if (us % 1000 == 0) {
        p = detail::write_digits(p, us / 1000, 3);
    } else {
        p = detail::write_digits(p, us, 6);
    }
    *p++ = 'Z';
    return static_cast<std::size_t>(p - out.data());
}

/// @brief `t` as RFC 3339 UTC text; empty when `t` lies outside years 0000–9999.
inline std::string to_rfc3339(timestamp t) {
    std::array<char, rfc3339_max_formatted> buf{};
    return std::string(buf.data(), format_rfc3339(t, buf));
}

} // namespace cleori
