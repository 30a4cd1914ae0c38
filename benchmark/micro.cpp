// Micro benchmarks (Google Benchmark): the wire codec and RFC 3339, each next
// to the same work done with nlohmann/json, the baseline a user would reach for.
#include <cleori/api/json.hpp>
#include <cleori/time/rfc3339.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string_view>

using namespace cleori::literals;

namespace {

cleori::timestamp const t = cleori::parse_rfc3339("2026-11-26T16:17:20.123Z").value();

std::string page_body(int n) {
    std::string body = R"({"data":[)";
    for (int i = 0; i < n; ++i) {
        if (i) body += ',';
        cleori::encode_activation({.id = "act-" + std::to_string(i), .direction = cleori::mfrr_direction::up,
                                   .power = 60.0_kW, .start_time = t, .end_time = t + std::chrono::minutes(15),
                                   .type = cleori::activation_type::direct, .status = cleori::activation_status::pending,
                                   .created_at = t},
                                  body);
    }
    return body + R"(],"pagination":{"limit":100,"offset":0,"total":)" + std::to_string(n) + "}}";
}

// Both sides write the same three fields (time as RFC 3339 with milliseconds,
// power, soc) into an output string kept across iterations, so neither
// allocates for the output in steady state. cleori appends straight to it.
// nlohmann/json builds its document, kept across iterations too (a field is
// reassigned per sample, as a sender would), and serialises into the same kind
// of reused string; the time text comes from the same formatter into a stack
// buffer. What is left per sample on the nlohmann side is the document's
// string value for the time. (std::map sorts the keys: the bytes differ in
// order only.)
void encode_telemetry_cleori(benchmark::State& st) {
    cleori::telemetry_sample const s{t, -42.5_kW, 63.2_pct};
    std::string out;
    for (auto _ : st) {
        out.clear();
        cleori::encode_telemetry(s, out);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(encode_telemetry_cleori);

void encode_telemetry_nlohmann(benchmark::State& st) {
    cleori::telemetry_sample const s{t, -42.5_kW, 63.2_pct};
    nlohmann::json j;
    std::string out;
    auto const encode = [&] {
        std::array<char, cleori::rfc3339_max_formatted> buf;
        j["time"] = std::string_view(buf.data(), cleori::format_rfc3339(s.time, buf));
        j["power"] = s.power->in_kw();
        j["soc"] = s.soc->in_pct();
        out.clear();
        // What json::dump() does, into `out` instead of a new string.
        nlohmann::detail::serializer<nlohmann::json> ser(nlohmann::detail::output_adapter<char>(out), ' ');
        ser.dump(j, false, false, 0);
    };
    std::string expected;
    cleori::encode_telemetry(s, expected);
    encode();
    if (nlohmann::json::parse(out) != nlohmann::json::parse(expected))
        st.SkipWithError("the nlohmann/json encoder does not write the same document as cleori's");
    for (auto _ : st) {
        encode();
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(encode_telemetry_nlohmann);

// What both sides do per page: refuse a body over 4 MiB or nested deeper than
// 32; take the envelope's "data" (or a bare array, or one bare object) and
// its "pagination" (limit, offset, total); per activation, every field the
// profile names — id (string, at most 4096 bytes), direction (up/down),
// power (finite number, |x| <= 1e6), start_time (RFC 3339), end_time,
// type, created_at (optional, null allowed), status (one of five) — then the
// checks (id non-empty and at most 256 bytes, power >= 0, end after start);
// a bad activation goes to `rejected` with the field and the reason, the
// others to `activations` (reserved to the array's size). Each iteration
// returns a fresh cleori::activation_page: no output is reused on either side.
void decode_activations_cleori(benchmark::State& st) {
    auto const body = page_body(static_cast<int>(st.range(0)));
    for (auto _ : st) {
        auto page = cleori::decode_activation_page(body);
        benchmark::DoNotOptimize(page);
    }
}
BENCHMARK(decode_activations_cleori)->Arg(1)->Arg(20);

namespace nl {
using json = nlohmann::json;
using profile = cleori::api_profile_v1;
using cleori::error;
using ec = boost::system::error_code;

// nlohmann's DOM parser with the same depth limit as Boost.JSON's max_depth.
struct depth_limited_parser : nlohmann::detail::json_sax_dom_parser<json> {
    using json_sax_dom_parser::json_sax_dom_parser;
    unsigned depth = 0;
    bool start_object(std::size_t n) {
        return ++depth <= profile::max_json_depth && json_sax_dom_parser::start_object(n);
    }
    bool start_array(std::size_t n) {
        return ++depth <= profile::max_json_depth && json_sax_dom_parser::start_array(n);
    }
    bool end_object() { return --depth, json_sax_dom_parser::end_object(); }
    bool end_array() { return --depth, json_sax_dom_parser::end_array(); }
};

ec read(json const& v, std::string& out) {
    if (!v.is_string()) return error::json_wrong_type;
    auto const& s = v.get_ref<std::string const&>();
    if (s.size() > profile::max_text_length) return error::json_string_too_long;
    out = s;
    return {};
}
ec read(json const& v, cleori::kilowatts& out) {
    if (!v.is_number()) return error::json_wrong_type;
    double const x = v.get<double>();
    if (!std::isfinite(x)) return error::json_value_not_finite;
    if (std::fabs(x) > cleori::max_plausible_power.in_kw()) return error::json_value_out_of_range;
    out = cleori::kilowatts{x};
    return {};
}
ec read(json const& v, cleori::timestamp& out) {
    if (!v.is_string()) return error::json_wrong_type;
    auto const t = cleori::parse_rfc3339(v.get_ref<std::string const&>());
    if (!t) return t.error();
    out = *t;
    return {};
}
template <class E>
    requires std::is_enum_v<E>
ec read(json const& v, E& out) {
    if (!v.is_string()) return error::json_wrong_type;
    auto const& text = v.get_ref<std::string const&>();
    for (auto const& [value, name] : profile::names(E{}))
        if (name == text) return out = value, ec{};
    return error::json_unknown_enum_value;
}
// A required field: absent or null is an error.
template <class T> ec field(json const& o, char const* key, T& out) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return error::json_missing_field;
    return read(*it, out);
}
// An optional field: absent or null leaves it empty.
template <class T> ec field(json const& o, char const* key, std::optional<T>& out) {
    out.reset();
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return {};
    T inner{};
    if (auto e = read(*it, inner)) return e;
    out = std::move(inner);
    return {};
}
std::size_t count(json const& o, char const* key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    if (it->is_number_unsigned()) return it->get<std::size_t>();
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0)
        return static_cast<std::size_t>(it->get<std::int64_t>());
    return 0;
}

cleori::result<cleori::activation_page> decode_activation_page(std::string_view body) {
    if (body.size() > profile::max_body_bytes) return error::body_too_large;
    json doc;
    depth_limited_parser sax(doc, false);
    if (!json::sax_parse(body, &sax))
        return sax.depth > profile::max_json_depth ? error::json_too_deep : error::json_malformed;
    cleori::activation_page page;
    json const* payload = &doc;
    if (doc.is_object()) {
        if (auto d = doc.find("data"); d != doc.end()) {
            payload = &*d;
            if (auto p = doc.find("pagination"); p != doc.end() && p->is_object())
                page.page = cleori::pagination{count(*p, "limit"), count(*p, "offset"), count(*p, "total")};
        }
    }
    auto decode_one = [&](json const& item, std::size_t index) {
        if (!item.is_object()) {
            page.rejected.push_back({"", "item " + std::to_string(index) + ": not a JSON object"});
            return;
        }
        cleori::activation a;
        char const* bad = nullptr;
        ec e;
        auto take = [&](char const* key, auto& dest) {
            if (!bad && (e = field(item, key, dest))) bad = key;
        };
        take("id", a.id);
        take("direction", a.direction);
        take("power", a.power);
        take("start_time", a.start_time);
        take("end_time", a.end_time);
        take("type", a.type);
        take("status", a.status);
        take("created_at", a.created_at);
        if (bad) {
            std::string id;
            if (auto i = item.find("id"); i != item.end() && i->is_string() &&
                                          i->get_ref<std::string const&>().size() <= profile::max_id_length)
                id = i->get_ref<std::string const&>();
            page.rejected.push_back({std::move(id), std::string("field '") + bad + "': " + e.message()});
            return;
        }
        char const* why = nullptr;
        if (a.id.empty()) why = "field 'id': must not be empty";
        else if (a.id.size() > profile::max_id_length) why = "field 'id': longer than the limit";
        else if (a.power < cleori::kilowatts{0.0})
            why = "field 'power': must not be negative (direction gives the sign)";
        if (why) {
            page.rejected.push_back({a.id, why});
            return;
        }
        if (a.end_time && *a.end_time <= a.start_time) {
            page.rejected.push_back(
                {a.id, "field 'end_time': " + make_error_code(error::activation_ends_before_start).message()});
            return;
        }
        page.activations.push_back(std::move(a));
    };
    if (payload->is_array()) {
        page.activations.reserve(payload->size());
        for (std::size_t i = 0; i < payload->size(); ++i) decode_one((*payload)[i], i);
    } else if (payload->is_object()) {
        decode_one(*payload, 0);
    } else {
        return error::json_wrong_type;
    }
    return page;
}
} // namespace nl

// Both decoders must agree, on the benchmark's page and on one with every
// kind of bad activation.
bool same_result(std::string_view body) {
    auto const a = cleori::decode_activation_page(body);
    auto const b = nl::decode_activation_page(body);
    if (a.has_error() || b.has_error()) return a.has_error() && b.has_error() && a.error() == b.error();
    auto same_page = [](auto const& x, auto const& y) {
        return x.has_value() == y.has_value() &&
               (!x || (x->limit == y->limit && x->offset == y->offset && x->total == y->total));
    };
    auto same_rejected = [](auto const& x, auto const& y) { return x.id == y.id && x.reason == y.reason; };
    return a->activations == b->activations && same_page(a->page, b->page) &&
           std::equal(a->rejected.begin(), a->rejected.end(), b->rejected.begin(), b->rejected.end(), same_rejected);
}

// Every kind of bad activation, one valid one, and a pagination with a bad offset.
std::string bad_page() {
    auto item = [](std::string const& id, std::string const& direction = "up", std::string const& power = "1",
                   std::string const& start = "\"2026-11-26T16:17:20Z\"", std::string const& status = "pending",
                   std::string const& more = "") {
        return (id.empty() ? "{" : "{\"id\":" + id + ",") + "\"direction\":\"" + direction + "\",\"power\":" + power +
               ",\"start_time\":" + start + ",\"status\":\"" + status + "\"" + more + "}";
    };
    std::string const t0 = "\"2026-11-26T16:17:20Z\"";
    return "{\"data\":[42," + item("") + "," + item("\"d\"", "left") + "," + item("\"p\"", "up", "-1") + "," +
           item("\"q\"", "up", "\"1\"") + "," + item("\"r\"", "up", "1e7") + "," +
           item("\"s\"", "up", "1", "\"yesterday\"") + "," +
           item("\"e\"", "up", "1", t0, "pending", ",\"end_time\":\"2026-11-26T16:00:00Z\"") + "," +
           item("\"u\"", "up", "1", t0, "lost") + "," + item("\"\"") + "," + item("\"" + std::string(300, 'x') + "\"") +
           "," + item("\"ok\"", "down", "5", t0, "active", ",\"end_time\":null,\"type\":null,\"created_at\":null") +
           "],\"pagination\":{\"limit\":100,\"offset\":-1}}";
}

void decode_activations_nlohmann(benchmark::State& st) {
    auto const body = page_body(static_cast<int>(st.range(0)));
    if (!same_result(body) || !same_result(bad_page()) || !same_result(std::string(40, '[') + std::string(40, ']')) ||
        !same_result("{\"data\":7}") || !same_result("{"))
        st.SkipWithError("the nlohmann/json decoder does not give the same result as cleori's");
    for (auto _ : st) {
        auto page = nl::decode_activation_page(body);
        benchmark::DoNotOptimize(page);
    }
}
BENCHMARK(decode_activations_nlohmann)->Arg(1)->Arg(20);

void rfc3339_format(benchmark::State& st) {
    std::string out;
    for (auto _ : st) {
        out = cleori::to_rfc3339(t);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(rfc3339_format);

void rfc3339_parse(benchmark::State& st) {
    for (auto _ : st) benchmark::DoNotOptimize(cleori::parse_rfc3339("2026-11-26T16:17:20.123+02:00"));
}
BENCHMARK(rfc3339_parse);

// The baseline for both: strftime/strptime-style with the C library.
void rfc3339_format_strftime(benchmark::State& st) {
    for (auto _ : st) {
        auto const secs = std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char buf[40];
        std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        n += static_cast<std::size_t>(std::snprintf(buf + n, sizeof buf - n, ".%03dZ", 123));
        benchmark::DoNotOptimize(buf);
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK(rfc3339_format_strftime);

void rfc3339_parse_strptime(benchmark::State& st) {
    for (auto _ : st) {
        std::tm tm{};
        char const* rest = strptime("2026-11-26T16:17:20.123+02:00", "%Y-%m-%dT%H:%M:%S", &tm);
        auto secs = timegm(&tm);
        benchmark::DoNotOptimize(rest);
        benchmark::DoNotOptimize(secs);
    }
}
BENCHMARK(rfc3339_parse_strptime);

} // namespace

BENCHMARK_MAIN();
