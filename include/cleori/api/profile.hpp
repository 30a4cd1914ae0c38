#pragma once
/// @file
/// @brief `cleori::api_profile_v1` — every assumption cleori makes about the
/// Cleori API, in one type.
///
/// Cleori states its transport rules and the battery's measurements; it does
/// not publish its request samples. Paths, field names, the envelope, enum
/// spellings and limits below are therefore assumptions (see
/// `doc/api-profile.md`). To adapt to a different deployment, derive from this
/// type, shadow what differs and name it as `profile` in a policies bundle
/// derived from `cleori::default_policies` (doc/concepts/Policies.md);
/// nothing else in the library names a path or a field. The
/// `cleori::Profile` concept states what a profile must provide
/// (doc/concepts/Profile.md).
///
/// @code
/// struct my_profile : cleori::api_profile_v1 {
///     static constexpr std::string_view telemetry_path = "/v1/assets/telemetry";
/// };
/// @endcode

#include <cleori/api/activation.hpp>
#include <cleori/api/field.hpp>
#include <cleori/api/telemetry_sample.hpp>

#include <boost/hana/tuple.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

namespace cleori {

/// @brief The Cleori API v1 as cleori understands it.
struct api_profile_v1 {
    /// @name Endpoints [assumed]
    /// @{
    static constexpr std::string_view telemetry_path = "/v1/telemetry";
    static constexpr std::string_view activations_path = "/v1/activations";
    /// confirmation target is `confirm_path_prefix + <id> + confirm_path_suffix`
    static constexpr std::string_view confirm_path_prefix = "/v1/activations/";
    static constexpr std::string_view confirm_path_suffix = "/confirm";
    /// @}

    /// @name Paging [stated: `limit` (default 20, max 100) and `offset`]
    /// @{
    static constexpr std::size_t page_limit = 100;
    static constexpr std::string_view limit_param = "limit";
    static constexpr std::string_view offset_param = "offset";
    /// @}

    /// @name Envelopes [assumed]; a bare array or object is accepted too
    /// @{
    static constexpr std::string_view data_key = "data";
    static constexpr std::string_view pagination_key = "pagination";
    static constexpr std::string_view pagination_limit_key = "limit";
    static constexpr std::string_view pagination_offset_key = "offset";
    static constexpr std::string_view pagination_total_key = "total";
    static constexpr std::string_view error_key = "error";
    static constexpr std::string_view error_code_key = "code";
    static constexpr std::string_view error_message_key = "message";
    /// @}

    /// @name Status semantics [assumed]
    /// @{
    /// 409 on confirm means "already confirmed" and counts as success.
    static constexpr bool conflict_on_confirm_is_success = true;
    /// Cleori keys telemetry by asset and `time`, so a sample sent again
    /// (its acknowledgement was lost to a timeout or a crash) is stored once.
    /// The agent is at-least-once for samples; this makes it effectively once.
    static constexpr bool telemetry_keyed_by_time = true;
    /// Largest telemetry batch (back-fill) in one request.
    static constexpr std::size_t max_telemetry_batch = 100;
    /// An activation without `end_time` runs until cancelled; if no poll has
    /// seen it for this long (contact lost), the agent ends it locally — one
    /// mFRR market time unit.
    static constexpr std::chrono::minutes open_ended_grace{15};
    /// An activation without `end_time` commits its power for at least this
    /// long from now when the agent assesses what else fits (a rolling
    /// horizon: it never shrinks to zero). Battery safety does not rest on
    /// it: the agent stops a direction at min_soc / max_soc whatever runs.
    static constexpr std::chrono::minutes open_ended_horizon{15};
    /// Cleori accepts an `unavailable` confirmation for an activation already
    /// confirmed `executing`: that is how the agent tells Cleori it stopped
    /// at a state-of-charge limit or a modification it cannot deliver.
    static constexpr bool unavailable_after_executing = true;
    /// @}

    /// @name Limits on what the server sends (hostile-input protection)
    /// @{
    static constexpr std::size_t max_body_bytes = 4 * 1024 * 1024;
    static constexpr unsigned max_json_depth = 32;
    static constexpr std::size_t max_id_length = 256;
    static constexpr std::size_t max_text_length = 4096;
    /// A poll follows at most this many pages, and gives up with
    /// `response_too_large` past this many activations (a server that never
    /// stops paging cannot make the agent fill its memory).
    static constexpr std::size_t max_poll_pages = 100;
    static constexpr std::size_t max_poll_activations = 10000;
    /// @}

    /// @name Wire fields [telemetry stated; the rest assumed]
    /// @{
    static constexpr auto telemetry_fields = boost::hana::make_tuple(
        make_field(&telemetry_sample::time, "time"),
        make_field(&telemetry_sample::power, "power"),
        make_field(&telemetry_sample::soc, "soc"));

    static constexpr auto activation_fields = boost::hana::make_tuple(
        make_field(&activation::id, "id"),
        make_field(&activation::direction, "direction"),
        make_field(&activation::power, "power"),
        make_field(&activation::start_time, "start_time"),
        make_field(&activation::end_time, "end_time"),
        make_field(&activation::type, "type"),
        make_field(&activation::status, "status"),
        make_field(&activation::created_at, "created_at"));

    static constexpr auto confirmation_fields = boost::hana::make_tuple(
        make_field(&confirmation::time, "time"),
        make_field(&confirmation::status, "status"),
        make_field(&confirmation::reason, "reason"),
        make_field(&confirmation::setpoint, "setpoint"));
    /// @}

    /// @name Enumeration spellings [assumed]
    /// @{
    static constexpr std::array<std::pair<mfrr_direction, std::string_view>, 2> direction_names{
        {{mfrr_direction::up, "up"}, {mfrr_direction::down, "down"}}};
    static constexpr std::array<std::pair<activation_type, std::string_view>, 2> type_names{
        {{activation_type::scheduled, "scheduled"}, {activation_type::direct, "direct"}}};
    static constexpr std::array<std::pair<activation_status, std::string_view>, 5> status_names{
        {{activation_status::pending, "pending"},
         {activation_status::confirmed, "confirmed"},
         {activation_status::active, "active"},
         {activation_status::completed, "completed"},
         {activation_status::cancelled, "cancelled"}}};
    static constexpr std::array<std::pair<confirmation_status, std::string_view>, 2> confirmation_status_names{
        {{confirmation_status::executing, "executing"}, {confirmation_status::unavailable, "unavailable"}}};

    static constexpr std::span<const std::pair<mfrr_direction, std::string_view>> names(mfrr_direction) noexcept {
        return direction_names;
    }
    static constexpr std::span<const std::pair<activation_type, std::string_view>> names(activation_type) noexcept {
        return type_names;
    }
    static constexpr std::span<const std::pair<activation_status, std::string_view>> names(activation_status) noexcept {
        return status_names;
    }
    static constexpr std::span<const std::pair<confirmation_status, std::string_view>>
    names(confirmation_status) noexcept {
        return confirmation_status_names;
    }
    /// @}
};

namespace detail {
template <class T>
concept profile_text = std::convertible_to<T, std::string_view>;
template <class T>
concept profile_count = std::convertible_to<T, std::size_t>;
template <class P, class E>
concept profile_names = requires {
    { P::names(E{}) } -> std::convertible_to<std::span<const std::pair<E, std::string_view>>>;
};
} // namespace detail

/// @brief An API profile: the paths, envelope keys, limits, field lists and
/// enumeration spellings the codec, the client and the engine read. Derive
/// from `api_profile_v1` and shadow what differs; the concept checks that
/// every member is there with a usable type.
template <class P>
concept Profile = requires {
    { P::telemetry_path } -> detail::profile_text;
    { P::activations_path } -> detail::profile_text;
    { P::confirm_path_prefix } -> detail::profile_text;
    { P::confirm_path_suffix } -> detail::profile_text;
    { P::page_limit } -> detail::profile_count;
    { P::limit_param } -> detail::profile_text;
    { P::offset_param } -> detail::profile_text;
    { P::data_key } -> detail::profile_text;
    { P::pagination_key } -> detail::profile_text;
    { P::pagination_limit_key } -> detail::profile_text;
    { P::pagination_offset_key } -> detail::profile_text;
    { P::pagination_total_key } -> detail::profile_text;
    { P::error_key } -> detail::profile_text;
    { P::error_code_key } -> detail::profile_text;
    { P::error_message_key } -> detail::profile_text;
    { P::conflict_on_confirm_is_success } -> std::convertible_to<bool>;
    { P::telemetry_keyed_by_time } -> std::convertible_to<bool>;
    { P::max_telemetry_batch } -> detail::profile_count;
    { P::open_ended_grace } -> std::convertible_to<std::chrono::minutes>;
    { P::open_ended_horizon } -> std::convertible_to<std::chrono::minutes>;
    { P::unavailable_after_executing } -> std::convertible_to<bool>;
    { P::max_body_bytes } -> detail::profile_count;
    { P::max_json_depth } -> std::convertible_to<unsigned>;
    { P::max_id_length } -> detail::profile_count;
    { P::max_text_length } -> detail::profile_count;
    { P::max_poll_pages } -> detail::profile_count;
    { P::max_poll_activations } -> detail::profile_count;
    P::telemetry_fields;
    P::activation_fields;
    P::confirmation_fields;
    requires detail::profile_names<P, mfrr_direction>;
    requires detail::profile_names<P, activation_type>;
    requires detail::profile_names<P, activation_status>;
    requires detail::profile_names<P, confirmation_status>;
};

// test/static/policies.cpp checks that api_profile_v1 models Profile, once,
// instead of every translation unit that includes this header.

} // namespace cleori
