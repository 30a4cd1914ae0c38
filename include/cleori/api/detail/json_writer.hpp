#pragma once

#include <cleori/detail/append.hpp>
#include <cleori/detail/byte_set.hpp>
#include <cleori/time/rfc3339.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

namespace cleori::detail {

inline constexpr byte_set json_escaped_bytes =
    make_byte_set([](unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; });

// True when `s` goes between quotes as it is (most text: keys, enum names,
// ids), so that it can be appended in one piece.
constexpr bool json_plain(std::string_view s) noexcept { return !contains_any(s, json_escaped_bytes); }

// Runs of characters that need no escape are appended whole.
inline void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    if (json_plain(s)) {
        append_all(out, "\"", s, "\"");
        return;
    }
    out.push_back('"');
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto const u = static_cast<unsigned char>(s[i]);
        if (!json_escaped_bytes[u]) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (u) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            out += "\\u00";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

// Boost.JSON's serializer writes doubles in scientific form (-4.25E1); the
// contract speaks of plain numbers, so numbers are written in shortest
// round-trip fixed notation instead. Magnitudes below 1e-9 kW/% carry no
// meaning and would expand to hundreds of zeros, so they are written as 0.
// Non-finite values never reach here (validated before encoding); if one
// does, `null` keeps the document valid.
// Below this a number is written, and read, as 0.
inline constexpr double json_number_zero_below = 1e-9;

inline void append_json_number(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    if (std::fabs(v) < json_number_zero_below) v = 0.0;
    std::array<char, 400> buf; // fixed notation of any finite double fits
    auto const r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
    out.append(buf.data(), r.ptr);
}

inline void append_json_timestamp(std::string& out, timestamp t) {
    std::array<char, rfc3339_max_formatted> buf;
    std::size_t const n = format_rfc3339(t, buf);
    if (n == 0) {
        out += "null";
        return;
    }
    append_all(out, "\"", std::string_view(buf.data(), n), "\"");
}

} // namespace cleori::detail
