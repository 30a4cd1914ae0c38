#pragma once
/// @file
/// @brief Errors of the Modbus client and the Modbus battery:
/// `cleori::modbus::errc` and its `boost::system` category.
///
/// Exception responses keep their Modbus exception code as the value, so
/// `ec == cleori::modbus::errc::illegal_data_address` tests for exception 2.
/// What only the device can explain — a fault its status register reports, a
/// SunSpec model it lacks — is an error of a second category,
/// `cleori::modbus::device_error_category()`, whose message is that
/// explanation ("PCS fault (status 3)"), so the agent's log and the
/// `unavailable` reason sent to Cleori carry the device's own words.
///
/// @code
/// client.async_read_holding_registers(1, 40000, 2, [](auto ec, cleori::modbus::register_block b) {
///     if (ec == cleori::modbus::errc::timeout) …   // no answer within client_options::request_timeout
/// });
/// @endcode

#include <boost/system/error_code.hpp>

#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

namespace cleori::modbus {

/// @brief Modbus errors: exception responses (values 1–255 are the Modbus
/// exception code the device sent; 1–11 are the standard ones) and the
/// client's own protocol, connection and configuration failures (256 and up,
/// so no device can send one of them).
enum class errc {
    // Exception responses from the server (Modbus Application Protocol v1.1b3, section 7)
    illegal_function = 1,
    illegal_data_address = 2,
    illegal_data_value = 3,
    server_device_failure = 4,
    acknowledge = 5,
    server_device_busy = 6,
    negative_acknowledge = 7,
    memory_parity_error = 8,
    gateway_path_unavailable = 10,
    gateway_target_failed = 11,
    // The client's own
    timeout = 256,           ///< no complete answer within the request timeout
    connection_closed,       ///< the server closed the connection before the answer was complete
    bad_frame,               ///< an MBAP header with a protocol id other than 0 or an impossible length
    unexpected_response,     ///< a frame for this request with the wrong unit, function, byte count or echo
    invalid_request,         ///< a register count or address the protocol cannot carry
    queue_full,              ///< more requests waiting than client_options::max_queue
    // The register map and the battery
    value_out_of_range = 512, ///< a setpoint that the register type cannot hold after scaling
    value_not_implemented,    ///< the device reports the type's "not implemented" value (e.g. SunSpec 0x8000)
    sunspec_not_found,        ///< no "SunS" marker at the base addresses tried
    sunspec_bad_chain,        ///< the model chain runs past the address space or loops
};

namespace detail {

class errc_category_impl final : public boost::system::error_category {
public:
    constexpr errc_category_impl() noexcept : boost::system::error_category(0xc1e0'41a0'7b2d'0002ULL) {}
    const char* name() const noexcept override { return "cleori.modbus"; }
    std::string message(int ev) const override {
        char buf[64];
        return message(ev, buf, sizeof buf);
    }
    const char* message(int ev, char* buf, std::size_t len) const noexcept override {
        switch (static_cast<errc>(ev)) {
        case errc::illegal_function: return "Modbus exception 1: illegal function (the device does not support this function code)";
        case errc::illegal_data_address: return "Modbus exception 2: illegal data address (no such register on this unit)";
        case errc::illegal_data_value: return "Modbus exception 3: illegal data value (the device refused the value)";
        case errc::server_device_failure: return "Modbus exception 4: server device failure";
        case errc::acknowledge: return "Modbus exception 5: acknowledge (accepted, still processing)";
        case errc::server_device_busy: return "Modbus exception 6: server device busy";
        case errc::negative_acknowledge: return "Modbus exception 7: negative acknowledge";
        case errc::memory_parity_error: return "Modbus exception 8: memory parity error";
        case errc::gateway_path_unavailable: return "Modbus exception 10: gateway path unavailable";
        case errc::gateway_target_failed: return "Modbus exception 11: gateway target device failed to respond (wrong unit id?)";
        case errc::timeout: return "Modbus request timed out";
        case errc::connection_closed: return "Modbus server closed the connection before the answer was complete";
        case errc::bad_frame: return "malformed Modbus TCP frame (protocol id or length)";
        case errc::unexpected_response: return "Modbus answer does not match the request (unit, function, byte count or echo)";
        case errc::invalid_request: return "Modbus request outside the protocol's limits (1-125 registers to read, 1-123 to write)";
        case errc::queue_full: return "too many Modbus requests waiting on this connection";
        case errc::value_out_of_range: return "value does not fit the register type after scaling";
        case errc::value_not_implemented: return "the device reports this point as not implemented";
        case errc::sunspec_not_found: return "no SunSpec marker ('SunS') at the base address";
        case errc::sunspec_bad_chain: return "the SunSpec model chain is malformed";
        }
        if (buf && len && ev >= 1 && ev <= 255) {
            std::snprintf(buf, len, "Modbus exception %d (not a standard code)", ev);
            return buf;
        }
        return ev >= 1 && ev <= 255 ? "Modbus exception (not a standard code)" : "Modbus error";
    }
};

// The text of each fault a register map names, interned for the life of the
// program: an error_code holds only a category pointer and an int, and may
// outlive the battery that made it.
class device_error_category_impl final : public boost::system::error_category {
public:
    device_error_category_impl() noexcept : boost::system::error_category(0xc1e0'41a0'7b2d'0003ULL) {}
    const char* name() const noexcept override { return "cleori.modbus.device"; }
    std::string message(int ev) const override {
        std::lock_guard lock(mutex_);
        if (ev >= 1 && static_cast<std::size_t>(ev) <= texts_.size()) return texts_[static_cast<std::size_t>(ev) - 1];
        return "device error (more distinct device errors than cleori keeps texts for)";
    }
    // Codes start at 1: an error_code of value 0 means success. The table
    // is capped: a map that mistakes a counter for a status register must
    // not grow it for ever.
    int intern(std::string_view text) const {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < texts_.size(); ++i)
            if (texts_[i] == text) return static_cast<int>(i + 1);
        if (texts_.size() >= max_texts) return static_cast<int>(max_texts + 1);
        texts_.emplace_back(text);
        return static_cast<int>(texts_.size());
    }
    static constexpr std::size_t max_texts = 4096;

private:
    mutable std::mutex mutex_;
    mutable std::deque<std::string> texts_;
};

} // namespace detail

/// @brief The category of `errc`.
inline boost::system::error_category const& modbus_category() noexcept {
    static constexpr detail::errc_category_impl instance;
    return instance;
}

/// @brief The category of errors only the device can explain; each code's
/// message is its explanation.
inline detail::device_error_category_impl const& device_error_category() noexcept {
    static detail::device_error_category_impl const instance;
    return instance;
}

/// @brief An error code of `device_error_category()` whose message is `text`.
inline boost::system::error_code make_device_error(std::string_view text) {
    return {device_error_category().intern(text), device_error_category()};
}

inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), modbus_category()}; }

} // namespace cleori::modbus

template <>
struct boost::system::is_error_code_enum<cleori::modbus::errc> : std::true_type {};
