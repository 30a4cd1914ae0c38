#pragma once
/// @file
/// @brief Reading `battery_ratings` from a JSON configuration document, so a
/// device whose specification is only known at run time can be checked with
/// `check_mfrr_minimum` before it goes live.
///
/// The document (all keys required unless marked):
/// @code{.json}
/// {"capacity_kwh": 200, "max_charge_kw": 100, "max_discharge_kw": 100,
///  "response_time_ms": 800, "round_trip_efficiency_pct": 90,
///  "chemistry": "lifepo4",            // li-ion | lifepo4 | flow | sodium-ion | other
///  "min_soc_pct": 5, "max_soc_pct": 95}   // optional, default 0 and 100
/// @endcode

#include <cleori/device/ratings.hpp>
#include <cleori/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <string>
#include <string_view>

namespace cleori {

/// @brief Parses ratings from JSON text.
/// @param why if given, receives the key that is missing or wrong.
/// @return the ratings (not yet checked against the mFRR minimum), or an error.
inline result<battery_ratings> parse_battery_ratings(std::string_view json, std::string* why = nullptr) {
    auto fail = [&](error e, std::string_view key) -> result<battery_ratings> {
        if (why) {
            *why = "ratings key '";
            why->append(key);
            *why += "': ";
            *why += make_error_code(e).message();
        }
        return e;
    };
    if (json.size() > 64 * 1024) return fail(error::body_too_large, "(document)");
    boost::system::error_code ec;
    boost::json::parse_options opt;
    opt.max_depth = 8;
    auto const doc = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec, {}, opt);
    if (ec) return fail(error::json_malformed, "(document)");
    auto const* o = doc.if_object();
    if (o == nullptr) return fail(error::json_wrong_type, "(document)");

    auto number = [&](std::string_view key, bool required, double fallback, double& out) -> error {
        auto const* v = o->if_contains(boost::json::string_view(key.data(), key.size()));
        if (v == nullptr) {
            out = fallback;
            return required ? error::json_missing_field : error{};
        }
        if (v->is_double()) out = v->get_double();
        else if (v->is_int64()) out = static_cast<double>(v->get_int64());
        else if (v->is_uint64()) out = static_cast<double>(v->get_uint64());
        else return error::json_wrong_type;
        if (!std::isfinite(out)) return error::json_value_not_finite;
        if (std::fabs(out) > 1e9) return error::json_value_out_of_range;
        return error{};
    };
    struct numeric_key {
        std::string_view key;
        bool required;
        double fallback;
        double value;
    };
    numeric_key keys[] = {
        {"capacity_kwh", true, 0, 0},      {"max_charge_kw", true, 0, 0},
        {"max_discharge_kw", true, 0, 0},  {"response_time_ms", true, 0, 0},
        {"round_trip_efficiency_pct", true, 0, 0},
        {"min_soc_pct", false, 0, 0},      {"max_soc_pct", false, 100, 0},
    };
    for (auto& k : keys)
        if (auto e = number(k.key, k.required, k.fallback, k.value); e != error{}) return fail(e, k.key);

    battery_ratings r{};
    r.capacity = kilowatt_hours{keys[0].value};
    r.max_charge = kilowatts{keys[1].value};
    r.max_discharge = kilowatts{keys[2].value};
    r.response_time = std::chrono::milliseconds{static_cast<long long>(std::llround(keys[3].value))};
    r.round_trip_efficiency = percent{keys[4].value};
    r.min_soc = percent{keys[5].value};
    r.max_soc = percent{keys[6].value};

    auto const* cv = o->if_contains("chemistry");
    if (cv == nullptr) return fail(error::json_missing_field, "chemistry");
    if (!cv->is_string()) return fail(error::json_wrong_type, "chemistry");
    std::string_view const name(cv->get_string().data(), cv->get_string().size());
    bool known = false;
    for (auto c : {chemistry::li_ion, chemistry::lifepo4, chemistry::flow, chemistry::sodium_ion, chemistry::other}) {
        if (to_string(c) == name) {
            r.chemistry = c;
            known = true;
        }
    }
    if (!known) return fail(error::json_unknown_enum_value, "chemistry");
    return r;
}

} // namespace cleori
