#pragma once
/// @file
/// @brief The settlement audit trail: `cleori::audit_record`, one record per
/// event in an activation's life, emitted by `cleori::agent_core` through
/// `agent_hooks::on_audit`. When a settlement is disputed, these records say
/// what Cleori requested, what the agent decided and commanded, what it
/// confirmed and what Cleori answered, and how much energy the battery's own
/// readings show was delivered against what was requested.
///
/// The events, in the order an activation meets them:
///
/// | event | holds |
/// |---|---|
/// | `received`  | the request as first served: direction, power, start, end (or open-ended), status |
/// | `assessed`  | the verdict and the numbers behind it: SoC used, share, power headroom, energy needed and available, the reason if refused |
/// | `commanded` | the device accepted a setpoint containing the activation's share: the share and the total |
/// | `confirmed` | Cleori answered a confirmation: what was sent and the answer (acknowledged, failed with a status, rejected) |
/// | `modified`  | Cleori changed the request: the new direction, power, start and end |
/// | `ended`     | why it ended, and the energy requested and delivered over its window, from the device's readings |
///
/// A modification is assessed again (`assessed` follows `modified`), and each
/// change of setpoint the device accepts is one more `commanded`. An
/// activation refused when first assessed gets `assessed` (not feasible, with
/// the reason) and `ended` with `refused` set.
///
/// **Energy.** The window of an activation is `[start, min(end, ended at))`.
/// `requested_kwh` integrates the requested power (signed, as requested, not
/// as granted) over it; `delivered_kwh` integrates the measured power of the
/// device's readings over the same window, trapezoidal between consecutive
/// readings (linear between them where the window begins or ends between
/// two). While several activations are in force at once, the measured power
/// is attributed by one rule for all, on signed requests: each gets its
/// request plus a part of the deviation (measured − sum of the requests) in
/// proportion to the size of its request. In one direction this is the
/// measurement in proportion to the requests (−80 kW and −20 kW requested,
/// −90 kW measured: −72 and −18); across directions, a device that delivers
/// the net of the requests credits each with its own request (−60 and +20
/// requested, −40 measured: −60 and +20), and no share blows up as the
/// requests cancel. An `ended` record is emitted at the first reading at or after the
/// window's end (its `time` is still the moment the activation ended); when
/// no reading comes (the agent stops, or the device stops answering for
/// `soc_max_age`), the last reading's power is held to the window's end.
///
/// @code
/// cleori::audit_log log{"/var/lib/cleori/asset-17.audit.jsonl"};   // <cleori/engine/audit_log.hpp>
/// if (auto opened = log.open(); !opened) fail(opened.error().message());
/// agent.hooks().on_audit = std::ref(log);                          // before agent.start()
/// // or any callable:
/// agent.hooks().on_audit = [](cleori::audit_record const& r) {
///     if (auto const* e = std::get_if<cleori::audit_ended>(&r.data))
///         report(r.activation, e->requested_kwh, e->delivered_kwh);
/// };
/// @endcode
///
/// Records carry activation ids, times, numbers and reasons the agent wrote;
/// never the token. The format on disk and the `cleori-audit` summary are in
/// doc/audit.md.

#include <cleori/api/activation.hpp>
#include <cleori/engine/lifecycle.hpp>
#include <cleori/time/rfc3339.hpp>
#include <cleori/units/quantity.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace cleori {

/// @brief Which event of an activation's life a record reports (the order of
/// `audit_record::data`'s alternatives).
enum class audit_event { received, assessed, commanded, confirmed, modified, ended };

/// @brief What Cleori answered to one attempt at a confirmation.
enum class confirmation_answer {
    acknowledged, ///< accepted (a 2xx, or 409: already confirmed)
    failed,       ///< no answer, or a status that may heal (5xx, 401, 408, 429): it is tried again
    rejected,     ///< refused for good (400, 403, 404, 422): dropped, not tried again
};

/// @brief The request as Cleori served it.
struct audit_request {
    mfrr_direction direction{};          ///< up = discharge, down = charge
    kilowatts power{};                   ///< magnitude requested (≥ 0)
    timestamp start{};                   ///< full power from here
    std::optional<timestamp> end{};      ///< absent: open-ended (until cancelled)
    activation_status status{};          ///< Cleori's status as served
};

/// @brief `received`: an activation id seen for the first time.
struct audit_received : audit_request {};

/// @brief `modified`: Cleori changed power, direction or window of a known activation.
struct audit_modified : audit_request {};

/// @brief `assessed`: the verdict, with the numbers the agent decided with.
struct audit_assessed {
    bool feasible = false;               ///< accepted (its share will be commanded)
    bool resumed = false;                ///< a re-assessment of one ended for lost contact and served again
    kilowatts requested{};               ///< signed request (− discharge, + charge)
    kilowatts share{};                   ///< signed share granted (0 when refused for want of power)
    kilowatts headroom{};                ///< power left in its direction over its window, beside other activations (magnitude)
    std::optional<percent> soc{};        ///< state of charge used (last reading carried forward); absent when unknown
    /// Energy at the grid the share needs over its window (the request's,
    /// clamped to the ratings, when no power was left); absent when the SoC was unknown.
    std::optional<kilowatt_hours> energy_needed{};
    /// Energy at the grid the battery can give (discharge) or take (charge)
    /// between the SoC used and min_soc / max_soc, after what other accepted
    /// activations move until the window's end; absent when the SoC was unknown.
    std::optional<kilowatt_hours> energy_available{};
    std::string reason{};                ///< why it was refused (empty when feasible)
};

/// @brief `commanded`: the device accepted a setpoint containing this activation's share.
struct audit_commanded {
    kilowatts share{};                   ///< this activation's part (signed)
    kilowatts setpoint{};                ///< the total the device accepted (sum of the shares)
};

/// @brief `confirmed`: Cleori answered one attempt at a confirmation.
struct audit_confirmed {
    confirmation sent{};                 ///< what was sent: status, time, setpoint, reason
    confirmation_answer answer{};
    unsigned http_status = 0;            ///< the status of a failed or rejected attempt; 0 when acknowledged or unanswered
    std::string detail{};                ///< the failure in one line (empty when acknowledged; never the token)
};

/// @brief `ended`: the activation is over, with its energy account.
struct audit_ended {
    end_reason reason{};                 ///< why; a refusal at assessment is `infeasible`
    bool refused = false;                ///< reported unavailable and never executed
    std::string why{};                   ///< the unavailable reason sent, if any
    timestamp window_start{};            ///< the energy window: start (or the resumption)
    timestamp window_end{};              ///< … to min(end, ended at); equal to `window_start` when empty
    kilowatt_hours requested_kwh{};      ///< requested power integrated over the window (signed)
    kilowatt_hours delivered_kwh{};      ///< measured power attributed to it, integrated over the window (signed)
    std::uint64_t samples = 0;           ///< device readings used
};

/// @brief One event of one activation, for the audit trail. See the file comment.
struct audit_record {
    timestamp time{};                    ///< wall time of the event (UTC)
    std::string activation{};            ///< the activation's id
    std::variant<audit_received, audit_assessed, audit_commanded, audit_confirmed, audit_modified, audit_ended> data{};

    /// @brief The event this record reports.
    [[nodiscard]] audit_event event() const noexcept { return static_cast<audit_event>(data.index()); }
};

/// @brief The names used in the audit file (`event`, `answer`).
constexpr std::string_view to_string(audit_event e) noexcept {
    switch (e) {
    case audit_event::received: return "received";
    case audit_event::assessed: return "assessed";
    case audit_event::commanded: return "commanded";
    case audit_event::confirmed: return "confirmed";
    case audit_event::modified: return "modified";
    case audit_event::ended: return "ended";
    }
    return "?";
}
constexpr std::string_view to_string(confirmation_answer a) noexcept {
    switch (a) {
    case confirmation_answer::acknowledged: return "acknowledged";
    case confirmation_answer::failed: return "failed";
    case confirmation_answer::rejected: return "rejected";
    }
    return "?";
}

} // namespace cleori
