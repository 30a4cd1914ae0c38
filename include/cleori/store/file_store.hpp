#pragma once
/// @file
/// @brief `cleori::file_store` — a durable `Store`: an append-only journal
/// file of checksummed records, compacted when it grows.
///
/// @code
/// auto store = cleori::file_store::open("/var/lib/site/asset-17.journal",
///                                       {.sync = cleori::fsync_policy::every_record});
/// if (!store) fail("journal: " + store.error().message());
/// if (store->recovery().discarded_bytes) warn("a torn record was dropped");
/// @endcode
///
/// Format (little-endian): the 8-byte magic `CLEORIJ1`, then records of
/// `u32 length | u32 CRC-32 of the payload | payload`, the payload one JSON
/// object per event. A crash can leave only the last record torn; `open()`
/// keeps every record up to the first one whose length or checksum does not
/// hold, reports the bytes it dropped in `recovery()`, and rewrites the
/// journal as a snapshot of what it kept. A record that passes its checksum
/// but cannot be read (a newer format, a bug) makes `open()` fail with
/// `store_record_invalid` rather than guess.
///
/// Durability (`fsync_policy`):
/// - `every_record` (default): `fdatasync` after each record, before
///   `append()` returns. Survives a process crash, a kernel panic and a power
///   cut. Costs one disk flush per sample, activation change and
///   acknowledgement (a few per telemetry interval).
/// - `periodic`: `fdatasync` at most once per `sync_interval`, when a record
///   is appended. Survives a process crash (the data is in the page cache);
///   a power cut loses at most the records since the last flush.
/// - `never`: leaves flushing to the kernel. Survives a process crash only.
///
/// Compaction: once `compact_after_bytes` have been appended, the journal is
/// rewritten as a snapshot (a temporary file, flushed, renamed over the
/// journal, and the directory flushed), so its size stays proportional to
/// what is unsent and in flight.
///
/// I/O is synchronous and runs on the agent's executor. One file per agent;
/// two processes must not open the same journal (`open()` takes an exclusive
/// `flock` and fails with "Resource temporarily unavailable" if it is held).
/// POSIX only.

#include <cleori/api/json.hpp>
#include <cleori/policies.hpp>
#include <cleori/store/store.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/crc.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cleori {

/// @brief When `file_store` flushes the journal to the disk. See the file comment.
enum class fsync_policy { every_record, periodic, never };

/// @brief Settings of a `file_store`.
struct file_store_options {
    fsync_policy sync = fsync_policy::every_record;
    std::chrono::milliseconds sync_interval{1000}; ///< with `fsync_policy::periodic`
    std::size_t compact_after_bytes = 1u << 20;    ///< appended bytes that trigger a snapshot
};

/// @brief What `file_store::open` found in an existing journal.
struct file_store_recovery {
    std::size_t records = 0;         ///< records read back
    std::size_t discarded_bytes = 0; ///< bytes after the last intact record (a torn write)
};

namespace detail {

inline constexpr std::string_view journal_magic{"CLEORIJ1", 8};
// Larger than any record the agent writes (an activation's text fields are
// bounded by the profile); a longer length field is a torn or corrupt header.
inline constexpr std::uint32_t max_journal_record = 1u << 20;

inline boost::system::error_code errno_code() noexcept {
    return {errno, boost::system::system_category()};
}

inline std::uint32_t crc32_of(std::string_view payload) noexcept {
    boost::crc_32_type crc;
    crc.process_bytes(payload.data(), payload.size());
    return crc.checksum();
}

inline void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}
inline std::uint32_t get_u32(char const* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

// Writes all of `data`, retrying short writes and EINTR.
inline boost::system::error_code write_all(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        ssize_t const n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_code();
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Owns a file descriptor; closing it also releases a `flock` taken through it.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~unique_fd() { reset(); }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    [[nodiscard]] int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }

private:
    int fd_ = -1;
};

template <class Path>
boost::system::error_code sync_directory_of(Path const& file) noexcept {
    auto dir = file.parent_path();
    if (dir.empty()) dir = ".";
    unique_fd const d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d || ::fsync(d.get()) != 0) return errno_code();
    return {};
}

constexpr std::string_view reason_name(end_reason r) noexcept {
    switch (r) {
    case end_reason::completed: return "completed";
    case end_reason::cancelled: return "cancelled";
    case end_reason::lost_contact: return "lost_contact";
    case end_reason::shutdown: return "shutdown";
    case end_reason::soc_limit: return "soc_limit";
    case end_reason::device_failed: return "device_failed";
    case end_reason::infeasible: return "infeasible";
    }
    return "?";
}

// The journal's codec and the directory flush are templates (on the types
// they are called with) for the reason `basic_file_store` is one.

// One event as one JSON object: "k" names the kind.
template <class Record>
void encode_journal_record(Record const& r, std::string& out) {
    struct visitor {
        std::string& out;
        void operator()(sample_taken const& e) const {
            out += R"({"k":"sample","seq":)";
            out += std::to_string(e.seq);
            out += R"(,"v":)";
            encode_telemetry(e.sample, out);
            out += '}';
        }
        void operator()(samples_released const& e) const {
            out += R"({"k":"released","seqs":[)";
            for (std::size_t i = 0; i < e.seqs.size(); ++i) {
                if (i) out += ',';
                out += std::to_string(e.seqs[i]);
            }
            out += "]}";
        }
        void operator()(activation_changed const& e) const {
            auto const& t = e.state;
            out += R"({"k":"activation","a":)";
            encode_activation(t.a, out);
            out += R"(,"phase":)";
            append_json_string(out, to_string(t.phase));
            out += R"(,"setpoint":)";
            append_json_number(out, t.setpoint.in_kw());
            out += R"(,"last_seen":)";
            append_json_timestamp(out, t.last_seen);
            if (t.ended) {
                out += R"(,"ended":)";
                append_json_string(out, reason_name(*t.ended));
            }
            out += R"(,"confirmed":)";
            out += t.confirmed ? "true" : "false";
            if (t.executing_sent) out += R"(,"executing_sent":true)";
            if (e.to_confirm) {
                out += R"(,"confirm":)";
                encode_confirmation(*e.to_confirm, out);
            }
            out += '}';
        }
        void operator()(confirmation_done const& e) const {
            out += R"({"k":"confirmed","id":)";
            append_json_string(out, e.id);
            out += '}';
        }
        void operator()(activation_forgotten const& e) const {
            out += R"({"k":"forgotten","id":)";
            append_json_string(out, e.id);
            out += '}';
        }
    };
    std::visit(visitor{out}, r);
}

inline void encode_next_seq(std::uint64_t next, std::string& out) {
    out += R"({"k":"next_seq","seq":)";
    out += std::to_string(next);
    out += '}';
}

template <class T, class Fields>
bool decode_journal_object(boost::json::value const* v, Fields const& fields, T& out) {
    auto const* o = v ? v->if_object() : nullptr;
    return o && !decode_object<api_profile_v1>(*o, fields, out);
}

inline std::optional<std::uint64_t> journal_u64(boost::json::value const* v) noexcept {
    if (v && v->is_uint64()) return v->get_uint64();
    if (v && v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    return std::nullopt;
}
inline std::optional<std::string_view> journal_string(boost::json::value const* v) noexcept {
    if (v && v->is_string()) return std::string_view(v->get_string().data(), v->get_string().size());
    return std::nullopt;
}

// Applies one payload to `image`; false when it cannot be read.
template <class Image>
bool replay_journal_record(std::string_view payload, Image& image) {
    boost::system::error_code ec;
    boost::json::value const v = boost::json::parse(boost::json::string_view(payload.data(), payload.size()), ec);
    auto const* o = ec ? nullptr : v.if_object();
    if (o == nullptr) return false;
    auto const kind = journal_string(o->if_contains("k"));
    if (!kind) return false;
    if (*kind == "sample") {
        auto const seq = journal_u64(o->if_contains("seq"));
        telemetry_sample s;
        if (!seq || !decode_journal_object(o->if_contains("v"), api_profile_v1::telemetry_fields, s)) return false;
        image.apply(sample_taken{*seq, s});
    } else if (*kind == "released") {
        auto const* arr = o->if_contains("seqs") ? o->at("seqs").if_array() : nullptr;
        if (arr == nullptr) return false;
        std::vector<std::uint64_t> seqs;
        for (auto const& x : *arr) {
            auto const s = journal_u64(&x);
            if (!s) return false;
            seqs.push_back(*s);
        }
        image.apply(samples_released{seqs});
    } else if (*kind == "activation") {
        activation_changed e;
        auto& t = e.state;
        if (!decode_journal_object(o->if_contains("a"), api_profile_v1::activation_fields, t.a)) return false;
        auto const phase = journal_string(o->if_contains("phase"));
        if (!phase) return false;
        bool known = false;
        for (auto p : {activation_phase::scheduled, activation_phase::starting, activation_phase::executing,
                       activation_phase::ended, activation_phase::refused})
            if (*phase == to_string(p)) t.phase = p, known = true;
        if (!known) return false;
        auto const* sp = o->if_contains("setpoint");
        double kw = 0;
        if (!sp || read_number(*sp, kw)) return false;
        t.setpoint = kilowatts{kw};
        auto const seen = journal_string(o->if_contains("last_seen"));
        auto const seen_t = seen ? parse_rfc3339(*seen) : result<timestamp>(error::json_missing_field);
        if (!seen_t) return false;
        t.last_seen = *seen_t;
        if (auto const ended = journal_string(o->if_contains("ended"))) {
            for (auto r : {end_reason::completed, end_reason::cancelled, end_reason::lost_contact, end_reason::shutdown,
                           end_reason::soc_limit, end_reason::device_failed, end_reason::infeasible})
                if (*ended == reason_name(r)) t.ended = r;
            if (!t.ended) return false;
        }
        auto const* confirmed = o->if_contains("confirmed");
        if (!confirmed || !confirmed->is_bool()) return false;
        t.confirmed = confirmed->get_bool();
        if (auto const* x = o->if_contains("executing_sent")) {
            if (!x->is_bool()) return false;
            t.executing_sent = x->get_bool();
        }
        if (auto const* c = o->if_contains("confirm")) {
            confirmation conf;
            if (!decode_journal_object(c, api_profile_v1::confirmation_fields, conf)) return false;
            e.to_confirm = conf;
        }
        image.apply(e);
    } else if (*kind == "confirmed" || *kind == "forgotten") {
        auto const id = journal_string(o->if_contains("id"));
        if (!id) return false;
        if (*kind == "confirmed") image.apply(confirmation_done{*id});
        else image.apply(activation_forgotten{*id});
    } else if (*kind == "next_seq") {
        auto const seq = journal_u64(o->if_contains("seq"));
        if (!seq) return false;
        image.next_seq = std::max(image.next_seq, *seq);
    } else {
        return false;
    }
    return true;
}

inline void frame_journal_record(std::string_view payload, std::string& out) {
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, crc32_of(payload));
    out.append(payload);
}

} // namespace detail

/// @brief A durable `Store` in one journal file. See the file comment.
/// Name it as `cleori::file_store`.
///
/// A class template only so that its member functions are compiled where a
/// store is made: a translation unit that includes the headers but keeps no
/// journal does not pay for them. `Unused` has no other role.
template <class Unused = void>
class basic_file_store {
public:
    /// @brief Opens (or creates) the journal at `path`, reads back every
    /// intact record, and rewrites the journal as a snapshot of them.
    /// Errors: the system's (open, read, write, flush, rename, lock),
    /// `store_bad_format` (not a cleori journal), `store_record_invalid`.
    static result<basic_file_store> open(std::filesystem::path path, file_store_options options = {}) {
        basic_file_store s(std::move(path), options);
        if (auto ec = s.recover()) return ec;
        if (auto ec = s.snapshot()) return ec;
        return s;
    }

    basic_file_store(basic_file_store&&) noexcept = default;
    basic_file_store& operator=(basic_file_store&&) noexcept = default;

    /// @brief The state recorded so far.
    result<store_image> load() { return image_; }

    /// @brief Appends one record and flushes it as the policy says. On a
    /// failed write the journal is cut back to its last whole record.
    result<void> append(store_record const& r) {
        if (!fd_) return boost::system::error_code(EBADF, boost::system::system_category());
        payload_.clear();
        detail::encode_journal_record(r, payload_);
        frame_.clear();
        detail::frame_journal_record(payload_, frame_);
        if (auto ec = detail::write_all(fd_.get(), frame_)) {
            (void)::ftruncate(fd_.get(), static_cast<off_t>(size_));
            (void)::lseek(fd_.get(), 0, SEEK_END);
            return ec;
        }
        size_ += frame_.size();
        appended_ += frame_.size();
        image_.apply(r);
        if (auto ec = maybe_sync()) return ec;
        if (appended_ >= options_.compact_after_bytes) {
            if (auto ec = snapshot()) return ec;
        }
        return {};
    }

    /// @brief What `open()` read back.
    [[nodiscard]] file_store_recovery const& recovery() const noexcept { return recovery_; }
    [[nodiscard]] std::filesystem::path const& path() const noexcept { return path_; }
    /// @brief The journal's size in bytes.
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

private:
    basic_file_store(std::filesystem::path path, file_store_options options) : path_(std::move(path)), options_(options) {}

    boost::system::error_code recover() {
        // The lock lives on a side file: the journal itself is replaced by rename.
        auto const lock_path = path_.string() + ".lock";
        lock_fd_ = detail::unique_fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!lock_fd_) return detail::errno_code();
        if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) return detail::errno_code();

        detail::unique_fd const fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return errno == ENOENT ? boost::system::error_code{} : detail::errno_code();
        std::string data;
        char buf[65536];
        for (;;) {
            ssize_t const n = ::read(fd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return detail::errno_code();
            if (n == 0) break;
            data.append(buf, static_cast<std::size_t>(n));
        }
        if (data.empty()) return {};
        if (data.size() < detail::journal_magic.size() ||
            std::string_view(data).substr(0, detail::journal_magic.size()) != detail::journal_magic) {
            // A crash while the first snapshot was written leaves a prefix of the magic.
            if (detail::journal_magic.substr(0, data.size()) == data) {
                recovery_.discarded_bytes = data.size();
                return {};
            }
            return error::store_bad_format;
        }
        std::size_t at = detail::journal_magic.size();
        while (data.size() - at >= 8) {
            std::uint32_t const len = detail::get_u32(data.data() + at);
            std::uint32_t const crc = detail::get_u32(data.data() + at + 4);
            if (len > detail::max_journal_record || data.size() - at - 8 < len) break;
            std::string_view const payload(data.data() + at + 8, len);
            if (detail::crc32_of(payload) != crc) break;
            if (!detail::replay_journal_record(payload, image_)) return error::store_record_invalid;
            ++recovery_.records;
            at += 8 + len;
        }
        recovery_.discarded_bytes = data.size() - at;
        return {};
    }

    // Rewrites the journal as the current image: a temporary file, flushed,
    // renamed over the journal, then the directory flushed — at every
    // instant either the old or the new journal is complete on disk.
    boost::system::error_code snapshot() {
        std::string out(detail::journal_magic);
        auto record = [&](store_record const& r) {
            payload_.clear();
            detail::encode_journal_record(r, payload_);
            detail::frame_journal_record(payload_, out);
        };
        payload_.clear();
        detail::encode_next_seq(image_.next_seq, payload_);
        detail::frame_journal_record(payload_, out);
        for (auto const& t : image_.activations) record(activation_changed{t, std::nullopt});
        for (auto const& c : image_.confirmations) {
            for (auto const& t : image_.activations)
                if (t.a.id == c.id) record(activation_changed{t, c.c});
        }
        for (auto const& s : image_.samples) record(sample_taken{s.seq, s.sample});

        auto const tmp = path_.string() + ".tmp";
        detail::unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!fd) return detail::errno_code();
        boost::system::error_code ec = detail::write_all(fd.get(), out);
        if (!ec && options_.sync != fsync_policy::never && ::fdatasync(fd.get()) != 0) ec = detail::errno_code();
        if (!ec && ::rename(tmp.c_str(), path_.c_str()) != 0) ec = detail::errno_code();
        if (ec) {
            ::unlink(tmp.c_str());
            return ec;
        }
        if (options_.sync != fsync_policy::never) {
            if (auto dec = detail::sync_directory_of(path_)) return dec;
        }
        // The new file is already open for writing at its end.
        fd_ = std::move(fd);
        size_ = out.size();
        appended_ = 0;
        last_sync_ = std::chrono::steady_clock::now();
        return {};
    }

    boost::system::error_code maybe_sync() {
        switch (options_.sync) {
        case fsync_policy::never: return {};
        case fsync_policy::periodic:
            if (std::chrono::steady_clock::now() - last_sync_ < options_.sync_interval) return {};
            break;
        case fsync_policy::every_record: break;
        }
        if (::fdatasync(fd_.get()) != 0) return detail::errno_code();
        last_sync_ = std::chrono::steady_clock::now();
        return {};
    }

    std::filesystem::path path_;
    file_store_options options_;
    file_store_recovery recovery_{};
    store_image image_{};
    detail::unique_fd fd_;
    detail::unique_fd lock_fd_; // held for the store's life: one owner per journal
    std::uint64_t size_ = 0;
    std::uint64_t appended_ = 0;
    std::chrono::steady_clock::time_point last_sync_{};
    std::string payload_, frame_;
};

/// @brief A durable `Store` in one journal file (`basic_file_store` explains the template).
using file_store = basic_file_store<>;

// test/static/store.cpp checks that file_store models Store, once, instead of
// every translation unit that includes this header.

/// @brief The default policies with the store a `file_store` journal: the
/// bundle of `cleori::durable_agent` (doc/concepts/Policies.md).
struct durable_policies : default_policies {
    using store = file_store;
};

} // namespace cleori
