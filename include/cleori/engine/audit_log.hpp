#pragma once
/// @file
/// @brief The audit trail on disk: `cleori::audit_log`, a JSON Lines file
/// that receives `cleori::audit_record`s from an agent's `on_audit` hook, and
/// the codec of one line, `encode_audit_record` / `decode_audit_record`
/// (what `cleori-audit` reads back).
///
/// The file is opened append-only (`O_APPEND`); each record is one JSON
/// object on one line, written with one `write()` (the line is in the kernel
/// when the hook returns; it is not `fsync`ed). When a line would take the
/// file past `max_bytes`, the file is rotated first: `audit.jsonl` becomes
/// `audit.jsonl.1`, `.1` becomes `.2` … and the oldest beyond `keep` is
/// removed. A failure to open, rotate or write never throws out of the hook:
/// the line is counted in `failures()` and the error kept in `last_error()`;
/// the next line tries again (reopening the file if needed).
///
/// @code
/// cleori::agent<my_battery> agent{battery, transport, {.token = token_from_env()}};
/// cleori::audit_log log{"/var/lib/cleori/asset-17.audit.jsonl"};  // 64 MiB per file, 5 rotated files kept
/// if (auto opened = log.open(); !opened)
///     std::cerr << "audit log: " << opened.error().message() << '\n';
/// agent.hooks().on_audit = std::ref(log);     // the log must outlive the agent
/// if (auto started = agent.start(); !started) fail(started.error().message());
/// io.run();
/// if (log.failures()) std::cerr << log.failures() << " audit lines lost: " << log.last_error().message() << '\n';
/// @endcode
///
/// One line (wrapped here):
/// @code{.json}
/// {"time":"2026-11-26T12:10:32.000Z","event":"ended","activation":"up-1","end_reason":"completed",
///  "refused":false,"reason":null,"window_start":"2026-11-26T12:00:32.000Z",
///  "window_end":"2026-11-26T12:10:32.000Z","requested_kwh":-16.666666666666668,
///  "delivered_kwh":-16.65277777777778,"samples":122}
/// @endcode
///
/// Every field of every event: doc/audit.md. Records never hold the token.
///
/// Threading: `write` (and the call operator) may be called from several
/// threads; a mutex keeps lines whole and in one order. One log per asset
/// keeps the records of different assets apart (they carry no asset name).

#include <cleori/api/detail/json_writer.hpp>
#include <cleori/engine/audit.hpp>
#include <cleori/error.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cleori {

namespace detail {

// The names in the file are the audit format's own, not the API profile's:
// a change of the wire contract must not change what old files mean.
template <class E>
struct audit_names;
template <>
struct audit_names<mfrr_direction> {
    static constexpr std::pair<mfrr_direction, std::string_view> table[] = {{mfrr_direction::up, "up"},
                                                                          {mfrr_direction::down, "down"}};
};
template <>
struct audit_names<activation_status> {
    static constexpr std::pair<activation_status, std::string_view> table[] = {
        {activation_status::pending, "pending"},     {activation_status::confirmed, "confirmed"},
        {activation_status::active, "active"},       {activation_status::completed, "completed"},
        {activation_status::cancelled, "cancelled"}};
};
template <>
struct audit_names<confirmation_status> {
    static constexpr std::pair<confirmation_status, std::string_view> table[] = {
        {confirmation_status::executing, "executing"}, {confirmation_status::unavailable, "unavailable"}};
};
template <>
struct audit_names<confirmation_answer> {
    static constexpr std::pair<confirmation_answer, std::string_view> table[] = {
        {confirmation_answer::acknowledged, "acknowledged"},
        {confirmation_answer::failed, "failed"},
        {confirmation_answer::rejected, "rejected"}};
};
template <>
struct audit_names<end_reason> {
    static constexpr std::pair<end_reason, std::string_view> table[] = {
        {end_reason::completed, "completed"},         {end_reason::cancelled, "cancelled"},
        {end_reason::lost_contact, "lost_contact"},   {end_reason::shutdown, "shutdown"},
        {end_reason::soc_limit, "soc_limit"},         {end_reason::device_failed, "device_failed"},
        {end_reason::infeasible, "infeasible"}};
};
template <>
struct audit_names<audit_event> {
    static constexpr std::pair<audit_event, std::string_view> table[] = {
        {audit_event::received, "received"},   {audit_event::assessed, "assessed"},
        {audit_event::commanded, "commanded"}, {audit_event::confirmed, "confirmed"},
        {audit_event::modified, "modified"},   {audit_event::ended, "ended"}};
};

template <class E>
constexpr std::string_view audit_name(E e) noexcept {
    for (auto const& [v, n] : audit_names<E>::table)
        if (v == e) return n;
    return "?";
}

class audit_writer {
public:
    explicit audit_writer(std::string& out) : out_(out) {}
    void key(std::string_view k) {
        out_ += ",\"";
        out_ += k;
        out_ += "\":";
    }
    void number(std::string_view k, double v) { key(k), append_json_number(out_, v); }
    void number(std::string_view k, std::optional<double> v) {
        key(k);
        if (v) append_json_number(out_, *v);
        else out_ += "null";
    }
    void count(std::string_view k, std::uint64_t v) { key(k), out_ += std::to_string(v); }
    void boolean(std::string_view k, bool v) { key(k), out_ += v ? "true" : "false"; }
    void text(std::string_view k, std::string_view v) { key(k), append_json_string(out_, v); }
    void text_or_null(std::string_view k, std::optional<std::string_view> v) {
        key(k);
        if (v) append_json_string(out_, *v);
        else out_ += "null";
    }
    void time(std::string_view k, std::optional<timestamp> v) {
        key(k);
        if (v) append_json_timestamp(out_, *v);
        else out_ += "null";
    }
    template <class E>
    void name(std::string_view k, E e) {
        key(k);
        out_.push_back('"');
        out_ += audit_name(e);
        out_.push_back('"');
    }

private:
    std::string& out_;
};

// Reads the fields of one record; the first problem wins and names its field.
class audit_reader {
public:
    audit_reader(boost::json::object const& o, std::string* why) : o_(o), why_(why) {}

    [[nodiscard]] boost::system::error_code error() const noexcept { return ec_; }

    boost::json::value const* find(std::string_view k, bool required) {
        if (ec_) return nullptr;
        auto const* v = o_.if_contains(boost::json::string_view(k.data(), k.size()));
        if (v == nullptr || v->is_null()) {
            if (required) fail(k, error::json_missing_field);
            return nullptr;
        }
        return v;
    }
    std::optional<double> number(std::string_view k, bool required = true) {
        auto const* v = find(k, required);
        if (!v) return std::nullopt;
        double out = 0;
        switch (v->kind()) {
        case boost::json::kind::double_: out = v->get_double(); break;
        case boost::json::kind::int64: out = static_cast<double>(v->get_int64()); break;
        case boost::json::kind::uint64: out = static_cast<double>(v->get_uint64()); break;
        default: return fail(k, error::json_wrong_type), std::nullopt;
        }
        if (!std::isfinite(out)) return fail(k, error::json_value_not_finite), std::nullopt;
        return out;
    }
    std::uint64_t count(std::string_view k) {
        auto const* v = find(k, true);
        if (!v) return 0;
        if (v->is_uint64()) return v->get_uint64();
        if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
        fail(k, error::json_wrong_type);
        return 0;
    }
    bool boolean(std::string_view k) {
        auto const* v = find(k, true);
        if (!v) return false;
        if (!v->is_bool()) return fail(k, error::json_wrong_type), false;
        return v->get_bool();
    }
    std::optional<std::string> text(std::string_view k, bool required = true) {
        auto const* v = find(k, required);
        if (!v) return std::nullopt;
        if (!v->is_string()) return fail(k, error::json_wrong_type), std::nullopt;
        return std::string(v->get_string());
    }
    std::optional<timestamp> time(std::string_view k, bool required = true) {
        auto s = text(k, required);
        if (!s) return std::nullopt;
        auto t = parse_rfc3339(*s);
        if (!t) return fail(k, t.error()), std::nullopt;
        return *t;
    }
    template <class E>
    E name(std::string_view k) {
        auto s = text(k, true);
        if (!s) return E{};
        for (auto const& [v, n] : audit_names<E>::table)
            if (n == *s) return v;
        fail(k, error::json_unknown_enum_value);
        return E{};
    }
    void fail(std::string_view k, boost::system::error_code ec) {
        if (ec_) return;
        ec_ = ec;
        if (why_) *why_ = "field '" + std::string(k) + "': " + ec.message();
    }

private:
    boost::json::object const& o_;
    std::string* why_;
    boost::system::error_code ec_{};
};

inline void encode_request(audit_writer& w, audit_request const& r) {
    w.name("direction", r.direction);
    w.number("power_kw", r.power.in_kw());
    w.time("start", r.start);
    w.time("end", r.end);
    w.name("status", r.status);
}
inline audit_request decode_request(audit_reader& rd) {
    audit_request r;
    r.direction = rd.name<mfrr_direction>("direction");
    r.power = kilowatts{rd.number("power_kw").value_or(0)};
    r.start = rd.time("start").value_or(timestamp{});
    r.end = rd.time("end", false);
    r.status = rd.name<activation_status>("status");
    return r;
}
inline std::optional<double> kw_of(std::optional<kilowatts> v) {
    return v ? std::optional<double>(v->in_kw()) : std::nullopt;
}
inline std::optional<double> kwh_of(std::optional<kilowatt_hours> v) {
    return v ? std::optional<double>(v->in_kwh()) : std::nullopt;
}

} // namespace detail

/// @brief Longest line `decode_audit_record` reads.
inline constexpr std::size_t audit_max_line = 64 * 1024;

/// @brief Appends `r` to `out` as one JSON object, without a newline.
/// Numbers are plain decimals in kW, kWh and %; times RFC 3339 UTC; absent
/// values `null`.
inline void encode_audit_record(audit_record const& r, std::string& out) {
    detail::audit_writer w{out};
    out += "{\"time\":";
    detail::append_json_timestamp(out, r.time);
    w.name("event", r.event());
    w.text("activation", r.activation);
    std::visit(
        [&](auto const& d) {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, audit_received> || std::is_same_v<T, audit_modified>) {
                detail::encode_request(w, d);
            } else if constexpr (std::is_same_v<T, audit_assessed>) {
                w.boolean("feasible", d.feasible);
                w.boolean("resumed", d.resumed);
                w.number("requested_kw", d.requested.in_kw());
                w.number("share_kw", d.share.in_kw());
                w.number("headroom_kw", d.headroom.in_kw());
                w.number("soc_pct", d.soc ? std::optional<double>(d.soc->in_pct()) : std::nullopt);
                w.number("energy_needed_kwh", detail::kwh_of(d.energy_needed));
                w.number("energy_available_kwh", detail::kwh_of(d.energy_available));
                w.text_or_null("reason", d.reason.empty() ? std::nullopt : std::optional<std::string_view>(d.reason));
            } else if constexpr (std::is_same_v<T, audit_commanded>) {
                w.number("share_kw", d.share.in_kw());
                w.number("setpoint_kw", d.setpoint.in_kw());
            } else if constexpr (std::is_same_v<T, audit_confirmed>) {
                w.name("confirmation", d.sent.status);
                w.time("confirmed_at", d.sent.time);
                w.number("setpoint_kw", detail::kw_of(d.sent.setpoint));
                w.text_or_null("reason", d.sent.reason ? std::optional<std::string_view>(*d.sent.reason) : std::nullopt);
                w.name("answer", d.answer);
                w.number("http_status", d.http_status ? std::optional<double>(d.http_status) : std::nullopt);
                w.text_or_null("detail", d.detail.empty() ? std::nullopt : std::optional<std::string_view>(d.detail));
            } else {
                static_assert(std::is_same_v<T, audit_ended>);
                w.name("end_reason", d.reason);
                w.boolean("refused", d.refused);
                w.text_or_null("reason", d.why.empty() ? std::nullopt : std::optional<std::string_view>(d.why));
                w.time("window_start", d.window_start);
                w.time("window_end", d.window_end);
                w.number("requested_kwh", d.requested_kwh.in_kwh());
                w.number("delivered_kwh", d.delivered_kwh.in_kwh());
                w.count("samples", d.samples);
            }
        },
        r.data);
    out.push_back('}');
}

/// @brief Reads one line written by `encode_audit_record` (a trailing
/// newline is allowed; unknown fields are ignored). Errors: `body_too_large`
/// (over `audit_max_line`), `json_malformed`, `json_wrong_type`,
/// `json_missing_field`, `json_unknown_enum_value`, `json_value_not_finite`,
/// or a timestamp's error; `why`, when given, names the field.
inline result<audit_record> decode_audit_record(std::string_view line, std::string* why = nullptr) {
    auto say = [&](std::string text) {
        if (why) *why = std::move(text);
    };
    if (line.size() > audit_max_line) {
        say("line longer than " + std::to_string(audit_max_line) + " bytes");
        return error::body_too_large;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    boost::json::parse_options opt;
    opt.max_depth = 4;
    boost::system::error_code ec;
    boost::json::value v;
    try {
        v = boost::json::parse(boost::json::string_view(line.data(), line.size()), ec, {}, opt);
    } catch (std::exception const&) { // allocation failure: as unreadable as malformed
        ec = error::json_malformed;
    }
    if (ec) {
        say("not JSON: " + ec.message());
        return error::json_malformed;
    }
    auto const* o = v.if_object();
    if (!o) {
        say("not a JSON object");
        return error::json_wrong_type;
    }
    detail::audit_reader rd{*o, why};
    audit_record r;
    r.time = rd.time("time").value_or(timestamp{});
    auto const event = rd.name<audit_event>("event");
    r.activation = rd.text("activation").value_or(std::string{});
    if (rd.error()) return rd.error();
    switch (event) {
    case audit_event::received: r.data = audit_received{detail::decode_request(rd)}; break;
    case audit_event::modified: r.data = audit_modified{detail::decode_request(rd)}; break;
    case audit_event::assessed: {
        audit_assessed d;
        d.feasible = rd.boolean("feasible");
        d.resumed = rd.boolean("resumed");
        d.requested = kilowatts{rd.number("requested_kw").value_or(0)};
        d.share = kilowatts{rd.number("share_kw").value_or(0)};
        d.headroom = kilowatts{rd.number("headroom_kw").value_or(0)};
        if (auto x = rd.number("soc_pct", false)) d.soc = percent{*x};
        if (auto x = rd.number("energy_needed_kwh", false)) d.energy_needed = kilowatt_hours{*x};
        if (auto x = rd.number("energy_available_kwh", false)) d.energy_available = kilowatt_hours{*x};
        d.reason = rd.text("reason", false).value_or(std::string{});
        r.data = std::move(d);
        break;
    }
    case audit_event::commanded: {
        audit_commanded d;
        d.share = kilowatts{rd.number("share_kw").value_or(0)};
        d.setpoint = kilowatts{rd.number("setpoint_kw").value_or(0)};
        r.data = d;
        break;
    }
    case audit_event::confirmed: {
        audit_confirmed d;
        d.sent.status = rd.name<confirmation_status>("confirmation");
        d.sent.time = rd.time("confirmed_at").value_or(timestamp{});
        if (auto x = rd.number("setpoint_kw", false)) d.sent.setpoint = kilowatts{*x};
        d.sent.reason = rd.text("reason", false);
        d.answer = rd.name<confirmation_answer>("answer");
        if (auto x = rd.number("http_status", false)) {
            if (*x < 0 || *x > 999 || *x != std::floor(*x)) rd.fail("http_status", error::json_value_out_of_range);
            else d.http_status = static_cast<unsigned>(*x);
        }
        d.detail = rd.text("detail", false).value_or(std::string{});
        r.data = std::move(d);
        break;
    }
    case audit_event::ended: {
        audit_ended d;
        d.reason = rd.name<end_reason>("end_reason");
        d.refused = rd.boolean("refused");
        d.why = rd.text("reason", false).value_or(std::string{});
        d.window_start = rd.time("window_start").value_or(timestamp{});
        d.window_end = rd.time("window_end").value_or(timestamp{});
        d.requested_kwh = kilowatt_hours{rd.number("requested_kwh").value_or(0)};
        d.delivered_kwh = kilowatt_hours{rd.number("delivered_kwh").value_or(0)};
        d.samples = rd.count("samples");
        r.data = std::move(d);
        break;
    }
    }
    if (rd.error()) return rd.error();
    return r;
}

/// @brief A JSON Lines file of audit records, rotated by size. See the file comment.
class audit_log {
public:
    static constexpr std::uint64_t default_max_bytes = std::uint64_t{64} << 20; ///< 64 MiB

    /// @param path the live file (`audit.jsonl`); rotated files are `path.1` … `path.keep`
    /// @param max_bytes a file is rotated before a line would take it past this
    ///   (a single longer line still goes into a file of its own)
    /// @param keep rotated files kept; 0 keeps none (the file starts again empty)
    explicit audit_log(std::filesystem::path path, std::uint64_t max_bytes = default_max_bytes, unsigned keep = 5)
        : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {}
    audit_log(audit_log const&) = delete;
    audit_log& operator=(audit_log const&) = delete;
    ~audit_log() { close(); }

    /// @brief Opens (creating it if needed) for appending. Optional: the first
    /// line opens it otherwise, but only `open()` reports why it cannot be.
    /// The error is the system's (`No such file or directory`, `Permission denied` …).
    result<void> open() {
        std::lock_guard lock(mutex_);
        if (fd_ >= 0) return {};
        if (auto ec = open_locked()) {
            last_error_ = ec;
            return ec;
        }
        return {};
    }

    /// @brief Closes the file (a later line opens it again).
    void close() noexcept {
        std::lock_guard lock(mutex_);
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    /// @brief Appends one record as one line; false (counted in `failures()`)
    /// when it could not be written. Never throws.
    bool write(audit_record const& r) noexcept {
        try {
            std::lock_guard lock(mutex_);
            line_.clear();
            encode_audit_record(r, line_);
            line_.push_back('\n');
            if (fd_ >= 0 && size_ > 0 && size_ + line_.size() > max_bytes_) rotate_locked();
            if (fd_ < 0) {
                if (auto ec = open_locked()) return failed(ec);
            }
            std::size_t done = 0;
            while (done < line_.size()) {
                auto const n = ::write(fd_, line_.data() + done, line_.size() - done);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    size_ += done;
                    return failed(errno_code());
                }
                done += static_cast<std::size_t>(n);
            }
            size_ += done;
            ++lines_;
            return true;
        } catch (...) {
            ++failures_;
            return false;
        }
    }
    /// @brief The hook's signature: `hooks().on_audit = std::ref(log)`.
    void operator()(audit_record const& r) noexcept { write(r); }

    /// @brief Lines that could not be written.
    [[nodiscard]] std::uint64_t failures() const {
        std::lock_guard lock(mutex_);
        return failures_;
    }
    /// @brief Lines written since construction.
    [[nodiscard]] std::uint64_t lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    /// @brief The last error met (opening, rotating or writing); empty if none.
    [[nodiscard]] boost::system::error_code last_error() const {
        std::lock_guard lock(mutex_);
        return last_error_;
    }
    [[nodiscard]] std::filesystem::path const& path() const noexcept { return path_; }

private:
    static boost::system::error_code errno_code() noexcept {
        return {errno, boost::system::system_category()};
    }
    bool failed(boost::system::error_code ec) noexcept {
        ++failures_;
        last_error_ = ec;
        return false;
    }
    boost::system::error_code open_locked() {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd_ < 0) return errno_code();
        struct stat st {};
        size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
        return {};
    }
    std::string rotated(unsigned i) const { return path_.string() + "." + std::to_string(i); }
    // path.(keep-1) → path.keep (the oldest goes), …, path → path.1; a
    // failure is kept in last_error and the line goes into whatever is open.
    void rotate_locked() {
        ::close(fd_);
        fd_ = -1;
        auto note = [&](int rc) {
            if (rc != 0 && errno != ENOENT) last_error_ = errno_code();
        };
        if (keep_ == 0) {
            note(::unlink(path_.c_str()));
        } else {
            for (unsigned i = keep_; i > 1; --i) note(::rename(rotated(i - 1).c_str(), rotated(i).c_str()));
            note(::rename(path_.c_str(), rotated(1).c_str()));
        }
        if (auto ec = open_locked()) last_error_ = ec;
    }

    std::filesystem::path path_;
    std::uint64_t max_bytes_;
    unsigned keep_;
    mutable std::mutex mutex_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t lines_ = 0;
    std::uint64_t failures_ = 0;
    boost::system::error_code last_error_{};
    std::string line_; // reused: no allocation per line once it has grown
};

} // namespace cleori
