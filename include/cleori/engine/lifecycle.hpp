#pragma once
/// @file
/// @brief The activation lifecycle as pure functions: feasibility, setpoint
/// clamping, and which activations run at a given instant. The agent calls
/// these; tests call them with any time they like.
///
/// - `assess(activation, ratings, soc, committed, now)` — can the battery
///   deliver it? Power is clamped to the device's limits; the energy over the
///   window must fit between the SoC and the operating window (after the
///   efficiency of the direction and energy already promised to other
///   activations). The refusal text names the numbers.
/// - `step(activations, now, grace)` — advances phases at `now` (scheduled →
///   executing at `start_time`; executing → ended at `end_time`, on
///   cancellation, or `grace` after the last poll that saw an open-ended
///   activation), and returns the summed setpoint and the next instant
///   anything changes.

#include <cleori/api/activation.hpp>
#include <cleori/device/ratings.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace cleori {

/// @brief Where an activation is in its life, as the agent sees it.
enum class activation_phase {
    scheduled, ///< accepted, start_time not reached
    executing, ///< setpoint applied
    ended,     ///< over: see `end_reason`
    refused,   ///< reported unavailable, never executed
};

/// @brief Why an activation stopped.
enum class end_reason {
    completed,      ///< end_time reached
    cancelled,      ///< Cleori cancelled it (status or 0 kW)
    lost_contact,   ///< open-ended, and no poll has seen it for the grace period
    shutdown,       ///< the agent stopped
};

/// @brief The name of a phase or reason, for logs.
constexpr std::string_view to_string(activation_phase p) noexcept {
    switch (p) {
    case activation_phase::scheduled: return "scheduled";
    case activation_phase::executing: return "executing";
    case activation_phase::ended: return "ended";
    case activation_phase::refused: return "refused";
    }
    return "?";
}
constexpr std::string_view to_string(end_reason r) noexcept {
    switch (r) {
    case end_reason::completed: return "completed";
    case end_reason::cancelled: return "cancelled";
    case end_reason::lost_contact: return "ended locally (no contact)";
    case end_reason::shutdown: return "shutdown";
    }
    return "?";
}

/// @brief An activation the agent knows, with its local state.
struct tracked_activation {
    activation a;
    activation_phase phase = activation_phase::scheduled;
    kilowatts setpoint{};           ///< signed and clamped to the device's limits
    timestamp last_seen{};          ///< wall time of the last poll that carried it
    std::optional<end_reason> ended{};
    bool confirmed = false;         ///< Cleori acknowledged the confirmation
};

/// @brief The verdict on one activation.
struct assessment {
    bool feasible = false;
    kilowatts setpoint{};    ///< what will be commanded (clamped), when feasible
    std::string reason{};    ///< why not, when not feasible (sent to Cleori)
};

/// @brief The end of an activation's window as the agent plans it.
inline timestamp planned_end(activation const& a, std::chrono::minutes open_ended) noexcept {
    return a.end_time ? *a.end_time : a.start_time + open_ended;
}

/// @brief Decides whether `a` can be delivered from state of charge `soc`.
/// @param committed_up energy other accepted activations will still discharge
/// @param committed_down energy other accepted activations will still charge
/// @param open_ended the window assumed for an activation without end_time
inline assessment assess(activation const& a, battery_ratings const& r, std::optional<percent> soc,
                         kilowatt_hours committed_up, kilowatt_hours committed_down, timestamp now,
                         std::chrono::minutes open_ended) {
    assessment out;
    kilowatts const want = a.setpoint();
    out.setpoint = clamp_setpoint(want, r);
    if (!soc) {
        out.reason = "state of charge unknown: the device has not reported soc";
        return out;
    }
    auto const from = std::max(a.start_time, now);
    auto const to = planned_end(a, open_ended);
    if (to <= from) {
        out.reason = "the activation window is already over";
        return out;
    }
    auto const hours = std::chrono::duration<double, std::ratio<3600>>(to - from);
    kilowatt_hours const need = abs(out.setpoint) * hours;
    // Charge and discharge share the round-trip loss equally.
    double const eta = std::sqrt(std::clamp(r.round_trip_efficiency.in_pct(), 1.0, 100.0) / 100.0);
    char buf[256];
    if (out.setpoint < kilowatts{0.0}) {
        kilowatt_hours const avail = r.capacity * (*soc - r.min_soc) * eta - committed_up;
        if (need.in_kwh() > avail.in_kwh() + 1e-9) {
            std::snprintf(buf, sizeof buf,
                          "insufficient energy: discharging %.1f kW for %.0f s needs %.1f kWh; %.1f kWh is available "
                          "above min_soc %.1f %% (soc %.1f %%)",
                          -out.setpoint.in_kw(), hours.count() * 3600.0, need.in_kwh(), std::max(avail.in_kwh(), 0.0),
                          r.min_soc.in_pct(), soc->in_pct());
            out.reason = buf;
            return out;
        }
    } else {
        kilowatt_hours const room = r.capacity * (r.max_soc - *soc) / eta - committed_down;
        if (need.in_kwh() > room.in_kwh() + 1e-9) {
            std::snprintf(buf, sizeof buf,
                          "insufficient headroom: charging %.1f kW for %.0f s needs %.1f kWh; %.1f kWh fits below "
                          "max_soc %.1f %% (soc %.1f %%)",
                          out.setpoint.in_kw(), hours.count() * 3600.0, need.in_kwh(), std::max(room.in_kwh(), 0.0),
                          r.max_soc.in_pct(), soc->in_pct());
            out.reason = buf;
            return out;
        }
    }
    out.feasible = true;
    return out;
}

/// @brief Energy the accepted (scheduled or executing) activations will still
/// move from `now`: {discharge, charge}.
inline std::pair<kilowatt_hours, kilowatt_hours> committed_energy(std::vector<tracked_activation> const& all,
                                                                  timestamp now, std::chrono::minutes open_ended) {
    kilowatt_hours up{}, down{};
    for (auto const& t : all) {
        if (t.phase != activation_phase::scheduled && t.phase != activation_phase::executing) continue;
        auto const from = std::max(t.a.start_time, now);
        auto const to = planned_end(t.a, open_ended);
        if (to <= from) continue;
        kilowatt_hours const e = abs(t.setpoint) * std::chrono::duration<double, std::ratio<3600>>(to - from);
        (t.setpoint < kilowatts{0.0} ? up : down) = (t.setpoint < kilowatts{0.0} ? up : down) + e;
    }
    return {up, down};
}

/// @brief What `step` found.
struct step_result {
    std::vector<std::size_t> started{};  ///< indices that began executing
    std::vector<std::size_t> ended{};    ///< indices that ended (see their `ended`)
    kilowatts target{};                  ///< summed setpoint of executing activations, clamped
    std::optional<timestamp> next{};     ///< the next instant a phase changes
};

/// @brief Advances every activation to `now` and sums the setpoints.
/// @param grace how long an open-ended activation runs without being seen by a poll
inline step_result step(std::vector<tracked_activation>& all, timestamp now, battery_ratings const& r,
                        std::chrono::minutes grace) {
    step_result out;
    auto consider = [&](timestamp t) {
        if (t > now && (!out.next || t < *out.next)) out.next = t;
    };
    for (std::size_t i = 0; i < all.size(); ++i) {
        auto& t = all[i];
        if (t.phase == activation_phase::ended || t.phase == activation_phase::refused) continue;
        std::optional<end_reason> why;
        if (t.a.is_cancellation()) why = end_reason::cancelled;
        else if (t.a.end_time && now >= *t.a.end_time) why = end_reason::completed;
        else if (!t.a.end_time && now >= t.last_seen + grace && now >= t.a.start_time) why = end_reason::lost_contact;
        if (why) { // also before its start: a cancelled or expired activation never runs
            t.phase = activation_phase::ended;
            t.ended = why;
            out.ended.push_back(i);
            continue;
        }
        if (t.phase == activation_phase::scheduled && now >= t.a.start_time) {
            t.phase = activation_phase::executing;
            out.started.push_back(i);
        }
        if (t.phase == activation_phase::scheduled) consider(t.a.start_time);
        if (t.a.end_time) consider(*t.a.end_time);
        else consider(t.last_seen + grace);
        if (t.phase == activation_phase::executing) out.target = out.target + t.setpoint;
    }
    out.target = clamp_setpoint(out.target, r);
    return out;
}

} // namespace cleori
