#pragma once
/// @file
/// @brief The activation lifecycle's vocabulary and its pure arithmetic:
/// phases, end reasons, the record the agent keeps per activation, and the
/// energy and power checks `cleori::agent_core` decides with. Tests call
/// these with any numbers and times they like.
///
/// - `project_soc(soc, now, commitments, ratings)` — walks the state of
///   charge forward through every commitment (summed where they overlap,
///   each direction with its share of the round-trip loss) and reports the
///   lowest and highest state of charge reached and when the window
///   `[min_soc, max_soc]` would first be left.
/// - `power_share(requested, from, to, others, ratings)` — how much of a
///   request fits beside what is already committed over its window.
///
/// @code
/// std::vector<cleori::energy_commitment> c{{-80.0_kW, t0, t0 + 30min}};
/// auto p = cleori::project_soc(40.0_pct, t0, c, ratings);
/// if (!p.ok) log("would reach ", p.extreme, " at ", to_rfc3339(p.violation_at));
/// @endcode

#include <cleori/api/activation.hpp>
#include <cleori/device/ratings.hpp>

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace cleori {

/// @brief Where an activation is in its life, as the agent sees it.
enum class activation_phase {
    scheduled, ///< accepted, start_time not reached
    starting,  ///< start reached; the device has not yet accepted a setpoint containing its share
    executing, ///< the device accepted a setpoint containing its share
    ended,     ///< over: see `end_reason`
    refused,   ///< reported unavailable, never executed
};

/// @brief Why an activation stopped.
enum class end_reason {
    completed,     ///< end_time reached, or Cleori reports it `completed`
    cancelled,     ///< Cleori cancelled it (status or 0 kW)
    lost_contact,  ///< open-ended, and no poll has seen it for the grace period (resumed if seen again)
    shutdown,      ///< the agent stopped
    soc_limit,     ///< the state of charge reached min_soc or max_soc: that direction went to 0 kW
    device_failed, ///< the device did not accept the setpoint within its response time and margin
    infeasible,    ///< a modification or a new reading made it undeliverable
};

/// @brief The name of a phase or reason, for logs and the journal.
constexpr std::string_view to_string(activation_phase p) noexcept {
    switch (p) {
    case activation_phase::scheduled: return "scheduled";
    case activation_phase::starting: return "starting";
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
    case end_reason::soc_limit: return "state-of-charge limit";
    case end_reason::device_failed: return "device did not apply it";
    case end_reason::infeasible: return "no longer deliverable";
    }
    return "?";
}

/// @brief True for the phases whose share belongs in the device setpoint.
constexpr bool is_running(activation_phase p) noexcept {
    return p == activation_phase::starting || p == activation_phase::executing;
}
/// @brief True for the phases that hold a commitment (energy and power).
constexpr bool is_committed(activation_phase p) noexcept {
    return p == activation_phase::scheduled || is_running(p);
}

/// @brief An activation the agent knows, with its local state.
struct tracked_activation {
    activation a;
    activation_phase phase = activation_phase::scheduled;
    kilowatts setpoint{};           ///< its share of the device setpoint (signed; may be less than requested)
    timestamp last_seen{};          ///< wall time of the last poll that carried it
    std::optional<end_reason> ended{};
    bool confirmed = false;         ///< Cleori acknowledged the last confirmation owed for it
    bool executing_sent = false;    ///< an `executing` confirmation was issued (never a second one)
};

/// @brief One activation's planned power over a window, for the projections.
struct energy_commitment {
    kilowatts share{};   ///< signed: − discharge, + charge
    timestamp from{};
    timestamp to{};
};

/// @brief What `project_soc` found.
struct soc_projection {
    bool ok = true;                 ///< the window was never left
    percent lowest{};               ///< lowest state of charge reached
    percent highest{};              ///< highest state of charge reached
    timestamp violation_at{};       ///< when the window would first be left (if not ok)
    bool below = false;             ///< the violation is at min_soc (else max_soc)
};

namespace detail {
// Charge and discharge share the round-trip loss equally.
inline double one_way_efficiency(battery_ratings const& r) noexcept {
    return std::sqrt(std::clamp(r.round_trip_efficiency.in_pct(), 1.0, 100.0) / 100.0);
}
// Percentage points of SoC that power `kw` moves in `hours`.
inline double soc_delta(battery_ratings const& r, double kw, double hours) noexcept {
    double const eta = one_way_efficiency(r);
    double const kwh = kw > 0 ? kw * hours * eta : kw * hours / eta;
    return r.capacity.in_kwh() > 0 ? 100.0 * kwh / r.capacity.in_kwh() : 0.0;
}
inline double hours_between(timestamp a, timestamp b) noexcept {
    return std::chrono::duration<double, std::ratio<3600>>(b - a).count();
}
// Commitments and their breakpoints are worked out on every SoC reading:
// inline room for the usual handful keeps that off the heap.
using commitment_list = boost::container::small_vector<energy_commitment, 8>;
using breakpoint_list = boost::container::small_vector<timestamp, 2 * 8 + 2>;

// The instants where the summed power changes, inside [from, to).
inline breakpoint_list breakpoints(std::span<energy_commitment const> c, timestamp from, timestamp to) {
    breakpoint_list at{from, to};
    for (auto const& x : c) {
        if (x.from > from && x.from < to) at.push_back(x.from);
        if (x.to > from && x.to < to) at.push_back(x.to);
    }
    std::sort(at.begin(), at.end());
    at.erase(std::unique(at.begin(), at.end()), at.end());
    return at;
}
inline double net_between(std::span<energy_commitment const> c, timestamp a, timestamp b) noexcept {
    double p = 0;
    for (auto const& x : c)
        if (x.from <= a && x.to >= b) p += x.share.in_kw();
    return p;
}
// The power committed in one direction only (sign of `dir`).
inline double same_direction_between(std::span<energy_commitment const> c, timestamp a, timestamp b, double dir) noexcept {
    double p = 0;
    for (auto const& x : c)
        if (x.from <= a && x.to >= b && x.share.in_kw() * dir > 0) p += x.share.in_kw();
    return p;
}
} // namespace detail

/// @brief Walks the state of charge from `soc` at `now` through the
/// commitments and checks it against the ratings' SoC window.
inline soc_projection project_soc(percent soc, timestamp now, std::span<energy_commitment const> c,
                                  battery_ratings const& r) {
    soc_projection out{true, soc, soc, {}, false};
    timestamp end = now;
    for (auto const& x : c) end = std::max(end, x.to);
    auto const at = detail::breakpoints(c, now, end);
    double s = soc.in_pct();
    constexpr double eps = 1e-9;
    for (std::size_t i = 0; i + 1 < at.size(); ++i) {
        double const p = detail::net_between(c, at[i], at[i + 1]);
        double const h = detail::hours_between(at[i], at[i + 1]);
        double const next = s + detail::soc_delta(r, p, h);
        out.lowest = std::min(out.lowest, percent{next});
        out.highest = std::max(out.highest, percent{next});
        if (out.ok && (next < r.min_soc.in_pct() - eps || next > r.max_soc.in_pct() + eps)) {
            bool const below = next < r.min_soc.in_pct() - eps;
            double const limit = below ? r.min_soc.in_pct() : r.max_soc.in_pct();
            double const rate = detail::soc_delta(r, p, 1.0); // points per hour
            double const hours_to = rate != 0 ? std::max(0.0, (limit - s) / rate) : 0.0;
            out.ok = false;
            out.below = below;
            out.violation_at = at[i] + std::chrono::duration_cast<timestamp::duration>(
                                           std::chrono::duration<double, std::ratio<3600>>(hours_to));
        }
        s = next;
    }
    return out;
}

/// @brief The part of `requested` (signed) that fits beside `others` over
/// `[from, to)` within the ratings: the request clamped to the device's
/// limits and to the power the others leave in its direction. Zero when
/// nothing is left.
///
/// Each direction is bounded on its own: power in the opposite direction is
/// never counted as room, because any activation may be cancelled at any
/// moment, and then the rest must still fit the device.
inline kilowatts power_share(kilowatts requested, timestamp from, timestamp to,
                             std::span<energy_commitment const> others, battery_ratings const& r) {
    kilowatts share = clamp_setpoint(requested, r);
    auto const at = detail::breakpoints(others, from, to);
    double const dir = requested.in_kw() < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i + 1 < at.size(); ++i) {
        double const n = detail::same_direction_between(others, at[i], at[i + 1], dir);
        if (share < kilowatts{0.0}) share = std::max(share, kilowatts{-r.max_discharge.in_kw() - n});
        else if (share > kilowatts{0.0}) share = std::min(share, kilowatts{r.max_charge.in_kw() - n});
    }
    if ((requested < kilowatts{0.0} && share > kilowatts{0.0}) || (requested > kilowatts{0.0} && share < kilowatts{0.0}))
        share = kilowatts{0.0};
    return share;
}

} // namespace cleori
