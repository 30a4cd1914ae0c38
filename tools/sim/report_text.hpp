#pragma once
/// @file
/// @brief The compliance report (`basic_market::report()`) as a person reads
/// it: one table of activations with their energies and verdicts, one of the
/// rules with PASS/FAIL, and the summary line. Used by `cleori-sim` and
/// `cleori-market-day`.

#include <boost/json/value.hpp>

#include <cstdio>
#include <functional>
#include <string>

namespace cleori::sim {

/// @brief An extra column for the activation table: its heading, and its cell for one activation.
struct report_column {
    std::string heading;
    std::function<std::string(boost::json::object const& activation)> cell;
};

/// @brief The report as text. `extra` adds a column (e.g. the agent's own energy).
inline std::string readable(boost::json::value const& report, report_column const* extra = nullptr) {
    std::string out;
    char line[512];
    auto fixed = [](double v, int digits) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", digits, v);
        return std::string(buf);
    };
    auto str = [](boost::json::value const& v) { return std::string(v.as_string()); };
    auto const& tol = report.at("tolerances").as_object();
    std::snprintf(line, sizeof line,
                  "== compliance report (energy within %.0f %% after a ramp of the %.1f s response time; "
                  "telemetry gap <= %.0f s; poll gap <= %.0f s)\n",
                  tol.at("energy_tolerance").to_number<double>() * 100, tol.at("response_time_s").to_number<double>(),
                  tol.at("max_telemetry_gap_s").to_number<double>(), tol.at("max_poll_gap_s").to_number<double>());
    out += line;
    for (auto const& av : report.at("assets").as_array()) {
        auto const& a = av.as_object();
        auto num = [&](char const* k) { return a.at(k).to_number<double>(); };
        std::snprintf(line, sizeof line,
                      "%s: %.0f samples (%.0f duplicates), max sample gap %.1f s; %.0f polls, max poll gap %.1f s\n",
                      str(a.at("asset")).c_str(), num("samples_received"), num("duplicate_samples"), num("max_sample_gap_s"),
                      num("polls"), num("max_poll_attempt_gap_s"));
        out += line;
        auto const& acts = a.at("activations").as_array();
        if (acts.empty()) continue;
        std::snprintf(line, sizeof line, "  %-16s %4s %7s %8s %8s %9s %9s %7s %8s  %-12s%s\n", "activation", "dir", "kW",
                      "start", "end", "req kWh", "del kWh", "ratio", "conf ms", "verdict",
                      extra ? (" " + extra->heading).c_str() : "");
        out += line;
        for (auto const& v : acts) {
            auto const& e = v.as_object();
            auto const* ratio = e.if_contains("ratio");
            auto const* lat = e.if_contains("confirmation_latency_ms");
            std::snprintf(line, sizeof line, "  %-16s %4s %7s %8s %8s %9s %9s %7s %8s  %-12s%s\n", str(e.at("id")).c_str(),
                          str(e.at("direction")).c_str(), fixed(e.at("requested_kw").to_number<double>(), 1).c_str(),
                          str(e.at("start")).substr(11, 8).c_str(), str(e.at("end")).substr(11, 8).c_str(),
                          fixed(e.at("requested_kwh").to_number<double>(), 2).c_str(),
                          fixed(e.at("delivered_kwh").to_number<double>(), 2).c_str(),
                          ratio ? fixed(ratio->to_number<double>(), 3).c_str() : "-",
                          lat ? fixed(lat->to_number<double>(), 0).c_str() : "-", str(e.at("verdict")).c_str(),
                          extra ? (" " + extra->cell(e)).c_str() : "");
            out += line;
            if (auto const* why = e.if_contains("refusal")) out += "      refused: " + str(*why) + "\n";
        }
    }
    auto const& late = report.at("telemetry_lateness_ms");
    std::snprintf(line, sizeof line,
                  "telemetry arrived %.1f ms after its time at p50, %.1f ms at p99 (back-filled samples included)\n",
                  late.at("p50").to_number<double>(), late.at("p99").to_number<double>());
    out += line;
    std::snprintf(line, sizeof line, "\n  %-24s %12s %12s  %s\n", "rule", "value", "limit", "result");
    out += line;
    for (auto const& v : report.at("rules").as_array()) {
        auto const& r = v.as_object();
        std::string const unit = str(r.at("unit"));
        bool const pass = r.at("pass").as_bool();
        std::snprintf(line, sizeof line, "  %-24s %12s %12s  %s%s\n", str(r.at("rule")).c_str(),
                      (fixed(r.at("value").to_number<double>(), unit == "s" ? 1 : 0) + (unit == "s" ? " s" : "")).c_str(),
                      (fixed(r.at("limit").to_number<double>(), 0) + (unit == "s" ? " s" : "")).c_str(),
                      pass ? "PASS" : "FAIL", pass ? "" : ("  (" + str(r.at("where")) + ")").c_str());
        out += line;
    }
    for (auto const& e : report.at("control_errors").as_array()) out += "control error: " + str(e) + "\n";
    if (report.at("rules").as_array().empty()) out += "  (no asset ran: nothing to judge)\n";
    return out;
}

} // namespace cleori::sim
