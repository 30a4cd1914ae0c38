#pragma once
/// @file
/// @brief cleori's error codes: `cleori::error`, its `boost::system` category,
/// and the `cleori::result<T>` alias that every fallible call returns.
///
/// @code
/// cleori::result<cleori::timestamp> t = cleori::parse_rfc3339("2026-02-30T00:00:00Z");
/// if (!t) std::cerr << t.error().message() << '\n';   // "invalid date in RFC 3339 timestamp ..."
/// @endcode

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace cleori {

/// @brief A fallible value: holds `T` or a `boost::system::error_code`.
template <class T>
using result = boost::system::result<T, boost::system::error_code>;

/// @brief Every error cleori reports itself (transport errors keep their own
/// Asio/Beast/SSL categories).
enum class error {
    // RFC 3339 timestamps
    timestamp_too_long = 1,
    timestamp_syntax,
    timestamp_invalid_date,
    timestamp_invalid_time,
    timestamp_missing_zone,
    timestamp_invalid_offset,
    timestamp_trailing_characters,
    timestamp_out_of_range,
    // JSON and the wire model
    json_malformed,
    json_too_deep,
    json_wrong_type,
    json_missing_field,
    json_value_not_finite,
    json_value_out_of_range,
    json_string_too_long,
    json_unknown_enum_value,
    sample_without_measurement,
    activation_ends_before_start,
    body_too_large,
    // device ratings
    ratings_invalid,
    ratings_below_mfrr_minimum,
    // HTTP and transport
    invalid_url,
    insecure_url,
    http_bad_request,
    http_unauthorized,
    http_forbidden,
    http_not_found,
    http_unprocessable,
    http_rate_limited,
    http_server_error,
    http_unexpected_status,
    response_too_large,
    timeout,
    connection_closed,
    // retry
    retry_budget_exhausted,
    deadline_exceeded,
    attempts_exhausted,
    tls_untrusted_certificate,
    tls_certificate_expired,
    tls_host_name_mismatch,
    tls_handshake_failed,
    config_telemetry_interval,
    config_poll_interval,
    config_missing_token,
    // durable store
    store_bad_format,
    store_record_invalid,
    // transport
    invalid_request_field,
    // agent configuration, continued
    config_timer_slack,
};

namespace detail {

class error_category_impl final : public boost::system::error_category {
public:
    // A fixed id keeps codes comparable across shared libraries that each
    // instantiate this inline category.
    constexpr error_category_impl() noexcept : boost::system::error_category(0xc1e0'41a0'7b2d'0001ULL) {}

    const char* name() const noexcept override { return "cleori"; }

    std::string message(int ev) const override { return message(ev, nullptr, 0); }

    const char* message(int ev, char*, std::size_t) const noexcept override {
        switch (static_cast<error>(ev)) {
        case error::timestamp_too_long: return "RFC 3339 timestamp is too long";
        case error::timestamp_syntax: return "RFC 3339 timestamp is malformed (expected YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm))";
        case error::timestamp_invalid_date: return "invalid date in RFC 3339 timestamp (month, or day of month)";
        case error::timestamp_invalid_time: return "invalid time of day in RFC 3339 timestamp";
        case error::timestamp_missing_zone: return "RFC 3339 timestamp has no time zone ('Z' or a numeric offset)";
        case error::timestamp_invalid_offset: return "invalid time zone offset in RFC 3339 timestamp";
        case error::timestamp_trailing_characters: return "RFC 3339 timestamp is followed by unexpected characters";
        case error::timestamp_out_of_range: return "RFC 3339 timestamp lies outside years 0000-9999 in UTC";
        case error::json_malformed: return "malformed JSON";
        case error::json_too_deep: return "JSON nesting is deeper than the limit";
        case error::json_wrong_type: return "JSON value has the wrong type";
        case error::json_missing_field: return "required JSON field is missing";
        case error::json_value_not_finite: return "number is not finite";
        case error::json_value_out_of_range: return "number is outside the accepted range";
        case error::json_string_too_long: return "string is longer than the limit";
        case error::json_unknown_enum_value: return "unknown enumeration value";
        case error::sample_without_measurement: return "telemetry sample carries neither power nor soc";
        case error::activation_ends_before_start: return "activation end_time is not after start_time";
        case error::body_too_large: return "message body exceeds the size limit";
        case error::ratings_invalid: return "battery ratings are inconsistent";
        case error::ratings_below_mfrr_minimum: return "battery ratings are below the mFRR minimum";
        case error::invalid_url: return "base URL is not http(s)://host[:port][/path]";
        case error::insecure_url: return "plain http:// is refused for a non-loopback host (use https, or allow it explicitly)";
        case error::http_bad_request: return "400 Bad Request: the request is malformed (not retried)";
        case error::http_unauthorized: return "401 Unauthorized: the asset token is missing, wrong or expired (not retried)";
        case error::http_forbidden: return "403 Forbidden: the token may not do this (not retried)";
        case error::http_not_found: return "404 Not Found: wrong base URL or path, or unknown activation (not retried)";
        case error::http_unprocessable: return "422 Unprocessable Entity: the server rejected the content (not retried)";
        case error::http_rate_limited: return "429 Too Many Requests";
        case error::http_server_error: return "server error (5xx)";
        case error::http_unexpected_status: return "unexpected HTTP status";
        case error::response_too_large: return "response exceeds the size limit";
        case error::timeout: return "timed out";
        case error::connection_closed: return "connection closed before the response was complete";
        case error::retry_budget_exhausted: return "retry budget exhausted: not retrying so as not to hammer the server";
        case error::deadline_exceeded: return "no retry fits before the deadline";
        case error::attempts_exhausted: return "all retry attempts failed";
        case error::tls_untrusted_certificate:
            return "TLS: the server's certificate is not issued by a trusted CA (check ca_file; not retried)";
        case error::tls_certificate_expired:
            return "TLS: the server's certificate has expired or is not yet valid (not retried)";
        case error::tls_host_name_mismatch:
            return "TLS: the server's certificate does not name the host of the base URL (not retried)";
        case error::config_telemetry_interval: return "telemetry interval must be above 0 and at most 10 s, with the clock's timer slack (Cleori's rule)";
        case error::config_poll_interval: return "poll interval must be above 0 and at most 60 s, with the clock's timer slack (Cleori's rule)";
        case error::config_missing_token: return "no asset token configured";
        case error::config_timer_slack:
            return "the clock's timer slack must be at most 1 s and below the telemetry and poll intervals";
        case error::store_bad_format: return "the store file is not a cleori journal (wrong magic or version)";
        case error::store_record_invalid:
            return "a store record passed its checksum but could not be read (newer format or damage); not guessing";
        case error::invalid_request_field:
            return "the request's target, token or User-Agent holds a character that may not go on an HTTP request line "
                   "or header (a control character, or a space in the target or token); not sent";
        case error::tls_handshake_failed:
            return "TLS handshake failed (the server may offer only TLS < 1.2 or no common cipher; not retried)";
        }
        return "unknown cleori error";
    }
};

} // namespace detail

/// @brief The category of `cleori::error` codes.
inline const boost::system::error_category& error_category() noexcept {
    static const detail::error_category_impl instance;
    return instance;
}

/// @brief Makes `cleori::error` usable wherever an `error_code` is expected.
inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

} // namespace cleori

template <>
struct boost::system::is_error_code_enum<cleori::error> : std::true_type {};
