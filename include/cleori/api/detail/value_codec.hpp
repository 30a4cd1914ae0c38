#pragma once

#include <cleori/api/detail/json_writer.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/error.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace cleori::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct unwrap_optional {
    using type = T;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
    using type = T;
};

// Equality of short texts without a call to memcmp: keys are a few bytes,
// and most comparisons end at the length. Past it, words are compared, the
// last one overlapping the one before rather than going byte by byte.
constexpr bool same_text(std::string_view a, std::string_view b) noexcept {
    std::size_t const n = a.size();
    if (n != b.size()) return false;
    if (std::is_constant_evaluated() || n < 4) {
        for (std::size_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    auto const word = [](char const* p, auto w) {
        std::memcpy(&w, p, sizeof w);
        return w;
    };
    if (n < 8) {
        return word(a.data(), std::uint32_t{}) == word(b.data(), std::uint32_t{}) &&
               word(a.data() + n - 4, std::uint32_t{}) == word(b.data() + n - 4, std::uint32_t{});
    }
    for (std::size_t i = 0; i + 8 < n; i += 8)
        if (word(a.data() + i, std::uint64_t{}) != word(b.data() + i, std::uint64_t{})) return false;
    return word(a.data() + n - 8, std::uint64_t{}) == word(b.data() + n - 8, std::uint64_t{});
}

// One JSON value as a field reader sees it. The DOM decoders and the
// streaming page reader both hand values over in this form, so a field is
// read by one set of rules whichever parser found it. Integers arrive as
// doubles, as Boost.JSON's own conversion gives them.
struct json_scalar {
    enum class kind : unsigned char { null, boolean, number, string, structured };
    kind what = kind::null;
    double number = 0.0;
    std::string_view text{};

    static json_scalar of(boost::json::value const& v) noexcept {
        switch (v.kind()) {
        case boost::json::kind::null: return {};
        case boost::json::kind::bool_: return {kind::boolean};
        case boost::json::kind::int64: return {kind::number, static_cast<double>(v.get_int64())};
        case boost::json::kind::uint64: return {kind::number, static_cast<double>(v.get_uint64())};
        case boost::json::kind::double_: return {kind::number, v.get_double()};
        case boost::json::kind::string:
            return {kind::string, 0.0, std::string_view(v.get_string().data(), v.get_string().size())};
        default: return {kind::structured};
        }
    }
};

inline boost::system::error_code read_number(json_scalar const& v, double& out) noexcept {
    if (v.what != json_scalar::kind::number) return error::json_wrong_type;
    out = v.number;
    if (!std::isfinite(out)) return error::json_value_not_finite;
    // As the writer does: what is read is what would be written back.
    if (std::fabs(out) < json_number_zero_below) out = 0.0;
    return {};
}
inline boost::system::error_code read_number(boost::json::value const& v, double& out) noexcept {
    return read_number(json_scalar::of(v), out);
}

template <class Profile>
struct value_codec {
    static boost::system::error_code read(json_scalar const& v, std::string& out) {
        if (v.what != json_scalar::kind::string) return error::json_wrong_type;
        if (v.text.size() > Profile::max_text_length) return error::json_string_too_long;
        out.assign(v.text);
        return {};
    }
    static boost::system::error_code read(json_scalar const& v, kilowatts& out) noexcept {
        double x = 0;
        if (auto ec = read_number(v, x)) return ec;
        if (std::fabs(x) > max_plausible_power.in_kw()) return error::json_value_out_of_range;
        out = kilowatts{x};
        return {};
    }
    static boost::system::error_code read(json_scalar const& v, percent& out) noexcept {
        double x = 0;
        if (auto ec = read_number(v, x)) return ec;
        if (x < 0.0 || x > 100.0) return error::json_value_out_of_range;
        out = percent{x};
        return {};
    }
    static boost::system::error_code read(json_scalar const& v, timestamp& out) noexcept {
        if (v.what != json_scalar::kind::string) return error::json_wrong_type;
        auto t = parse_rfc3339(v.text);
        if (!t) return t.error();
        out = *t;
        return {};
    }
    template <class E>
        requires std::is_enum_v<E>
    static boost::system::error_code read(json_scalar const& v, E& out) noexcept {
        if (v.what != json_scalar::kind::string) return error::json_wrong_type;
        for (auto const& [value, name] : Profile::names(E{})) {
            if (same_text(name, v.text)) {
                out = value;
                return {};
            }
        }
        return error::json_unknown_enum_value;
    }

    static void write(std::string& out, std::string const& s) { append_json_string(out, s); }
    static void write(std::string& out, kilowatts p) { append_json_number(out, p.in_kw()); }
    static void write(std::string& out, percent p) { append_json_number(out, p.in_pct()); }
    static void write(std::string& out, timestamp t) { append_json_timestamp(out, t); }
    template <class E>
        requires std::is_enum_v<E>
    static void write(std::string& out, E e) {
        for (auto const& [value, name] : Profile::names(E{})) {
            if (value == e) {
                append_json_string(out, name);
                return;
            }
        }
        out += "null";
    }
};

// Where decoding an object failed: the field's wire name and why.
struct field_failure {
    std::string_view field;
    boost::system::error_code code;

    explicit operator bool() const noexcept { return static_cast<bool>(code); }
    std::string describe() const {
        std::string s = "field '";
        s.append(field);
        s += "': ";
        s += code.message();
        return s;
    }
};

} // namespace cleori::detail
