// Micro benchmarks (Google Benchmark): the wire codec and RFC 3339, each next
// to the same work done with nlohmann/json, the baseline a user would reach for.
#include <cleori/api/json.hpp>
#include <cleori/time/rfc3339.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

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
    for (auto _ : st) {
        nlohmann::json j{{"time", cleori::to_rfc3339(t)}, {"power", -42.5}, {"soc", 63.2}};
        auto s = j.dump();
        benchmark::DoNotOptimize(s.data());
    }
}
BENCHMARK(encode_telemetry_nlohmann);

void decode_activations_cleori(benchmark::State& st) {
    auto const body = page_body(static_cast<int>(st.range(0)));
    for (auto _ : st) {
        auto page = cleori::decode_activation_page(body);
        benchmark::DoNotOptimize(page);
    }
}
BENCHMARK(decode_activations_cleori)->Arg(1)->Arg(20);

// The same fields, validated the same way (times parsed, enums checked).
void decode_activations_nlohmann(benchmark::State& st) {
    auto const body = page_body(static_cast<int>(st.range(0)));
    for (auto _ : st) {
        auto doc = nlohmann::json::parse(body);
        std::vector<cleori::activation> out;
        for (auto const& a : doc["data"]) {
            cleori::activation x;
            x.id = a["id"].get<std::string>();
            auto const dir = a["direction"].get<std::string>();
            if (dir != "up" && dir != "down") continue;
            x.direction = dir == "up" ? cleori::mfrr_direction::up : cleori::mfrr_direction::down;
            x.power = cleori::kilowatts{a["power"].get<double>()};
            x.start_time = cleori::parse_rfc3339(a["start_time"].get<std::string>()).value();
            if (a.contains("end_time")) x.end_time = cleori::parse_rfc3339(a["end_time"].get<std::string>()).value();
            out.push_back(std::move(x));
        }
        benchmark::DoNotOptimize(out);
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
