#pragma once
/// @file
/// @brief A register map as data: where a PCS or BMS keeps its measured power,
/// state of charge, power setpoint, heartbeat and status, in which types,
/// scales and sign convention — loaded from JSON with `parse_register_map`.
///
/// @code{.json}
/// {"name": "Example PCS", "unit_id": 1, "sign": "export_positive",
///  "points": {
///    "power":     {"kind": "input",   "address": 0,   "type": "s32", "scale": 0.001},
///    "soc":       {"kind": "input",   "address": 2,   "type": "u16", "scale": 0.1},
///    "setpoint":  {"kind": "holding", "address": 100, "type": "s32", "scale": 0.001},
///    "heartbeat": {"kind": "holding", "address": 102, "type": "u16", "period_ms": 1000},
///    "status":    {"kind": "input",   "address": 3,   "type": "u16", "ok": [1, 2],
///                  "faults": {"3": "PCS fault", "4": "BMS alarm"}}}}
/// @endcode
///
/// Engineering value = raw × `scale` × 10^sf, where sf is the value of the
/// point's SunSpec scale-factor register (`scale_factor`, optional). Power and
/// setpoint are in kW, SoC in %. A point is addressed either by `address` or,
/// on a SunSpec device, by `model` and `offset` (counted from the model's ID
/// register, as in the SunSpec model definitions); the battery finds the
/// models by walking the SunSpec chain. The full reference is doc/devices.md.

#include <cleori/error.hpp>
#include <cleori/modbus/client.hpp>
#include <cleori/modbus/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cleori::modbus {

/// @brief How a value is stored in registers.
enum class value_type { u16, s16, u32, s32, f32 };

/// @brief Which register of a 32-bit value comes first.
enum class word_order {
    high_first, ///< the Modbus convention and SunSpec's ("big-endian words")
    low_first,  ///< many PLCs ("word-swapped")
};

/// @brief The device's sign for power and setpoint.
enum class sign_convention {
    import_positive, ///< + charge (import), as Cleori
    export_positive, ///< + discharge (export), as many PCS and SunSpec DER models
};

/// @brief Registers a value of `t` occupies.
constexpr std::uint16_t register_count(value_type t) noexcept {
    return t == value_type::u16 || t == value_type::s16 ? 1 : 2;
}

/// @brief Where a register lives: an absolute address, or a SunSpec model and
/// offset that `resolve` turns into one.
struct register_address {
    std::optional<std::uint16_t> address{};
    std::uint16_t model = 0;  ///< SunSpec model id (when `address` is empty)
    std::uint16_t offset = 0; ///< from the model's ID register
};

/// @brief One value in the device's registers.
struct point {
    std::string name;
    register_kind kind = register_kind::holding;
    register_address where{};
    value_type type = value_type::u16;
    word_order order = word_order::high_first;
    double scale = 1.0;
    std::optional<register_address> scale_factor{}; ///< a SunSpec `sunssf` register (s16)
    /// SunSpec's rule that all ones (0xFFFF, 0xFFFFFFFF) in an unsigned point
    /// means "not implemented"; set for points addressed by SunSpec model.
    bool unsigned_all_ones_unimplemented = false;
};

/// @brief A register written on a period that the PCS watches (its watchdog).
struct heartbeat_point {
    point where;
    std::chrono::milliseconds period{1000};
};

/// @brief A register written once per connection before the first setpoint
/// (e.g. SunSpec 704 `WSetEna` = 1).
struct enable_point {
    point where;
    std::uint16_t value = 1;
};

/// @brief The device's status register: a value listed in `faults` is a fault
/// with that name; with `ok` given, any value not listed there is a fault too.
struct status_point {
    point where;
    std::vector<std::uint32_t> ok{};
    std::vector<std::pair<std::uint32_t, std::string>> faults{};

    /// @brief The fault a raw status value means, or none.
    [[nodiscard]] std::optional<std::string> fault(std::uint32_t value) const {
        for (auto const& [v, name] : faults)
            if (v == value) return name + " (status " + std::to_string(value) + ")";
        if (!ok.empty() && std::find(ok.begin(), ok.end(), value) == ok.end())
            return "status " + std::to_string(value) + " is not a running state";
        return std::nullopt;
    }
};

/// @brief A device's register map.
struct register_map {
    std::string name;
    std::uint8_t unit_id = 1;
    sign_convention sign = sign_convention::import_positive;
    std::vector<std::uint16_t> sunspec_bases{40000, 0, 50000}; ///< where to look for "SunS"
    point power;    ///< measured active power, kW after scaling
    point soc;      ///< state of charge, % after scaling
    point setpoint; ///< commanded active power, kW after scaling
    std::optional<heartbeat_point> heartbeat{};
    std::optional<enable_point> enable{};
    std::optional<status_point> status{};

    /// @brief True if any point is addressed by SunSpec model.
    [[nodiscard]] bool uses_sunspec() const noexcept {
        auto by_model = [](point const& p) {
            return !p.where.address || (p.scale_factor && !p.scale_factor->address);
        };
        return by_model(power) || by_model(soc) || by_model(setpoint) || (heartbeat && by_model(heartbeat->where)) ||
               (enable && by_model(enable->where)) || (status && by_model(status->where));
    }
};

// --- values ------------------------------------------------------------------

/// @brief The raw integer (or float bits) of a point read from `words`.
/// @return the value as double, or `errc::value_not_implemented` for the
/// SunSpec "not implemented" pattern of signed types (0x8000, 0x80000000).
inline result<double> decode(point const& p, std::span<std::uint16_t const> words) {
    if (words.size() < register_count(p.type)) return make_error_code(errc::unexpected_response);
    auto join = [&]() -> std::uint32_t {
        std::uint32_t const first = words[0], second = words[1];
        return p.order == word_order::high_first ? (first << 16) | second : (second << 16) | first;
    };
    switch (p.type) {
    case value_type::u16:
        if (p.unsigned_all_ones_unimplemented && words[0] == 0xffff) return make_error_code(errc::value_not_implemented);
        return static_cast<double>(words[0]);
    case value_type::s16:
        if (words[0] == 0x8000) return make_error_code(errc::value_not_implemented);
        return static_cast<double>(static_cast<std::int16_t>(words[0]));
    case value_type::u32:
        if (p.unsigned_all_ones_unimplemented && join() == 0xffff'ffffu) return make_error_code(errc::value_not_implemented);
        return static_cast<double>(join());
    case value_type::s32: {
        auto const v = join();
        if (v == 0x8000'0000u) return make_error_code(errc::value_not_implemented);
        return static_cast<double>(static_cast<std::int32_t>(v));
    }
    case value_type::f32: {
        auto const f = std::bit_cast<float>(join());
        if (!std::isfinite(f)) return make_error_code(errc::value_not_implemented);
        return static_cast<double>(f);
    }
    }
    return make_error_code(errc::unexpected_response);
}

/// @brief Registers holding `raw` (already divided by the scale) as `p` stores
/// it; integers are rounded to nearest. `errc::value_out_of_range` if the type
/// cannot hold it (or it would be the "not implemented" pattern).
inline result<std::pair<std::array<std::uint16_t, 2>, std::uint16_t>> encode(point const& p, double raw) {
    std::array<std::uint16_t, 2> w{};
    if (!std::isfinite(raw)) return make_error_code(errc::value_out_of_range);
    auto split = [&](std::uint32_t v) {
        auto const hi = static_cast<std::uint16_t>(v >> 16), lo = static_cast<std::uint16_t>(v & 0xffff);
        w = p.order == word_order::high_first ? std::array<std::uint16_t, 2>{hi, lo} : std::array<std::uint16_t, 2>{lo, hi};
    };
    double const r = std::nearbyint(raw);
    switch (p.type) {
    case value_type::u16:
        if (r < 0 || r > 65535) return make_error_code(errc::value_out_of_range);
        w[0] = static_cast<std::uint16_t>(r);
        return std::pair{w, std::uint16_t{1}};
    case value_type::s16:
        if (r < -32767 || r > 32767) return make_error_code(errc::value_out_of_range);
        w[0] = static_cast<std::uint16_t>(static_cast<std::int16_t>(r));
        return std::pair{w, std::uint16_t{1}};
    case value_type::u32:
        if (r < 0 || r > 4294967295.0) return make_error_code(errc::value_out_of_range);
        split(static_cast<std::uint32_t>(r));
        return std::pair{w, std::uint16_t{2}};
    case value_type::s32:
        if (r < -2147483647.0 || r > 2147483647.0) return make_error_code(errc::value_out_of_range);
        split(static_cast<std::uint32_t>(static_cast<std::int32_t>(r)));
        return std::pair{w, std::uint16_t{2}};
    case value_type::f32: {
        if (std::fabs(raw) > 3.4e38) return make_error_code(errc::value_out_of_range);
        split(std::bit_cast<std::uint32_t>(static_cast<float>(raw)));
        return std::pair{w, std::uint16_t{2}};
    }
    }
    return make_error_code(errc::value_out_of_range);
}

/// @brief The factor from raw to engineering units: `scale` × 10^sf.
inline double factor(point const& p, std::int16_t sf = 0) noexcept { return p.scale * std::pow(10.0, sf); }

// --- JSON --------------------------------------------------------------------

namespace detail {

struct map_reader {
    std::string* why;

    template <class T = register_map>
    result<T> fail(std::string_view point, std::string_view field, std::string_view what, cleori::error e) const {
        if (why) {
            *why = point.empty() ? std::string("register map") : "register map, point '" + std::string(point) + "'";
            if (!field.empty()) *why += ", field '" + std::string(field) + "'";
            *why += ": ";
            *why += what;
        }
        return make_error_code(e);
    }

    static std::string_view sv(boost::json::string const& s) { return {s.data(), s.size()}; }

    // A non-negative integer up to `max`; absent gives `fallback`.
    static std::optional<std::int64_t> integer(boost::json::value const& v) {
        if (v.is_int64()) return v.get_int64();
        if (v.is_uint64() && v.get_uint64() <= 0x7fff'ffff'ffff'ffffULL) return static_cast<std::int64_t>(v.get_uint64());
        if (v.is_double() && std::nearbyint(v.get_double()) == v.get_double() && std::fabs(v.get_double()) < 1e15)
            return static_cast<std::int64_t>(v.get_double());
        return std::nullopt;
    }

    result<register_address> address(boost::json::object const& o, std::string_view name, std::string_view prefix,
                                     std::string* err) const {
        register_address a{};
        auto const* addr = o.if_contains("address");
        auto const* model = o.if_contains("model");
        std::string const fa = std::string(prefix) + "address", fm = std::string(prefix) + "model",
                          fo = std::string(prefix) + "offset";
        auto bad = [&](std::string_view field, std::string_view what) -> result<register_address> {
            *err = field;
            *err += '\n';
            *err += what;
            return make_error_code(cleori::error::json_value_out_of_range);
        };
        if (addr && model) return bad(fa, "give either 'address' or 'model' and 'offset', not both");
        if (addr && o.if_contains("offset")) return bad(fo, "'offset' goes with 'model'; with 'address' remove it");
        if (addr) {
            auto n = integer(*addr);
            if (!n || *n < 0 || *n > 65535) return bad(fa, "must be a register address, 0 to 65535");
            a.address = static_cast<std::uint16_t>(*n);
            return a;
        }
        if (!model) return bad(fa, "missing: give 'address' (0 to 65535) or a SunSpec 'model' and 'offset'");
        auto m = integer(*model);
        if (!m || *m < 1 || *m > 65534) return bad(fm, "must be a SunSpec model id, 1 to 65534");
        auto const* off = o.if_contains("offset");
        if (!off) return bad(fo, "missing: the point's offset from the model's ID register");
        auto k = integer(*off);
        if (!k || *k < 2 || *k > 65535) return bad(fo, "must be 2 or more (0 and 1 are the model's ID and length)");
        a.model = static_cast<std::uint16_t>(*m);
        a.offset = static_cast<std::uint16_t>(*k);
        (void)name;
        return a;
    }

    // Reads the fields common to every point; `extra` lists the keys a point
    // of this role may have besides them.
    result<point> read_point(boost::json::value const& v, std::string_view name,
                             std::initializer_list<std::string_view> extra) const {
        auto const* o = v.if_object();
        if (!o) return fail<point>(name, "", "must be an object", cleori::error::json_wrong_type);
        static constexpr std::string_view common[] = {"kind", "address", "model", "offset", "type", "word_order",
                                                      "scale", "scale_factor"};
        for (auto const& kv : *o) {
            std::string_view const key(kv.key().data(), kv.key().size());
            bool known = std::find(std::begin(common), std::end(common), key) != std::end(common) ||
                         std::find(extra.begin(), extra.end(), key) != extra.end();
            if (!known) {
                std::string allowed;
                for (auto k : common) allowed += std::string(allowed.empty() ? "" : ", ") + std::string(k);
                for (auto k : extra) allowed += ", " + std::string(k);
                return fail<point>(name, key, "unknown field (allowed: " + allowed + ")", cleori::error::json_unknown_enum_value);
            }
        }
        point p{};
        p.name = std::string(name);
        auto const* kind = o->if_contains("kind");
        if (!kind) return fail<point>(name, "kind", "missing: \"holding\" or \"input\"", cleori::error::json_missing_field);
        if (!kind->is_string()) return fail<point>(name, "kind", "must be \"holding\" or \"input\"", cleori::error::json_wrong_type);
        if (sv(kind->get_string()) == "holding") p.kind = register_kind::holding;
        else if (sv(kind->get_string()) == "input") p.kind = register_kind::input;
        else
            return fail<point>(name, "kind", "\"" + std::string(sv(kind->get_string())) + "\" is not \"holding\" or \"input\"",
                               cleori::error::json_unknown_enum_value);
        std::string err;
        auto a = address(*o, name, "", &err);
        if (!a) {
            auto const nl = err.find('\n');
            return fail<point>(name, err.substr(0, nl), err.substr(nl + 1), cleori::error::json_value_out_of_range);
        }
        p.where = *a;
        p.unsigned_all_ones_unimplemented = !a->address.has_value();
        auto const* type = o->if_contains("type");
        if (!type) return fail<point>(name, "type", "missing: one of u16, s16, u32, s32, f32", cleori::error::json_missing_field);
        if (!type->is_string()) return fail<point>(name, "type", "must be one of u16, s16, u32, s32, f32", cleori::error::json_wrong_type);
        auto const t = sv(type->get_string());
        if (t == "u16") p.type = value_type::u16;
        else if (t == "s16") p.type = value_type::s16;
        else if (t == "u32") p.type = value_type::u32;
        else if (t == "s32") p.type = value_type::s32;
        else if (t == "f32") p.type = value_type::f32;
        else
            return fail<point>(name, "type", "\"" + std::string(t) + "\" is not one of u16, s16, u32, s32, f32",
                               cleori::error::json_unknown_enum_value);
        if (auto const* wo = o->if_contains("word_order")) {
            if (!wo->is_string()) return fail<point>(name, "word_order", "must be \"high_first\" or \"low_first\"", cleori::error::json_wrong_type);
            auto const w = sv(wo->get_string());
            if (w == "high_first") p.order = word_order::high_first;
            else if (w == "low_first") p.order = word_order::low_first;
            else
                return fail<point>(name, "word_order", "\"" + std::string(w) + "\" is not \"high_first\" or \"low_first\"",
                                   cleori::error::json_unknown_enum_value);
            if (register_count(p.type) == 1)
                return fail<point>(name, "word_order", "applies only to 32-bit types (u32, s32, f32)", cleori::error::json_value_out_of_range);
        }
        if (p.where.address && *p.where.address + register_count(p.type) - 1 > 0xffff)
            return fail<point>(name, "address", "a 32-bit value at 65535 would run past the last register",
                               cleori::error::json_value_out_of_range);
        if (auto const* sc = o->if_contains("scale")) {
            if (!sc->is_number()) return fail<point>(name, "scale", "must be a number", cleori::error::json_wrong_type);
            p.scale = sc->to_number<double>();
            if (!std::isfinite(p.scale) || p.scale == 0.0 || std::fabs(p.scale) > 1e9 || std::fabs(p.scale) < 1e-9)
                return fail<point>(name, "scale", "must be a finite, non-zero factor between 1e-9 and 1e9", cleori::error::json_value_out_of_range);
            if (p.scale < 0)
                return fail<point>(name, "scale", "must be positive: the direction of power is the map's 'sign'",
                                   cleori::error::json_value_out_of_range);
        }
        if (auto const* sf = o->if_contains("scale_factor")) {
            auto const* so = sf->if_object();
            if (!so) return fail<point>(name, "scale_factor", "must be an object: {\"address\": N} or {\"model\": M, \"offset\": K}", cleori::error::json_wrong_type);
            for (auto const& kv : *so) {
                std::string_view const key(kv.key().data(), kv.key().size());
                if (key != "address" && key != "model" && key != "offset")
                    return fail<point>(name, "scale_factor." + std::string(key), "unknown field (allowed: address, model, offset)",
                                       cleori::error::json_unknown_enum_value);
            }
            auto sa = address(*so, name, "scale_factor.", &err);
            if (!sa) {
                auto const nl = err.find('\n');
                return fail<point>(name, err.substr(0, nl), err.substr(nl + 1), cleori::error::json_value_out_of_range);
            }
            p.scale_factor = *sa;
        }
        return p;
    }
};

} // namespace detail

/// @brief Parses a register map from JSON text.
/// @param why if given, receives one line naming the point and field at fault
/// and what is wrong ("register map, point 'soc', field 'type': \"u17\" is not one of …").
inline result<register_map> parse_register_map(std::string_view json, std::string* why = nullptr) {
    detail::map_reader rd{why};
    using cleori::error;
    if (json.size() > 256 * 1024) return rd.fail("", "", "the document is larger than 256 KiB", error::body_too_large);
    boost::system::error_code ec;
    boost::json::parse_options opt;
    opt.max_depth = 8;
    auto const doc = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec, {}, opt);
    if (ec) return rd.fail("", "", "malformed JSON: " + ec.message(), error::json_malformed);
    auto const* o = doc.if_object();
    if (!o) return rd.fail("", "", "the document must be a JSON object", error::json_wrong_type);
    for (auto const& kv : *o) {
        std::string_view const key(kv.key().data(), kv.key().size());
        if (key != "name" && key != "unit_id" && key != "sign" && key != "sunspec_base" && key != "points" && key != "comment")
            return rd.fail("", key, "unknown field (allowed: name, unit_id, sign, sunspec_base, points, comment)",
                           error::json_unknown_enum_value);
    }
    register_map m{};
    if (auto const* n = o->if_contains("name")) {
        if (!n->is_string()) return rd.fail("", "name", "must be a string", error::json_wrong_type);
        m.name = std::string(detail::map_reader::sv(n->get_string()));
    }
    if (auto const* u = o->if_contains("unit_id")) {
        auto v = detail::map_reader::integer(*u);
        if (!v || *v < 0 || *v > 255) return rd.fail("", "unit_id", "must be a Modbus unit id, 0 to 255", error::json_value_out_of_range);
        m.unit_id = static_cast<std::uint8_t>(*v);
    }
    auto const* s = o->if_contains("sign");
    if (!s) return rd.fail("", "sign", "missing: \"import_positive\" (+ charge, as Cleori) or \"export_positive\" (+ discharge)", error::json_missing_field);
    if (!s->is_string()) return rd.fail("", "sign", "must be \"import_positive\" or \"export_positive\"", error::json_wrong_type);
    if (detail::map_reader::sv(s->get_string()) == "import_positive") m.sign = sign_convention::import_positive;
    else if (detail::map_reader::sv(s->get_string()) == "export_positive") m.sign = sign_convention::export_positive;
    else
        return rd.fail("", "sign", "\"" + std::string(detail::map_reader::sv(s->get_string())) +
                                       "\" is not \"import_positive\" or \"export_positive\"",
                       error::json_unknown_enum_value);
    if (auto const* b = o->if_contains("sunspec_base")) {
        auto v = detail::map_reader::integer(*b);
        if (!v || *v < 0 || *v > 65534) return rd.fail("", "sunspec_base", "must be a register address, 0 to 65534", error::json_value_out_of_range);
        m.sunspec_bases = {static_cast<std::uint16_t>(*v)};
    }
    auto const* pts = o->if_contains("points");
    if (!pts) return rd.fail("", "points", "missing: an object with power, soc and setpoint", error::json_missing_field);
    auto const* po = pts->if_object();
    if (!po) return rd.fail("", "points", "must be an object", error::json_wrong_type);
    for (auto const& kv : *po) {
        std::string_view const key(kv.key().data(), kv.key().size());
        if (key != "power" && key != "soc" && key != "setpoint" && key != "heartbeat" && key != "enable" && key != "status")
            return rd.fail(key, "", "unknown point (allowed: power, soc, setpoint, heartbeat, enable, status)",
                           error::json_unknown_enum_value);
    }
    auto required = [&](std::string_view name, point& out) -> result<void> {
        auto const* v = po->if_contains(boost::json::string_view(name.data(), name.size()));
        if (!v) return rd.fail<void>(name, "", "missing: power, soc and setpoint are required", error::json_missing_field).error();
        auto p = rd.read_point(*v, name, {});
        if (!p) return p.error();
        out = std::move(*p);
        return {};
    };
    for (auto [name, slot] : {std::pair<std::string_view, point*>{"power", &m.power}, {"soc", &m.soc}, {"setpoint", &m.setpoint}})
        if (auto r = required(name, *slot); !r) return r.error();
    if (m.setpoint.kind != register_kind::holding)
        return rd.fail("setpoint", "kind", "a setpoint is written, so it must be a \"holding\" register", error::json_value_out_of_range);

    if (auto const* v = po->if_contains("heartbeat")) {
        auto p = rd.read_point(*v, "heartbeat", {"period_ms"});
        if (!p) return p.error();
        heartbeat_point h{std::move(*p)};
        if (h.where.kind != register_kind::holding || register_count(h.where.type) != 1)
            return rd.fail("heartbeat", "kind", "a heartbeat is a 16-bit \"holding\" register (u16 or s16)", error::json_value_out_of_range);
        auto const* per = v->as_object().if_contains("period_ms");
        if (!per) return rd.fail("heartbeat", "period_ms", "missing: how often to write it, in ms", error::json_missing_field);
        auto n = detail::map_reader::integer(*per);
        if (!n || *n < 50 || *n > 3'600'000) return rd.fail("heartbeat", "period_ms", "must be 50 to 3600000", error::json_value_out_of_range);
        h.period = std::chrono::milliseconds{*n};
        m.heartbeat = std::move(h);
    }
    if (auto const* v = po->if_contains("enable")) {
        auto p = rd.read_point(*v, "enable", {"value"});
        if (!p) return p.error();
        enable_point e{std::move(*p)};
        if (e.where.kind != register_kind::holding || register_count(e.where.type) != 1)
            return rd.fail("enable", "kind", "an enable point is a 16-bit \"holding\" register (u16 or s16)", error::json_value_out_of_range);
        if (auto const* val = v->as_object().if_contains("value")) {
            auto n = detail::map_reader::integer(*val);
            if (!n || *n < 0 || *n > 65535) return rd.fail("enable", "value", "must be 0 to 65535", error::json_value_out_of_range);
            e.value = static_cast<std::uint16_t>(*n);
        }
        m.enable = std::move(e);
    }
    if (auto const* v = po->if_contains("status")) {
        auto p = rd.read_point(*v, "status", {"ok", "faults"});
        if (!p) return p.error();
        status_point st{std::move(*p)};
        if (st.where.type == value_type::f32 || st.where.type == value_type::s16 || st.where.type == value_type::s32)
            return rd.fail("status", "type", "a status register is unsigned (u16 or u32)", error::json_value_out_of_range);
        auto const& so = v->as_object();
        long long const status_max = st.where.type == value_type::u16 ? 0xffffLL : 0xffff'ffffLL;
        if (auto const* ok = so.if_contains("ok")) {
            auto const* arr = ok->if_array();
            if (!arr || arr->empty()) return rd.fail("status", "ok", "must be a non-empty array of status values", error::json_wrong_type);
            for (auto const& x : *arr) {
                auto n = detail::map_reader::integer(x);
                if (!n || *n < 0 || *n > status_max) return rd.fail("status", "ok", "each value must be 0 to " + std::to_string(status_max) + " (the register's type)", error::json_value_out_of_range);
                st.ok.push_back(static_cast<std::uint32_t>(*n));
            }
        }
        if (auto const* f = so.if_contains("faults")) {
            auto const* fo = f->if_object();
            if (!fo) return rd.fail("status", "faults", "must be an object: {\"<value>\": \"<name>\"}", error::json_wrong_type);
            for (auto const& kv : *fo) {
                std::string const key(kv.key().data(), kv.key().size());
                char* end = nullptr;
                unsigned long long const n = std::strtoull(key.c_str(), &end, 10);
                if (key.empty() || *end != '\0' || n > static_cast<unsigned long long>(status_max) || key[0] == '-')
                    return rd.fail("status", "faults." + key, "the key must be a status value, 0 to " + std::to_string(status_max) + " (the register's type)", error::json_value_out_of_range);
                if (!kv.value().is_string() || kv.value().get_string().empty())
                    return rd.fail("status", "faults." + key, "must be the fault's name, a non-empty string", error::json_wrong_type);
                st.faults.emplace_back(static_cast<std::uint32_t>(n), std::string(detail::map_reader::sv(kv.value().get_string())));
            }
        }
        if (st.ok.empty() && st.faults.empty())
            return rd.fail("status", "ok", "give 'ok' (the running states) or 'faults' (the fault states), or both",
                           error::json_missing_field);
        m.status = std::move(st);
    }
    return m;
}

/// @brief Reads and parses a register map file; `why` names the file too.
inline result<register_map> load_register_map(std::string const& path, std::string* why = nullptr) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (why) *why = path + ": cannot be read";
        return make_error_code(cleori::error::json_malformed);
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto m = parse_register_map(text, why);
    if (!m && why) *why = path + ": " + *why;
    return m;
}

} // namespace cleori::modbus
