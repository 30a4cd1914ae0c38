#pragma once
/// @file
/// @brief The simulator's compliance checks: energy per activation, the
/// market-wide rules with PASS/FAIL, and the time series as CSV.
///
/// Energy of an activation, over its window [start, end) — the end is the
/// earliest of its end time, its cancellation and an `unavailable` sent after
/// `executing` (the agent stopped at a limit and said so):
/// - requested: the integral of the requested power (modifications take
///   effect when they are made);
/// - delivered: the integral of the measured power in the telemetry, linear
///   between samples. While several activations are in force, each is
///   credited with its request plus a share of (measured − Σ requests) in
///   proportion to |its request| — in one direction, simply measured power in
///   proportion to the requests; the agent's audit trail uses the same rule.
/// - ramp allowance: after every change of request (start, modification,
///   end, cancellation) the device may still be moving until the agent knew
///   of the change (its first poll after it; a start known in advance counts
///   from the start), plus the response time, plus the wait for the next
///   sample that can show it. For each such ramp inside the window the
///   allowance is the activation's requested power × the ramp's length.
///
/// Verdict: `pass` when |delivered − requested| ≤ allowance + tolerance ×
/// |requested| (tolerance 2 % by default); `refused` when the first
/// confirmation was `unavailable` (Cleori knew before it ran: not a failure);
/// `refused-late` (refused after its start: owed until the refusal);
/// `released` (pass or fail over the shortened window); `partial` (confirmed
/// `executing` at less than requested: owed the request capped at the
/// confirmed power; `executing` at 0 kW fails); `running` (judged up to now);
/// `unconfirmed` (it ran and was never confirmed: a failure); `scheduled` (not
/// started yet). Each of these kinds becomes `<kind>-fail` when the energy is
/// off. Intervals where no power sample lies within the telemetry-gap limit
/// credit nothing.

#include <cleori/api/activation.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace cleori::sim {

/// @brief What the verdicts are judged against. The defaults are Cleori's
/// rules (telemetry at least every 10 s, polls at least every minute) and the
/// mFRR device minimum (response within 2 s).
struct compliance_rules {
    /// The ramp allowance's response time: the device's own when known
    /// (`cleori-sim --response-time`), else the 2 s mFRR maximum.
    std::chrono::milliseconds response_time{2000};
    double energy_tolerance = 0.02;                        ///< of the requested energy, after the ramp allowance
    std::chrono::milliseconds max_telemetry_gap{10000};    ///< between sample times (back-fill closes gaps), and from the last to the report
    std::chrono::milliseconds max_poll_gap{60000};         ///< between poll attempts, spoiled ones (faults, outages) included, and from the last to the report
    std::chrono::milliseconds max_confirmation_delay{30000}; ///< after the agent could act; Cleori forwards within ~2 min
    double baseline_kw = 1.0;                              ///< |power| at or below this is baseline
};

/// @brief What the simulator remembers of one activation.
struct activation_history {
    activation a{};
    std::string asset{};
    timestamp created_wall{};
    std::optional<mono_time> first_served{};
    std::optional<timestamp> first_served_wall{};
    std::size_t confirmations = 0;
    std::optional<mono_time> confirmed_at{};
    std::optional<timestamp> confirmed_wall{};
    std::optional<mono_time> actionable_at{}; ///< later of first served and start time
    mono_time::duration unreachable{};        ///< outages between actionable and confirmed (excused)
    std::optional<confirmation> first_confirmation{};
    std::optional<timestamp> cancelled_wall{};
    std::optional<timestamp> released_wall{}; ///< `unavailable` after `executing`
    std::string release_reason{};
    /// Signed requested kW (Cleori's sign) in force from each time; a later
    /// entry overrides earlier ones from its time on.
    std::vector<std::pair<timestamp, double>> requested{};
    std::vector<timestamp> modified_walls{};

    /// Records a modification made at `wall` (the activation already changed).
    void changed(timestamp wall) {
        requested.push_back({std::max(wall, a.start_time), a.setpoint().in_kw()});
        modified_walls.push_back(wall);
    }
    /// The requested power at `t` inside the window (as known at `now`), else 0.
    [[nodiscard]] double requested_at(timestamp t, timestamp now) const {
        if (t < a.start_time || t >= end_of(now)) return 0.0;
        double v = 0.0;
        for (auto const& [from, kw] : requested)
            if (from <= t) v = kw;
        return v;
    }
    /// The end of the window as known at `now` (open-ended: `now`).
    [[nodiscard]] timestamp end_of(timestamp now) const {
        timestamp e = a.end_time.value_or(std::max(now, a.start_time));
        if (cancelled_wall) e = std::min(e, std::max(*cancelled_wall, a.start_time));
        if (released_wall) e = std::min(e, std::max(*released_wall, a.start_time));
        if (late_refusal()) e = std::min(e, std::max(*confirmed_wall, a.start_time));
        return e;
    }
    /// Refused before its start: Cleori knew in time, nothing was owed.
    [[nodiscard]] bool refused() const {
        return first_confirmation && first_confirmation->status == confirmation_status::unavailable &&
               (!confirmed_wall || *confirmed_wall <= a.start_time);
    }
    /// Refused after its start (the device failed as it began): owed until the refusal.
    [[nodiscard]] bool late_refusal() const {
        return first_confirmation && first_confirmation->status == confirmation_status::unavailable && confirmed_wall &&
               *confirmed_wall > a.start_time;
    }
};

/// @brief One asset's run, as the report reads it.
struct asset_history {
    std::string name;
    std::span<telemetry_sample const> samples; ///< in arrival order
    std::span<timestamp const> polls;          ///< wall times of successful polls, in order
    std::vector<activation_history const*> activations;
};

/// @brief The energy and verdict of one activation.
struct activation_energy {
    std::string id;
    std::string direction;
    std::string status;
    double requested_kw = 0;  ///< as last requested (signed)
    timestamp start{}, end{}; ///< the window judged
    double requested_kwh = 0, delivered_kwh = 0, allowance_kwh = 0;
    std::optional<double> ratio{};
    std::string verdict;      ///< pass, fail, refused, released(-fail), partial(-fail), unconfirmed, scheduled
    bool pass = true;
    std::size_t confirmations = 0;
    std::optional<double> confirmation_delay_s{};
    std::optional<double> confirmed_setpoint_kw{};
    std::optional<std::string> refusal{};
};

/// @brief Everything the rules need from one asset.
struct asset_assessment {
    std::vector<activation_energy> activations;
    std::size_t outside_windows = 0; ///< samples away from baseline outside every window and its end ramp
    std::size_t baseline_misses = 0; ///< ends after which the first settled sample was not at baseline
    double max_confirmation_delay_s = 0;
    std::string slowest_confirmation{}; ///< the activation with that delay
};

/// @brief One rule of the summary.
struct rule_result {
    std::string name;
    double value = 0;
    double limit = 0;
    std::string unit;
    bool pass = true;
    std::string where; ///< the asset (and activation) with the worst value
    bool counts = false; ///< a count of failures (assets add up), not a worst value
};

namespace detail {

inline double hours_between(timestamp a, timestamp b) {
    return std::chrono::duration<double, std::ratio<3600>>(b - a).count();
}

// Measured power at t, linear between the samples that have power.
struct power_curve {
    std::vector<std::pair<timestamp, double>> points;
    explicit power_curve(std::span<telemetry_sample const> samples) {
        for (auto const& s : samples)
            if (s.power) points.push_back({s.time, s.power->in_kw()});
        std::sort(points.begin(), points.end());
    }
    [[nodiscard]] bool covers(timestamp t) const {
        return !points.empty() && points.front().first <= t && t <= points.back().first;
    }
    [[nodiscard]] double at(timestamp t) const {
        auto it = std::lower_bound(points.begin(), points.end(), t, [](auto const& p, timestamp x) { return p.first < x; });
        if (it == points.end()) return points.empty() ? 0.0 : points.back().second;
        if (it->first == t || it == points.begin()) return it->second;
        auto prev = std::prev(it);
        double const f = std::chrono::duration<double>(t - prev->first) / std::chrono::duration<double>(it->first - prev->first);
        return prev->second + f * (it->second - prev->second);
    }
    // The span between the power samples around [u, v]: a long one means no
    // measurement there, and nothing is credited.
    [[nodiscard]] mono_time::duration bracket(timestamp u, timestamp v) const {
        auto hi = std::lower_bound(points.begin(), points.end(), v, [](auto const& p, timestamp x) { return p.first < x; });
        auto lo = std::upper_bound(points.begin(), points.end(), u, [](timestamp x, auto const& p) { return x < p.first; });
        if (hi == points.end() || lo == points.begin()) return mono_time::duration::max();
        return std::chrono::duration_cast<mono_time::duration>(hi->first - std::prev(lo)->first);
    }
};

// The first time in `sorted` at or after t; `fallback` when none comes.
inline timestamp first_at_or_after(std::span<timestamp const> sorted, timestamp t, timestamp fallback) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), t);
    return it == sorted.end() ? fallback : *it;
}

} // namespace detail

/// @brief Judges one asset's run at wall time `now`.
inline asset_assessment assess_asset(asset_history const& h, compliance_rules const& rules, timestamp now) {
    using namespace std::chrono;
    asset_assessment out;
    detail::power_curve const curve(h.samples);
    std::vector<timestamp> sample_times;
    for (auto const& smp : h.samples) sample_times.push_back(smp.time);
    std::sort(sample_times.begin(), sample_times.end());
    auto const judged_end = [&](activation_history const& a) { return std::min(a.end_of(now), now); };
    auto const rt = duration_cast<microseconds>(rules.response_time);
    timestamp const far = now + hours(24 * 365);

    // When the agent could know an end: at the end itself, unless a
    // cancellation or a modification told it then (its next poll).
    auto known_end = [&](activation_history const& a, timestamp end) {
        timestamp known = end;
        if (a.cancelled_wall && *a.cancelled_wall <= end) known = detail::first_at_or_after(h.polls, *a.cancelled_wall, far);
        if (!a.modified_walls.empty() && a.modified_walls.back() <= end)
            known = std::max(known, std::min(detail::first_at_or_after(h.polls, a.modified_walls.back(), far), far));
        if (a.late_refusal() || a.released_wall) known = end; // the agent ended it itself
        return known;
    };
    // Ramps: every change of request, with when it settles.
    struct ramp {
        timestamp from, settled;
    };
    std::vector<ramp> ramps;
    auto add_ramp = [&](timestamp c, timestamp known) {
        timestamp const ready = std::max(c, known) + rt;
        ramps.push_back({c, std::max(ready, detail::first_at_or_after(sample_times, ready, ready))});
    };
    for (auto const* a : h.activations) {
        if (!a->first_served_wall || a->refused()) continue;
        add_ramp(a->a.start_time, std::max(a->a.start_time, *a->first_served_wall));
        for (auto m : a->modified_walls) {
            timestamp const eff = std::max(m, a->a.start_time);
            add_ramp(eff, std::max(eff, detail::first_at_or_after(h.polls, m, far)));
        }
        timestamp const end = a->end_of(now);
        if (end < now) add_ramp(end, std::max(end, known_end(*a, end)));
    }

    // In force and executing (refused ones are not delivered): the sum of
    // the requests, and of their magnitudes.
    struct request_sums {
        double net = 0, magnitude = 0;
    };
    auto requests_at = [&](timestamp t) {
        request_sums sums;
        for (auto const* a : h.activations) {
            if (a->refused()) continue;
            double const r = a->requested_at(t, now);
            sums.net += r;
            sums.magnitude += std::abs(r);
        }
        return sums;
    };

    // Breakpoints: sample times and every change of any request.
    std::set<timestamp> cuts;
    for (auto const& [t, p] : curve.points) cuts.insert(t);
    for (auto const* a : h.activations) {
        cuts.insert(a->a.start_time);
        cuts.insert(a->end_of(now));
        for (auto const& [t, kw] : a->requested) cuts.insert(t);
    }

    for (auto const* ap : h.activations) {
        auto const& a = *ap;
        activation_energy e;
        e.id = a.a.id;
        e.direction = a.a.direction == mfrr_direction::up ? "up" : "down";
        e.requested_kw = a.a.setpoint().in_kw();
        e.confirmations = a.confirmations;
        for (auto const& [v, n] : api_profile_v1::status_names)
            if (v == a.a.status) e.status = std::string(n);
        e.start = a.a.start_time;
        e.end = judged_end(a);
        if (a.first_confirmation && a.first_confirmation->setpoint)
            e.confirmed_setpoint_kw = a.first_confirmation->setpoint->in_kw();
        if (a.confirmed_at && a.actionable_at) {
            e.confirmation_delay_s = duration<double>(*a.confirmed_at - *a.actionable_at - a.unreachable).count();
            if (*e.confirmation_delay_s >= out.max_confirmation_delay_s) {
                out.max_confirmation_delay_s = *e.confirmation_delay_s;
                out.slowest_confirmation = e.id;
            }
        }
        if ((a.refused() || a.late_refusal()) && a.first_confirmation->reason) e.refusal = *a.first_confirmation->reason;

        // A confirmation `executing` at less than was then requested caps
        // what is owed at the confirmed power (the agent clamped and said so).
        std::optional<double> cap;
        bool zero_confirmed = false;
        if (a.first_confirmation && a.first_confirmation->status == confirmation_status::executing &&
            a.first_confirmation->setpoint && a.confirmed_wall) {
            double const confirmed = std::abs(a.first_confirmation->setpoint->in_kw());
            double const asked = std::abs(a.requested_at(std::max(*a.confirmed_wall, a.a.start_time), now));
            if (confirmed <= rules.baseline_kw) zero_confirmed = true;
            else if (confirmed < asked - rules.baseline_kw) cap = confirmed;
        }
        double expected_kwh = 0;
        // Requested energy, exactly (piecewise constant).
        std::vector<timestamp> pts;
        for (auto it = cuts.lower_bound(e.start); it != cuts.end() && *it <= e.end; ++it) pts.push_back(*it);
        if (pts.empty() || pts.front() != e.start) pts.insert(pts.begin(), e.start);
        if (pts.back() != e.end) pts.push_back(e.end);
        for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
            auto const u = pts[i], v = pts[i + 1];
            if (v <= u) continue;
            auto const mid = u + (v - u) / 2;
            double const req = a.requested_at(mid, now);
            e.requested_kwh += req * detail::hours_between(u, v);
            expected_kwh += (cap ? std::copysign(std::min(std::abs(req), *cap), req) : req) * detail::hours_between(u, v);
            if (a.refused()) continue;
            auto const sums = requests_at(mid);
            if (sums.magnitude == 0.0 || !curve.covers(u) || !curve.covers(v) || curve.bracket(u, v) > rules.max_telemetry_gap)
                continue;
            // Each gets its request, and the difference between measured and
            // requested is shared by the size of the requests.
            double const measured = (curve.at(u) + curve.at(v)) / 2.0;
            double const mine = req + (measured - sums.net) * std::abs(req) / sums.magnitude;
            e.delivered_kwh += mine * detail::hours_between(u, v);
        }
        for (auto const& r : ramps) {
            timestamp const lo = std::max(r.from, e.start), hi = std::min(r.settled, e.end);
            if (hi <= lo) continue;
            double const before = r.from > e.start ? std::abs(a.requested_at(r.from - microseconds(1), now)) : 0.0;
            double const after = std::abs(a.requested_at(r.from, now));
            e.allowance_kwh += std::max({before, after, std::abs(a.requested_at(lo, now))}) * detail::hours_between(lo, hi);
        }
        if (e.requested_kwh != 0.0 && !a.refused()) e.ratio = e.delivered_kwh / e.requested_kwh;

        if (a.refused()) {
            e.verdict = "refused";
        } else if (zero_confirmed) {
            e.verdict = "fail"; // "executing" at 0 kW is not a way to decline
            e.pass = false;
        } else if (e.start >= now) {
            e.verdict = "scheduled";
        } else if (e.end <= e.start) {
            e.verdict = "pass"; // withdrawn before it began
        } else if (!a.first_confirmation) {
            e.verdict = "unconfirmed";
            e.pass = false;
        } else {
            double const err = std::abs(e.delivered_kwh - expected_kwh);
            double const scale = e.requested_kwh != 0.0 ? std::abs(expected_kwh / e.requested_kwh) : 1.0;
            e.pass = err <= e.allowance_kwh * scale + rules.energy_tolerance * std::abs(expected_kwh) + 1e-9;
            std::string kind = a.late_refusal() ? "refused-late" : a.released_wall ? "released" : cap ? "partial" : "";
            bool const open = !a.a.end_time && !a.cancelled_wall && !a.released_wall;
            if (kind.empty() && (open || a.end_of(now) > now)) kind = "running";
            e.verdict = kind.empty() ? (e.pass ? "pass" : "fail") : (e.pass ? kind : kind + "-fail");
        }
        out.activations.push_back(std::move(e));
    }
    std::sort(out.activations.begin(), out.activations.end(),
              [](activation_energy const& x, activation_energy const& y) { return std::tie(x.start, x.id) < std::tie(y.start, y.id); });

    // Power away from baseline where no window (or its end ramp) explains it.
    auto explained = [&](timestamp t) {
        for (auto const* a : h.activations) {
            if (a->refused()) continue;
            if (t >= a->a.start_time && t < a->end_of(now)) return true;
        }
        for (auto const& r : ramps)
            if (t >= r.from && t <= r.settled) return true;
        return false;
    };
    for (auto const& [t, p] : curve.points)
        if (std::abs(p) > rules.baseline_kw && !explained(t)) ++out.outside_windows;

    // After each end, the first settled sample shows what remains requested.
    for (auto const* a : h.activations) {
        if (a->refused() || !a->first_served_wall) continue;
        timestamp const end = a->end_of(now);
        if (end >= now || end <= a->a.start_time) continue;
        timestamp const ready = std::max(end, known_end(*a, end)) + rt;
        auto it = std::lower_bound(curve.points.begin(), curve.points.end(), ready,
                                   [](auto const& p, timestamp x) { return p.first < x; });
        if (it == curve.points.end()) continue;
        // Less than what remains requested is the energy rule's business;
        // power beyond it (or the wrong way) means the device did not let go.
        double const remains = requests_at(it->first).net, m = it->second;
        bool const beyond = remains == 0.0 ? std::abs(m) > rules.baseline_kw
                                           : (m * remains < 0.0 && std::abs(m) > rules.baseline_kw) ||
                                                 std::abs(m) > std::abs(remains) + rules.baseline_kw;
        if (beyond) {
            // Another change around the same instant is judged by its own ramp.
            bool const busy = std::any_of(ramps.begin(), ramps.end(),
                                          [&](ramp const& r) { return r.from > end && r.from <= it->first; });
            if (!busy) ++out.baseline_misses;
        }
    }
    return out;
}

/// @brief The rules for one asset.
inline std::vector<rule_result> asset_rules(std::string const& asset, asset_assessment const& a, double telemetry_gap_s,
                                            double poll_gap_s, compliance_rules const& rules) {
    auto secs = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; };
    std::vector<rule_result> out;
    out.push_back({"telemetry gap", telemetry_gap_s, secs(rules.max_telemetry_gap), "s",
                   telemetry_gap_s <= secs(rules.max_telemetry_gap), asset});
    out.push_back({"poll gap", poll_gap_s, secs(rules.max_poll_gap), "s", poll_gap_s <= secs(rules.max_poll_gap), asset});
    out.push_back({"confirmation delay", a.max_confirmation_delay_s, secs(rules.max_confirmation_delay), "s",
                   a.max_confirmation_delay_s <= secs(rules.max_confirmation_delay), asset + " " + a.slowest_confirmation});
    std::size_t failing = 0;
    std::string worst;
    double worst_err = -1;
    for (auto const& e : a.activations) {
        if (e.pass) continue;
        ++failing;
        double const err = e.ratio ? std::abs(*e.ratio - 1.0) : 1.0;
        if (err > worst_err) {
            worst_err = err;
            worst = asset + " " + e.id;
        }
    }
    out.push_back({"energy delivered", static_cast<double>(failing), 0, "activations failing", failing == 0,
                   failing ? worst : asset, true});
    out.push_back({"power outside windows", static_cast<double>(a.outside_windows), 0, "samples", a.outside_windows == 0, asset,
                   true});
    out.push_back({"return to baseline", static_cast<double>(a.baseline_misses), 0, "ends missed", a.baseline_misses == 0,
                   asset, true});
    return out;
}

/// @brief Folds one asset's rules into the market's: counts add up, otherwise the worst value wins.
inline void merge_rules(std::vector<rule_result>& into, std::vector<rule_result> const& from) {
    for (auto const& r : from) {
        auto it = std::find_if(into.begin(), into.end(), [&](rule_result const& x) { return x.name == r.name; });
        if (it == into.end()) {
            into.push_back(r);
            continue;
        }
        if (r.counts) {
            it->value += r.value;
            if (!r.pass) it->where = it->pass ? r.where : it->where + ", " + r.where;
        } else if (r.value > it->value) {
            it->value = r.value;
            it->where = r.where;
        }
        it->pass = it->pass && r.pass;
    }
}

inline boost::json::object to_json(activation_energy const& e) {
    boost::json::object o{{"id", e.id},
                          {"direction", e.direction},
                          {"status", e.status},
                          {"requested_kw", e.requested_kw},
                          {"start", to_rfc3339(e.start)},
                          {"end", to_rfc3339(e.end)},
                          {"requested_kwh", e.requested_kwh},
                          {"delivered_kwh", e.delivered_kwh},
                          {"allowance_kwh", e.allowance_kwh},
                          {"verdict", e.verdict},
                          {"pass", e.pass},
                          {"confirmations", e.confirmations}};
    if (e.ratio) o["ratio"] = *e.ratio;
    if (e.confirmation_delay_s) o["confirmation_latency_ms"] = *e.confirmation_delay_s * 1000.0;
    if (e.confirmed_setpoint_kw) o["confirmed_setpoint_kw"] = *e.confirmed_setpoint_kw;
    if (e.refusal) o["refusal"] = *e.refusal;
    return o;
}
inline boost::json::object to_json(rule_result const& r) {
    return {{"rule", r.name}, {"value", r.value}, {"limit", r.limit}, {"unit", r.unit},
            {"pass", r.pass}, {"where", r.where}};
}
inline boost::json::object to_json(compliance_rules const& r) {
    auto s = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; };
    return {{"response_time_s", s(r.response_time)},       {"energy_tolerance", r.energy_tolerance},
            {"max_telemetry_gap_s", s(r.max_telemetry_gap)}, {"max_poll_gap_s", s(r.max_poll_gap)},
            {"max_confirmation_delay_s", s(r.max_confirmation_delay)}, {"baseline_kw", r.baseline_kw}};
}

/// @brief The time series as CSV: one row per sample received, in time order,
/// per asset — `time,asset,requested_kw,confirmed_kw,measured_kw,soc_pct,activations`.
/// `requested_kw` sums the requests in force (refused ones included);
/// `confirmed_kw` sums the setpoints confirmed `executing`, from the
/// confirmation to the end of the window; `activations` lists the ids in
/// force, separated by `;`. Empty cells are values the sample did not carry.
inline std::string write_csv(std::vector<asset_history> const& assets, timestamp now) {
    std::string out = "time,asset,requested_kw,confirmed_kw,measured_kw,soc_pct,activations\n";
    char buf[64];
    auto num = [&](double v) {
        std::snprintf(buf, sizeof buf, "%.3f", v);
        out += buf;
    };
    for (auto const& h : assets) {
        std::vector<telemetry_sample> sorted(h.samples.begin(), h.samples.end());
        std::sort(sorted.begin(), sorted.end(), [](auto const& x, auto const& y) { return x.time < y.time; });
        for (auto const& s : sorted) {
            double req = 0, conf = 0;
            std::string ids;
            for (auto const* a : h.activations) {
                if (s.time < a->a.start_time || s.time >= a->end_of(now)) continue;
                req += a->requested_at(s.time, now);
                if (a->first_confirmation && a->first_confirmation->status == confirmation_status::executing &&
                    a->first_confirmation->setpoint && a->confirmed_wall && s.time >= *a->confirmed_wall)
                    conf += a->first_confirmation->setpoint->in_kw();
                if (!ids.empty()) ids += ';';
                ids += a->a.id;
            }
            out += to_rfc3339(s.time);
            out += ',' + h.name + ',';
            num(req);
            out += ',';
            num(conf);
            out += ',';
            if (s.power) num(s.power->in_kw());
            out += ',';
            if (s.soc) num(s.soc->in_pct());
            out += ',' + ids + '\n';
        }
    }
    return out;
}

} // namespace cleori::sim
