#pragma once
/// @file
/// @brief The activation model: `cleori::activation` (a request from Cleori to
/// change the battery's power), its enumerations, the confirmation the battery
/// sends back, and the result of one poll.
///
/// Direction follows mFRR: `up` means more power to the grid, so the battery
/// discharges; `down` means the battery charges. `setpoint()` applies the sign:
///
/// @code
/// cleori::activation a{.id = "a-1", .direction = cleori::mfrr_direction::up, .power = 80.0_kW, ...};
/// assert(a.setpoint() == -80.0_kW);   // discharge 80 kW
/// @endcode

#include <cleori/time/rfc3339.hpp>
#include <cleori/units/quantity.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace cleori {

/// @brief mFRR direction: `up` → the battery discharges, `down` → it charges.
enum class mfrr_direction { up, down };

/// @brief How the TSO activated the bid (optional on the wire).
enum class activation_type { scheduled, direct };

/// @brief The activation's state as Cleori reports it.
enum class activation_status { pending, confirmed, active, completed, cancelled };

/// @brief One activation as polled from Cleori, already validated.
struct activation {
    std::string id{};                        ///< unique, stable across polls
    mfrr_direction direction{};            ///< up = discharge, down = charge
    kilowatts power{};                     ///< magnitude of the requested change, ≥ 0 (0 cancels)
    timestamp start_time{};                ///< full power from here
    std::optional<timestamp> end_time{};     ///< absent: until cancelled
    std::optional<activation_type> type{};   ///< scheduled or direct, when given
    activation_status status{};            ///< Cleori's view of the activation
    std::optional<timestamp> created_at{};   ///< when Cleori created it, when given

    /// @brief The signed power to command: −power for `up`, +power for `down`.
    [[nodiscard]] constexpr kilowatts setpoint() const noexcept {
        return direction == mfrr_direction::up ? -power : power;
    }
    /// @brief True when this poll result withdraws the activation
    /// (status `cancelled`, or a power of 0 kW).
    [[nodiscard]] constexpr bool is_cancellation() const noexcept {
        return status == activation_status::cancelled || power == kilowatts{0.0};
    }
    /// @brief True when `now` lies at or after `end_time`.
    [[nodiscard]] constexpr bool has_ended(timestamp now) const noexcept { return end_time && now >= *end_time; }

    friend bool operator==(activation const&, activation const&) = default;
};

/// @brief An activation a poll carried but that could not be accepted.
/// It is reported, never executed; the rest of the poll is unaffected.
struct rejected_activation {
    std::string id{};     ///< the id when one could be read, else empty
    std::string reason{}; ///< names the field and what is wrong with it
};

/// @brief Paging information from the success envelope.
struct pagination {
    std::size_t limit = 0;
    std::size_t offset = 0;
    std::size_t total = 0;
};

/// @brief What one page of `GET /v1/activations` yielded.
struct activation_page {
    std::vector<activation> activations{};
    std::vector<rejected_activation> rejected{};
    std::optional<pagination> page{}; ///< absent when the server sent a bare array
};

/// @brief Every activation a poll returned, across pages.
struct activation_poll {
    std::vector<activation> activations{};
    std::vector<rejected_activation> rejected{};
    std::size_t pages = 0;
};

/// @brief Whether the battery is executing the activation.
enum class confirmation_status { executing, unavailable };

/// @brief What the battery tells Cleori after it has started (or cannot start)
/// an activation.
struct confirmation {
    timestamp time{};                  ///< when execution started / was refused
    confirmation_status status{};      ///< executing or unavailable
    std::optional<std::string> reason{}; ///< only with `unavailable`
    std::optional<kilowatts> setpoint{}; ///< the power actually commanded

    friend bool operator==(confirmation const&, confirmation const&) = default;
};

} // namespace cleori
