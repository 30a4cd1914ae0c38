#include <cleori/api/json.hpp>

#include "support/page_oracle.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace cleori::literals;
using namespace std::chrono;
using cleori::error;

namespace {
cleori::timestamp at(const char* text) { return cleori::parse_rfc3339(text).value(); }

std::string activation_json(std::string_view fields) {
    return std::string(R"({"id":"a-1","direction":"up","power":80,"start_time":"2026-11-26T16:20:00Z",)"
                       R"("end_time":"2026-11-26T16:35:00Z","status":"pending")") +
           std::string(fields) + "}";
}

// Poll bodies of every shape the reader must get right: envelopes with the
// data and pagination keys once, twice or not at all and in any order, bare
// arrays and objects, items that are not objects, fields valid, absent,
// null, duplicated, of the wrong type or out of range, unknown keys with
// nested values, keys and strings with escapes (long escaped strings make
// the parser hand them over in parts), and bytes cut or repeated.
class page_generator {
public:
    explicit page_generator(std::uint32_t seed) : rng_(seed) {}

    std::string body() {
        clean_ = pick(3) == 0;
        std::string b;
        switch (pick(20)) {
        case 0: b = scalar(); break;
        case 1: case 2: case 3: case 4: b = item(); break;
        case 5: case 6: case 7: case 8: b = items(); break;
        default: b = envelope(); break;
        }
        if (pick(5) == 0) mutate(b);
        return b;
    }

private:
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

    std::string key(std::string_view k) {
        // "i\u0064" is "id": a key's escapes are undone before it is matched.
        if (!k.empty() && pick(12) == 0) return "\"" + std::string(k.substr(0, k.size() - 1)) + "\\u00" +
                                                 hex(static_cast<unsigned char>(k.back())) + "\"";
        return "\"" + std::string(k) + "\"";
    }
    static std::string hex(unsigned char c) {
        static constexpr char digits[] = "0123456789abcdef";
        return {digits[c >> 4], digits[c & 0xf]};
    }

    std::string scalar() {
        static const char* const values[] = {"null", "true", "false", "0", "-1", "42", "1.5e3", "-0.0",
                                             "1e308", "18446744073709551615", "-9223372036854775808",
                                             "\"text\"", "\"\"", "\"\\u00e9\\n\""};
        return values[pick(std::size(values))];
    }
    std::string nested(int depth = 0) {
        if (depth > 3 || pick(3) == 0) return scalar();
        std::string s = pick(2) ? "[" : "{";
        bool const object = s == "{";
        std::size_t const n = pick(4);
        for (std::size_t i = 0; i < n; ++i) {
            if (i) s += ",";
            if (object) s += key(pick(2) ? "id" : "x") + ":";
            s += nested(depth + 1);
        }
        return s + (object ? "}" : "]");
    }
    std::string text_value(std::string_view good) {
        switch (pick(12)) {
        case 0: return "null";
        case 1: return scalar();
        case 2: return nested();
        case 3: { // long and escaped: the parser splits it
            std::string s = "\"";
            std::size_t const n = 1000 + pick(5000);
            for (std::size_t i = 0; i < n; ++i) s += pick(8) ? "x" : "\\n";
            return s + "\"";
        }
        case 4: return "\"" + std::string(good) + "\\t\"";
        default: return "\"" + std::string(good) + "\"";
        }
    }
    std::string field_value(std::string_view name) {
        if (clean_) { // a valid value
            if (name == "id") return pick(2) ? "\"a-1\"" : "\"act-2026-12-02-1001\"";
            if (name == "direction") return pick(2) ? "\"up\"" : "\"down\"";
            if (name == "type") return "\"direct\"";
            if (name == "status") return pick(4) ? "\"pending\"" : "\"cancelled\"";
            if (name == "power") return pick(2) ? "80" : "50.25";
            if (name == "end_time") return "\"2026-11-26T16:35:00Z\"";
            return "\"2026-11-26T16:20:00Z\"";
        }
        if (name == "id") {
            static const char* const ids[] = {"a-1", "act-2026-12-02-1001", "", "b\\\"q", "a-1"};
            return pick(10) == 0 ? text_value("x") : "\"" + std::string(ids[pick(std::size(ids))]) + "\"";
        }
        if (name == "direction") return pick(6) ? "\"" + std::string(pick(2) ? "up" : "down") + "\"" : text_value("sideways");
        if (name == "type") return pick(6) ? "\"" + std::string(pick(2) ? "direct" : "scheduled") + "\"" : text_value("x");
        if (name == "status") {
            static const char* const st[] = {"pending", "confirmed", "active", "completed", "cancelled"};
            return pick(6) ? "\"" + std::string(st[pick(5)]) + "\"" : text_value("done");
        }
        if (name == "power") {
            static const char* const p[] = {"80", "0", "50.25", "-5", "1e7", "1e-12", "\"80\"", "null", "[80]"};
            return p[pick(std::size(p))];
        }
        static const char* const t[] = {"2026-11-26T16:20:00Z", "2026-11-26T16:35:00Z", "2026-11-26T18:20:00.5+02:00",
                                        "2026-02-30T00:00:00Z", "yesterday"};
        return pick(8) ? "\"" + std::string(t[pick(std::size(t))]) + "\"" : text_value("x");
    }
    std::string item() {
        if (!clean_ && pick(10) == 0) return pick(2) ? scalar() : nested(2);
        static const char* const names[] = {"id", "direction", "power", "start_time", "end_time",
                                            "type", "status", "created_at", "market", "nested"};
        std::vector<std::string> members;
        for (auto const* n : names) {
            if (!clean_ && pick(8) == 0) continue; // absent
            std::string_view const name(n);
            std::string const v = name == "market" || name == "nested" ? nested() : field_value(name);
            members.push_back(key(name) + ":" + v);
            if (pick(10) == 0) members.push_back(key(name) + ":" + field_value(name)); // duplicated
        }
        std::shuffle(members.begin(), members.end(), rng_);
        return "{" + join(members) + "}";
    }
    std::string items() {
        std::vector<std::string> v;
        std::size_t const n = pick(5);
        for (std::size_t i = 0; i < n; ++i) v.push_back(item());
        return "[" + join(v) + "]";
    }
    std::string pagination() {
        if (pick(6) == 0) return pick(2) ? scalar() : "[1,2]";
        static const char* const counts[] = {"100", "0", "-1", "2.5", "\"3\"", "null", "{}", "18446744073709551615"};
        std::vector<std::string> m;
        for (auto const* k : {"limit", "offset", "total", "page"})
            if (pick(5)) m.push_back(key(k) + ":" + counts[pick(std::size(counts))]);
        std::shuffle(m.begin(), m.end(), rng_);
        return "{" + join(m) + "}";
    }
    std::string envelope() {
        std::vector<std::string> m;
        std::size_t const data = pick(6) == 0 ? 0 : pick(8) == 0 ? 2 : 1;
        for (std::size_t i = 0; i < data; ++i) {
            std::size_t const k = pick(10);
            m.push_back(key("data") + ":" + (k < 6 ? items() : k < 8 ? item() : scalar()));
        }
        std::size_t const pages = pick(4) == 0 ? 0 : pick(8) == 0 ? 2 : 1;
        for (std::size_t i = 0; i < pages; ++i) m.push_back(key("pagination") + ":" + pagination());
        if (pick(3) == 0) { // activation fields at the root, which only count without data
            std::string const it = item();
            if (it.size() > 2 && it.front() == '{') m.push_back(it.substr(1, it.size() - 2));
        }
        if (pick(4) == 0) m.push_back(key("meta") + ":" + nested());
        std::shuffle(m.begin(), m.end(), rng_);
        std::erase(m, std::string());
        return "{" + join(m) + "}";
    }
    void mutate(std::string& b) {
        if (b.empty()) return;
        std::size_t const at = pick(b.size());
        switch (pick(4)) {
        case 0: b.erase(at, 1); break;
        case 1: b.resize(at); break;
        case 2: b.insert(at, b.substr(at, pick(20))); break;
        default: b[at] = "{}[],:\"\\ 0an"[pick(13)]; break;
        }
    }
    static std::string join(std::vector<std::string> const& v) {
        std::string s;
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
        return s;
    }

    std::mt19937 rng_;
    bool clean_ = false; // this body's items are valid
};
} // namespace

BOOST_AUTO_TEST_SUITE(api_json)

BOOST_AUTO_TEST_CASE(telemetry_is_plain_decimal) {
    std::string out;
    cleori::encode_telemetry({at("2026-11-26T16:17:20Z"), -42.5_kW, 63.2_pct}, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:17:20.000Z","power":-42.5,"soc":63.2})");

    out.clear();
    cleori::encode_telemetry({at("2026-11-26T16:17:20Z"), cleori::kilowatts{123456.0}, 100.0_pct}, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:17:20.000Z","power":123456,"soc":100})");

    out.clear();
    cleori::encode_telemetry({at("2026-11-26T16:17:20Z"), cleori::kilowatts{0.001}, std::nullopt}, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:17:20.000Z","power":0.001})");

    out.clear();
    cleori::encode_telemetry({at("2026-11-26T16:17:20Z"), cleori::kilowatts{1e-300}, std::nullopt}, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:17:20.000Z","power":0})");
}

BOOST_AUTO_TEST_CASE(partial_samples_omit_the_missing_value) {
    std::string out;
    cleori::encode_telemetry({at("2026-11-26T16:17:20Z"), std::nullopt, 55.0_pct}, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:17:20.000Z","soc":55})");
}

BOOST_AUTO_TEST_CASE(batch_is_an_array_in_order) {
    std::vector<cleori::telemetry_sample> batch{{at("2026-11-26T16:17:20Z"), 1.0_kW, std::nullopt},
                                                {at("2026-11-26T16:17:25Z"), 2.0_kW, std::nullopt}};
    std::string out;
    cleori::encode_telemetry(std::span<cleori::telemetry_sample const>(batch), out);
    BOOST_TEST(out == R"([{"time":"2026-11-26T16:17:20.000Z","power":1},{"time":"2026-11-26T16:17:25.000Z","power":2}])");
    auto back = cleori::decode_telemetry(out);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((*back == batch));
}

BOOST_AUTO_TEST_CASE(make_sample_keeps_only_valid_measurements) {
    auto const t = at("2026-11-26T16:17:20Z");
    auto s = cleori::make_sample(t, {cleori::kilowatts{std::numeric_limits<double>::quiet_NaN()}, 50.0_pct});
    BOOST_TEST_REQUIRE(s.has_value());
    BOOST_TEST(!s->power.has_value());
    BOOST_TEST(s->soc->in_pct() == 50.0);
    s = cleori::make_sample(t, {10.0_kW, 140.0_pct});
    BOOST_TEST_REQUIRE(s.has_value());
    BOOST_TEST(s->power->in_kw() == 10.0);
    BOOST_TEST(!s->soc.has_value());
    s = cleori::make_sample(t, {std::nullopt, std::nullopt});
    BOOST_TEST((s.error() == make_error_code(error::sample_without_measurement)));
    s = cleori::make_sample(t, {cleori::kilowatts{5e6}, std::nullopt});
    BOOST_TEST((s.error() == make_error_code(error::sample_without_measurement)));
}

BOOST_AUTO_TEST_CASE(telemetry_decode_is_strict) {
    struct bad {
        const char* body;
        error code;
        const char* why;
    };
    const bad cases[] = {
        {R"({"time":"2026-11-26T16:17:20Z"})", error::sample_without_measurement,
         "sample 0: telemetry sample carries neither power nor soc"},
        {R"({"power":1})", error::json_missing_field, "sample 0: field 'time': required JSON field is missing"},
        {R"({"time":"2026-11-26T16:17:20","power":1})", error::timestamp_missing_zone, nullptr},
        {R"({"time":"2026-11-26T16:17:20Z","power":"1"})", error::json_wrong_type,
         "sample 0: field 'power': JSON value has the wrong type"},
        {R"({"time":"2026-11-26T16:17:20Z","soc":101})", error::json_value_out_of_range,
         "sample 0: field 'soc': number is outside the accepted range"},
        {R"([{"time":"2026-11-26T16:17:20Z","soc":1},{"time":"2026-11-26T16:17:25Z"}])",
         error::sample_without_measurement, "sample 1: telemetry sample carries neither power nor soc"},
        {R"([])", error::sample_without_measurement, "empty array: no samples"},
        {R"([1])", error::json_wrong_type, "sample 0: not a JSON object"},
        {R"({"time":)", error::json_malformed, "malformed JSON"},
    };
    for (auto const& c : cases) {
        std::string why;
        auto r = cleori::decode_telemetry(c.body, &why);
        BOOST_TEST_REQUIRE(!r.has_value(), c.body);
        BOOST_TEST(r.error() == make_error_code(c.code), c.body);
        if (c.why) BOOST_TEST(why == c.why);
    }
}

BOOST_AUTO_TEST_CASE(activation_page_in_envelope) {
    std::string const body = R"({"data":[)" + activation_json(R"(,"type":"direct","created_at":"2026-11-26T16:18:00Z")") +
                             R"(],"pagination":{"limit":100,"offset":0,"total":1}})";
    auto page = cleori::decode_activation_page(body);
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST(page->rejected.empty());
    auto const& a = page->activations[0];
    BOOST_TEST(a.id == "a-1");
    BOOST_TEST((a.direction == cleori::mfrr_direction::up));
    BOOST_TEST(a.power.in_kw() == 80.0);
    BOOST_TEST(a.setpoint().in_kw() == -80.0);
    BOOST_TEST((a.start_time == at("2026-11-26T16:20:00Z")));
    BOOST_TEST((a.end_time == at("2026-11-26T16:35:00Z")));
    BOOST_TEST((a.type == cleori::activation_type::direct));
    BOOST_TEST((a.status == cleori::activation_status::pending));
    BOOST_TEST((a.created_at == at("2026-11-26T16:18:00Z")));
    BOOST_TEST_REQUIRE(page->page.has_value());
    BOOST_TEST(page->page->limit == 100u);
    BOOST_TEST(page->page->total == 1u);
}

BOOST_AUTO_TEST_CASE(bare_array_and_bare_object) {
    auto page = cleori::decode_activation_page("[" + activation_json("") + "]");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->activations.size() == 1u);
    BOOST_TEST(!page->page.has_value());
    page = cleori::decode_activation_page(activation_json(""));
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->activations.size() == 1u);
    page = cleori::decode_activation_page(R"({"data":[]})");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->activations.empty());
}

BOOST_AUTO_TEST_CASE(tolerant_of_unknown_fields_and_nulls) {
    auto page = cleori::decode_activation_page(
        "[" + activation_json(R"(,"type":null,"market":"EE","nested":{"deep":[1,2,3]})") + "]");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST(!page->activations[0].type.has_value());
}

BOOST_AUTO_TEST_CASE(down_means_charge) {
    auto page = cleori::decode_activation_page(R"([{"id":"d","direction":"down","power":60.5,)"
                                               R"("start_time":"2026-11-26T16:20:00Z","status":"active"}])");
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST(page->activations[0].setpoint().in_kw() == 60.5);
    BOOST_TEST(!page->activations[0].end_time.has_value());
}

BOOST_AUTO_TEST_CASE(one_bad_activation_does_not_spoil_the_poll) {
    struct bad {
        std::string item;
        std::string id;
        std::string reason;
    };
    const bad cases[] = {
        {activation_json(R"(,"direction":"sideways")"), "a-1", "field 'direction': unknown enumeration value"},
        {activation_json(R"(,"status":"paused")"), "a-1", "field 'status': unknown enumeration value"},
        {activation_json(R"(,"type":"weekly")"), "a-1", "field 'type': unknown enumeration value"},
        {activation_json(R"(,"power":-5)"), "a-1", "field 'power': must not be negative (direction gives the sign)"},
        {activation_json(R"(,"power":"80")"), "a-1", "field 'power': JSON value has the wrong type"},
        {activation_json(R"(,"power":1e300)"), "a-1", "field 'power': number is outside the accepted range"},
        {activation_json(R"(,"end_time":"2026-11-26T16:19:00Z")"), "a-1",
         "field 'end_time': activation end_time is not after start_time"},
        {activation_json(R"(,"end_time":"2026-11-26T16:20:00Z")"), "a-1",
         "field 'end_time': activation end_time is not after start_time"},
        {activation_json(R"(,"start_time":"2026-02-30T16:20:00Z")"), "a-1",
         "field 'start_time': invalid date in RFC 3339 timestamp (month, or day of month)"},
        {activation_json(R"(,"start_time":1764174000)"), "a-1", "field 'start_time': JSON value has the wrong type"},
        {activation_json(R"(,"id":"")"), "", "field 'id': must not be empty"},
        {activation_json(R"(,"id":42)"), "", "field 'id': JSON value has the wrong type"},
        {R"({"direction":"up","power":1,"start_time":"2026-11-26T16:20:00Z","status":"pending"})", "",
         "field 'id': required JSON field is missing"},
        {R"({"id":"x","power":1,"start_time":"2026-11-26T16:20:00Z","status":"pending"})", "x",
         "field 'direction': required JSON field is missing"},
        {R"("just a string")", "", "item 0: not a JSON object"},
    };
    for (auto const& c : cases) {
        // duplicate keys: Boost.JSON keeps the last, so the override above wins
        std::string const body = "[" + c.item + "," +
                                 R"({"id":"good","direction":"down","power":10,"start_time":"2026-11-26T16:20:00Z","status":"pending"}])";
        auto page = cleori::decode_activation_page(body);
        BOOST_TEST_REQUIRE(page.has_value(), c.item);
        BOOST_TEST_REQUIRE(page->activations.size() == 1u, c.item);
        BOOST_TEST(page->activations[0].id == "good");
        BOOST_TEST_REQUIRE(page->rejected.size() == 1u, c.item);
        BOOST_TEST(page->rejected[0].id == c.id);
        BOOST_TEST(page->rejected[0].reason == c.reason);
    }
}

BOOST_AUTO_TEST_CASE(cancellation_forms) {
    auto page = cleori::decode_activation_page("[" + activation_json(R"(,"status":"cancelled")") + "," +
                                               activation_json(R"(,"id":"z","power":0)") + "]");
    BOOST_TEST_REQUIRE(page->activations.size() == 2u);
    BOOST_TEST(page->activations[0].is_cancellation());
    BOOST_TEST(page->activations[1].is_cancellation());
    BOOST_TEST(!cleori::decode_activation_page(activation_json(""))->activations[0].is_cancellation());
}

BOOST_AUTO_TEST_CASE(unusable_bodies_are_errors) {
    struct bad {
        std::string body;
        error code;
    };
    std::string deep(200, '[');
    deep += std::string(200, ']');
    const bad cases[] = {
        {"", error::json_malformed},
        {"{", error::json_malformed},
        {"[{]", error::json_malformed},
        {"nul", error::json_malformed},
        {R"({"data":[]} trailing)", error::json_malformed},
        {"42", error::json_wrong_type},
        {R"("text")", error::json_wrong_type},
        {R"({"data":"x"})", error::json_wrong_type},
        {deep, error::json_too_deep},
        {std::string(cleori::api_profile_v1::max_body_bytes + 1, ' '), error::body_too_large},
        {std::string("[\xff\xfe]"), error::json_malformed},
    };
    for (auto const& c : cases) {
        auto page = cleori::decode_activation_page(c.body);
        BOOST_TEST_REQUIRE(!page.has_value(), c.body.substr(0, 40));
        BOOST_TEST(page.error() == make_error_code(c.code), c.body.substr(0, 40));
    }
}

BOOST_AUTO_TEST_CASE(activation_round_trip) {
    cleori::activation a{.id = "id \"quoted\" \\ \n\x01",
                         .direction = cleori::mfrr_direction::down,
                         .power = 55.25_kW,
                         .start_time = at("2026-11-26T16:20:00.123456Z"),
                         .end_time = at("2026-11-26T16:35:00Z"),
                         .type = cleori::activation_type::scheduled,
                         .status = cleori::activation_status::active,
                         .created_at = std::nullopt};
    std::string out;
    cleori::encode_activation(a, out);
    auto page = cleori::decode_activation_page(out);
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST((page->activations[0] == a));
}

BOOST_AUTO_TEST_CASE(confirmation_encoding) {
    std::string out;
    cleori::encode_confirmation({at("2026-11-26T16:20:00.5Z"), cleori::confirmation_status::executing, std::nullopt,
                                 -80.0_kW},
                                out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:20:00.500Z","status":"executing","setpoint":-80})");
    out.clear();
    cleori::confirmation const refused{at("2026-11-26T16:20:00Z"), cleori::confirmation_status::unavailable,
                                       "insufficient energy: need 25 kWh, have 10 kWh", std::nullopt};
    cleori::encode_confirmation(refused, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:20:00.000Z","status":"unavailable",)"
                      R"("reason":"insufficient energy: need 25 kWh, have 10 kWh"})");
    auto back = cleori::decode_confirmation(out);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((*back == refused));
}

BOOST_AUTO_TEST_CASE(text_that_needs_escapes_is_escaped_and_reads_back) {
    std::string out;
    cleori::confirmation const refused{at("2026-11-26T16:20:00Z"), cleori::confirmation_status::unavailable,
                                       "say \"no\" \\ line\nbell\x07", std::nullopt};
    cleori::encode_confirmation(refused, out);
    BOOST_TEST(out == R"({"time":"2026-11-26T16:20:00.000Z","status":"unavailable",)"
                      R"("reason":"say \"no\" \\ line\nbell\u0007"})");
    auto back = cleori::decode_confirmation(out);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((*back == refused));
}

// Keys are matched word by word: every length from 0 to 24, a difference at
// every position, and texts of different lengths.
BOOST_AUTO_TEST_CASE(key_comparison_finds_a_difference_anywhere) {
    static_assert(cleori::detail::same_text("start_time", "start_time"));
    static_assert(!cleori::detail::same_text("start_time", "start_tima"));
    std::string const base = "abcdefghijklmnopqrstuvwxyz";
    for (std::size_t n = 0; n <= 24; ++n) {
        std::string const a = base.substr(0, n);
        std::string b = a; // a copy elsewhere in memory
        BOOST_TEST(cleori::detail::same_text(a, b), n);
        BOOST_TEST(!cleori::detail::same_text(a, base.substr(0, n + 1)), n);
        for (std::size_t i = 0; i < n; ++i) {
            b[i] = 'A';
            BOOST_TEST(!cleori::detail::same_text(a, b), n << ' ' << i);
            b[i] = a[i];
        }
    }
}

BOOST_AUTO_TEST_CASE(error_envelope) {
    auto e = cleori::decode_api_error(R"({"error":{"code":"invalid_power","message":"power must be a number","details":[1]}})");
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->code == "invalid_power");
    BOOST_TEST(e->message == "power must be a number");
    BOOST_TEST(!cleori::decode_api_error("<html>502 Bad Gateway</html>").has_value());
    BOOST_TEST(!cleori::decode_api_error(R"({"error":"flat"})").has_value());
    BOOST_TEST(!cleori::decode_api_error("").has_value());
}

// The page is read as the parser streams it; a tree gives the same reading.
// Each body's outcome (error, activations, rejections and their reasons,
// pagination) must match the tree's exactly; also when it is read into the
// storage of the page before it (as the agent reads each poll into the
// last), where nothing of that page may show through.
BOOST_AUTO_TEST_CASE(streamed_reading_agrees_with_the_tree_on_every_body) {
    page_generator gen(20261202);
    std::size_t accepted = 0, rejected = 0, failed = 0, paged = 0, reused = 0;
    cleori::activation_page previous;
    for (int i = 0; i < 20000; ++i) {
        std::string const body = gen.body();
        auto const streamed = cleori::decode_activation_page(body);
        auto const tree = cleori::testing::page_by_tree(body);
        std::string why;
        BOOST_TEST_REQUIRE(cleori::testing::same_reading(streamed, tree, &why), why << " in " << body.substr(0, 2000));
        reused += previous.activations.empty() ? 0 : 1;
        auto recycled = cleori::decode_activation_page(body, std::move(previous));
        BOOST_TEST_REQUIRE(cleori::testing::same_reading(recycled, tree, &why),
                           "read into the last page's storage: " << why << " in " << body.substr(0, 2000));
        previous = recycled ? std::move(*recycled) : cleori::activation_page{};
        if (!streamed) {
            ++failed;
            continue;
        }
        accepted += streamed->activations.size();
        rejected += streamed->rejected.size();
        paged += streamed->page.has_value();
    }
    // The bodies cover every outcome, each many times.
    BOOST_TEST(accepted > 1000u);
    BOOST_TEST(rejected > 5000u);
    BOOST_TEST(failed > 1000u);
    BOOST_TEST(paged > 1000u);
    BOOST_TEST(reused > 1000u);
    BOOST_TEST_MESSAGE("accepted " << accepted << ", rejected " << rejected << ", failed " << failed
                                   << ", with pagination " << paged);
}

BOOST_AUTO_TEST_CASE(duplicate_keys_the_last_counts_also_for_the_envelope) {
    auto page = cleori::decode_activation_page(R"({"data":[)" + activation_json("") + R"(],"data":[)" +
                                               activation_json(R"(,"id":"b-2","id":"c-3")") +
                                               R"(],"pagination":{"total":7},"pagination":"none"})");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST(page->activations[0].id == "c-3");
    BOOST_TEST(!page->page.has_value());
    // Activation fields at the root count only where there is no data key,
    // whichever comes first.
    page = cleori::decode_activation_page(R"({"id":"root","direction":"up","power":1,)"
                                          R"("start_time":"2026-11-26T16:20:00Z","status":"active","data":[]})");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->activations.empty());
    BOOST_TEST(page->rejected.empty());
    // A trailing newline is whitespace, not extra data.
    BOOST_TEST(cleori::decode_activation_page(R"({"data":[]})" "\r\n").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
