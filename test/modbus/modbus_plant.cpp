// cleori-modbus-plant: a Modbus TCP server that plays a battery plant, built
// on libmodbus so that cleori's own asynchronous Modbus client is tested
// against an implementation we did not write.
//
// One battery per unit id. Register layout (0-based protocol addresses):
//
//   Input registers (FC 4)
//     0-1      measured active power, s32, high word first, W, + = discharge
//     2        state of charge, u16, 0.1 % (500 = 50.0 %)
//     3        status: 1 running (power != 0), 2 standby (power 0),
//              3 PCS fault, 4 BMS alarm, 5 watchdog expired
//     300-313  constant type test pattern (see kPattern below)
//   Holding registers (FC 3, 6, 16)
//     100-101  power setpoint, s32, high word first, W, + = discharge
//     102      heartbeat: a write that changes the value resets the watchdog
//     103      fault injection: 3 or 4 forces that status and power 0 until
//              0 is written; other values are refused (exception 3)
//     104      misbehaviour for the next request the server receives (on any
//              connection, for any unit), then back to 0: 1 wrong transaction
//              id, 2 first 5 reply bytes then close, 3 no answer (connection
//              stays open), 4 close without answering, 5 an exception
//              response with code 0, 6 one with code 100; > 6 refused
//     200-299  scratch, no effect
//   Both tables map addresses 0-399 (unlisted ones read 0, and writes to them
//   have no effect); 400 and up answer exception 2. Coils, discrete inputs
//   and every function code other than 3, 4, 6 and 16 answer exception 1.
//   A unit id not served answers exception 0x0B; unit ids 0 and 255 address
//   the first served unit. With modes 3 and 4 the request is dropped unread
//   (a write does not take effect); with modes 1 and 2 it is executed.
//
// Plant physics per unit: a setpoint takes effect --response-ms after it is
// written (a step after a delay), clamped to +-max power. SoC integrates the
// power with round-trip efficiency eta: charging stores |p|*sqrt(eta),
// discharging draws p/sqrt(eta); power reads 0 at 0 % while discharging and
// at 100 % while charging. With --watchdog-ms > 0 and no heartbeat change
// within that time the setpoint is treated as 0 and status reads 5 until a
// heartbeat change arrives.
//
// Once listening it prints exactly one line to stdout,
//   cleori-modbus-plant: listening on ADDRESS:PORT
// and logs writes and connections to stderr, one line each. SIGTERM/SIGINT
// end it with exit status 0; bad command-line values exit with status 2.

#include <modbus.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

constexpr const char* kProgram = "cleori-modbus-plant";

constexpr const char* kUsage =
    "usage: cleori-modbus-plant [--port N] [--bind A] [--units U,U,...]\n"
    "         [--capacity-kwh X] [--max-kw X] [--response-ms N] [--soc X]\n"
    "         [--efficiency X] [--watchdog-ms N]\n"
    "\n"
    "  --port N          TCP port, 0 picks a free one (default 1502)\n"
    "  --bind A          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --units U,U,...   unit ids served, 1-247, one battery each (default 1)\n"
    "  --capacity-kwh X  usable energy per battery, > 0 (default 200)\n"
    "  --max-kw X        power limit per battery, > 0 (default 100)\n"
    "  --response-ms N   delay before a new setpoint takes effect (default 500)\n"
    "  --soc X           initial state of charge in %, 0-100 (default 50)\n"
    "  --efficiency X    round-trip efficiency in %, (0, 100] (default 90)\n"
    "  --watchdog-ms N   heartbeat watchdog, 0 = off (default 0)\n"
    "  --help            print this text\n"
    "\n"
    "Prints 'cleori-modbus-plant: listening on ADDRESS:PORT' once listening.\n";

// ---- Register layout ------------------------------------------------------

namespace reg {
// Input registers.
constexpr int power = 0;  // 0-1, s32
constexpr int soc = 2;
constexpr int status = 3;
constexpr int pattern = 300;  // 300-313
// Holding registers.
constexpr int setpoint = 100;  // 100-101, s32
constexpr int heartbeat = 102;
constexpr int fault = 103;
constexpr int misbehave = 104;
// Both tables hold addresses [0, mapped).
constexpr int mapped = 400;
}  // namespace reg

namespace status {
constexpr std::uint16_t running = 1;
constexpr std::uint16_t standby = 2;
constexpr std::uint16_t pcs_fault = 3;
constexpr std::uint16_t bms_alarm = 4;
constexpr std::uint16_t watchdog = 5;
}  // namespace status

namespace misbehave {
constexpr std::uint16_t none = 0;
constexpr std::uint16_t wrong_tid = 1;
constexpr std::uint16_t truncate = 2;
constexpr std::uint16_t silent = 3;
constexpr std::uint16_t hang_up = 4;
constexpr std::uint16_t exception_0 = 5;    // an exception response with code 0 (no such code)
constexpr std::uint16_t exception_100 = 6;  // an exception response with code 100 (not a standard code)
}  // namespace misbehave

constexpr std::uint16_t hi(std::uint32_t v) { return static_cast<std::uint16_t>(v >> 16); }
constexpr std::uint16_t lo(std::uint32_t v) { return static_cast<std::uint16_t>(v & 0xFFFFu); }

constexpr std::uint32_t kU32 = 0x12345678u;
constexpr std::uint32_t kS32 = static_cast<std::uint32_t>(std::int32_t{-123456789});
constexpr std::uint32_t kF32 = std::bit_cast<std::uint32_t>(-1234.5f);
static_assert(kS32 == 0xF8A432EBu);
static_assert(kF32 == 0xC49A5000u);

// Input registers 300-313.
constexpr std::uint16_t kPattern[14] = {
    0xBEEF,                                          // 300     u16
    static_cast<std::uint16_t>(std::int16_t{-1234}),  // 301     s16
    hi(kU32), lo(kU32),                              // 302-303 u32, high word first
    lo(kU32), hi(kU32),                              // 304-305 u32, low word first
    hi(kS32), lo(kS32),                              // 306-307 s32, high word first
    lo(kS32), hi(kS32),                              // 308-309 s32, low word first
    hi(kF32), lo(kF32),                              // 310-311 f32, high word first
    lo(kF32), hi(kF32),                              // 312-313 f32, low word first
};

// ---- Logging ---------------------------------------------------------------

// One line on stderr per call, written with a single fwrite.
[[gnu::format(printf, 1, 2)]] void log_line(const char* format, ...) {
    char text[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    std::string line = std::string(kProgram) + ": " + text + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

[[noreturn]] void bad_usage(const std::string& message) {
    std::string line = std::string(kProgram) + ": " + message + "\n" + kUsage;
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::exit(2);
}

// ---- Command line ----------------------------------------------------------

struct Options {
    int port = 1502;
    std::string bind = "127.0.0.1";
    std::vector<int> units = {1};
    double capacity_kwh = 200;
    double max_kw = 100;
    long response_ms = 500;
    double soc_percent = 50;
    double efficiency_percent = 90;
    long watchdog_ms = 0;
};

std::optional<long> parse_long(const std::string& text, long min, long max) {
    if (text.empty() || !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    long value = std::strtol(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max) return std::nullopt;
    return value;
}

// Accepts min < value (or min <= value when min_inclusive) and value <= max.
std::optional<double> parse_double(const std::string& text, double min, bool min_inclusive, double max) {
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (errno != 0 || *end != '\0' || !std::isfinite(value)) return std::nullopt;
    if (value > max || value < min || (!min_inclusive && value == min)) return std::nullopt;
    return value;
}

std::vector<int> parse_units(const std::string& text) {
    std::vector<int> units;
    std::size_t start = 0;
    for (;;) {
        std::size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto unit = parse_long(item, 1, 247);
        if (!unit) bad_usage("--units: '" + item + "' is not a unit id 1-247");
        if (std::find(units.begin(), units.end(), *unit) != units.end())
            bad_usage("--units: unit " + item + " given twice");
        units.push_back(static_cast<int>(*unit));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return units;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        std::string name = arg;
        std::string value;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        } else {
            static constexpr std::string_view known[] = {"--port",   "--bind",        "--units",
                                                         "--capacity-kwh", "--max-kw", "--response-ms",
                                                         "--soc",    "--efficiency",  "--watchdog-ms"};
            if (std::find(std::begin(known), std::end(known), arg) == std::end(known))
                bad_usage("unknown option '" + arg + "'");
            if (i + 1 >= argc) bad_usage(arg + " needs a value");
            value = argv[++i];
        }
        auto need = [&](auto parsed, const char* what) {
            if (!parsed) bad_usage(name + ": '" + value + "' is not " + what);
            return *parsed;
        };
        if (name == "--port") {
            o.port = static_cast<int>(need(parse_long(value, 0, 65535), "a port 0-65535"));
        } else if (name == "--bind") {
            in_addr address{};
            if (inet_pton(AF_INET, value.c_str(), &address) != 1)
                bad_usage("--bind: '" + value + "' is not an IPv4 address");
            o.bind = value;
        } else if (name == "--units") {
            o.units = parse_units(value);
        } else if (name == "--capacity-kwh") {
            o.capacity_kwh = need(parse_double(value, 0, false, 1e9), "a capacity > 0");
        } else if (name == "--max-kw") {
            // The power registers are s32 watts.
            o.max_kw = need(parse_double(value, 0, false, 2e6), "a power > 0 and <= 2000000");
        } else if (name == "--response-ms") {
            o.response_ms = need(parse_long(value, 0, 86'400'000), "a delay 0-86400000");
        } else if (name == "--soc") {
            o.soc_percent = need(parse_double(value, 0, true, 100), "a percentage 0-100");
        } else if (name == "--efficiency") {
            o.efficiency_percent = need(parse_double(value, 0, false, 100), "a percentage > 0 and <= 100");
        } else if (name == "--watchdog-ms") {
            o.watchdog_ms = need(parse_long(value, 0, 86'400'000), "a time 0-86400000");
        } else {
            bad_usage("unknown option '" + name + "'");
        }
    }
    return o;
}

// ---- Plant -----------------------------------------------------------------

struct Physics {
    double capacity_wh;
    double max_w;
    Millis response;
    Millis watchdog;  // 0 = off
    double sqrt_efficiency;
};

// What a request changed in the test-control registers.
struct WriteEffects {
    std::optional<std::uint16_t> misbehave;
};

class Plant {
public:
    Plant(int unit, const Physics& physics, double soc_fraction, TimePoint now)
        : unit_(unit),
          physics_(physics),
          map_(modbus_mapping_new_start_address(0, 0, 0, 0, 0, reg::mapped, 0, reg::mapped)),
          soc_wh_(soc_fraction * physics.capacity_wh),
          last_(now),
          last_heartbeat_(now) {
        if (map_ == nullptr) {
            log_line("cannot allocate the register mapping: %s", modbus_strerror(errno));
            std::exit(1);
        }
        std::copy(std::begin(kPattern), std::end(kPattern), map_->tab_input_registers + reg::pattern);
        remember();
        publish(now);
    }
    ~Plant() { modbus_mapping_free(map_); }
    Plant(const Plant&) = delete;
    Plant& operator=(const Plant&) = delete;

    int unit() const { return unit_; }
    modbus_mapping_t* mapping() const { return map_; }

    // Runs the plant up to `now` and writes the input registers.
    void update(TimePoint now) {
        advance(now);
        publish(now);
    }

    // Reacts to what modbus_reply wrote into the holding registers.
    WriteEffects after_write(TimePoint now) {
        WriteEffects effects;
        const std::uint16_t* h = map_->tab_registers;
        if (h[reg::setpoint] != seen_[0] || h[reg::setpoint + 1] != seen_[1]) {
            auto setpoint = static_cast<std::int32_t>((std::uint32_t{h[reg::setpoint]} << 16) | h[reg::setpoint + 1]);
            pending_.emplace_back(now + physics_.response, setpoint);
            log_line("unit=%d setpoint_w=%ld", unit_, static_cast<long>(setpoint));
        }
        if (h[reg::heartbeat] != seen_[2]) {
            last_heartbeat_ = now;
            log_line("unit=%d heartbeat=%u", unit_, unsigned{h[reg::heartbeat]});
        }
        if (h[reg::fault] != seen_[3]) {
            fault_ = h[reg::fault];
            log_line("unit=%d fault=%u", unit_, unsigned{fault_});
        }
        if (h[reg::misbehave] != seen_[4]) {
            effects.misbehave = h[reg::misbehave];
            log_line("unit=%d misbehave=%u", unit_, unsigned{h[reg::misbehave]});
        }
        remember();
        update(now);  // a zero response time applies at once
        return effects;
    }

    // The server keeps one misbehaviour for all units; this mirrors it.
    void show_misbehave(std::uint16_t mode) {
        map_->tab_registers[reg::misbehave] = mode;
        seen_[4] = mode;
    }

private:
    void remember() {
        for (int i = 0; i < 5; ++i) seen_[i] = map_->tab_registers[reg::setpoint + i];
    }

    bool watchdog_expired(TimePoint t) const {
        return physics_.watchdog.count() > 0 && t >= last_heartbeat_ + physics_.watchdog;
    }

    // The power the plant delivers at time t in its current state.
    double power_at(TimePoint t) const {
        if (fault_ != 0 || watchdog_expired(t)) return 0;
        double p = std::clamp(static_cast<double>(active_w_), -physics_.max_w, physics_.max_w);
        if (p > 0 && soc_wh_ <= 0) return 0;
        if (p < 0 && soc_wh_ >= physics_.capacity_wh) return 0;
        return p;
    }

    void apply_due(TimePoint t) {
        while (!pending_.empty() && pending_.front().first <= t) {
            active_w_ = pending_.front().second;
            pending_.pop_front();
        }
        bool expired = watchdog_expired(t);
        if (expired != watchdog_logged_) {
            log_line("unit=%d watchdog=%s", unit_, expired ? "expired" : "restored");
            watchdog_logged_ = expired;
        }
    }

    // Integrates piecewise: the power is constant between setpoint changes and
    // watchdog expiry; hitting 0 % or 100 % simply clamps the energy.
    void advance(TimePoint now) {
        TimePoint t = last_;
        for (;;) {
            apply_due(t);
            if (t >= now) break;
            TimePoint end = now;
            if (!pending_.empty()) end = std::min(end, pending_.front().first);
            TimePoint deadline = last_heartbeat_ + physics_.watchdog;
            if (physics_.watchdog.count() > 0 && t < deadline) end = std::min(end, deadline);
            double hours = std::chrono::duration<double>(end - t).count() / 3600.0;
            double p = power_at(t);
            if (p > 0) soc_wh_ = std::max(0.0, soc_wh_ - p * hours / physics_.sqrt_efficiency);
            if (p < 0) soc_wh_ = std::min(physics_.capacity_wh, soc_wh_ - p * hours * physics_.sqrt_efficiency);
            t = end;
        }
        last_ = std::max(last_, now);
    }

    void publish(TimePoint now) {
        auto power = static_cast<std::int32_t>(std::lround(power_at(now)));
        auto bits = static_cast<std::uint32_t>(power);
        std::uint16_t* in = map_->tab_input_registers;
        in[reg::power] = hi(bits);
        in[reg::power + 1] = lo(bits);
        long soc = std::lround(soc_wh_ / physics_.capacity_wh * 1000.0);
        in[reg::soc] = static_cast<std::uint16_t>(std::clamp(soc, 0L, 1000L));
        // What the plant delivers, each time it changes: the log shows the
        // measured power following the setpoint after the response time.
        if (power != logged_power_) {
            log_line("unit=%d power_w=%ld soc=%.1f%%", unit_, static_cast<long>(power), static_cast<double>(soc) / 10.0);
            logged_power_ = power;
        }
        if (fault_ != 0)
            in[reg::status] = fault_;
        else if (watchdog_expired(now))
            in[reg::status] = status::watchdog;
        else
            in[reg::status] = power != 0 ? status::running : status::standby;
    }

    int unit_;
    Physics physics_;
    modbus_mapping_t* map_;
    double soc_wh_;
    std::int32_t active_w_ = 0;                              // setpoint in effect
    std::deque<std::pair<TimePoint, std::int32_t>> pending_;  // (takes effect at, setpoint)
    std::uint16_t fault_ = 0;
    TimePoint last_;
    TimePoint last_heartbeat_;
    bool watchdog_logged_ = false;
    std::int32_t logged_power_ = 0;
    std::uint16_t seen_[5] = {};  // holding registers 100-104 as last handled
};

// ---- Server ----------------------------------------------------------------

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }

std::uint16_t read16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((unsigned{p[0]} << 8) | p[1]);
}

std::string address_text(const sockaddr_in& address) {
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &address.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(address.sin_port));
}

bool send_all(int fd, const std::uint8_t* data, std::size_t size) {
    while (size > 0) {
        ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return false;
        data += sent;
        size -= static_cast<std::size_t>(sent);
    }
    return true;
}

class Server {
public:
    Server(const Options& options, const Physics& physics) : options_(options) {
        TimePoint now = Clock::now();
        for (int unit : options.units)
            plants_.push_back(std::make_unique<Plant>(unit, physics, options.soc_percent / 100.0, now));
    }

    ~Server() {
        for (const Connection& c : connections_) ::close(c.fd);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        for (int fd : capture_)
            if (fd >= 0) ::close(fd);
        if (ctx_ != nullptr) {
            modbus_set_socket(ctx_, -1);
            modbus_free(ctx_);
        }
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Listens and prints the "listening on" line; exits with 1 on failure.
    void listen() {
        ctx_ = modbus_new_tcp(options_.bind.c_str(), options_.port);
        if (ctx_ == nullptr) fatal("modbus_new_tcp");
        listen_fd_ = modbus_tcp_listen(ctx_, 32);
        if (listen_fd_ < 0) fatal(("cannot listen on " + options_.bind + ":" + std::to_string(options_.port)).c_str());
        ::fcntl(listen_fd_, F_SETFD, FD_CLOEXEC);
        ::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
        sockaddr_in bound{};
        socklen_t length = sizeof bound;
        if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length) != 0) fatal("getsockname");
        // modbus_reply writes to the context's socket; it writes into this
        // socket pair so the reply can be sent, or mangled, by us.
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, capture_) != 0) fatal("socketpair");
        ::fcntl(capture_[1], F_SETFL, ::fcntl(capture_[1], F_GETFL) | O_NONBLOCK);
        std::printf("%s: listening on %s\n", kProgram, address_text(bound).c_str());
        std::fflush(stdout);
    }

    // Serves until SIGTERM or SIGINT.
    void run() {
        while (g_stop_signal == 0) {
            fd_set readable;
            FD_ZERO(&readable);
            FD_SET(listen_fd_, &readable);
            int max_fd = listen_fd_;
            for (const Connection& c : connections_) {
                FD_SET(c.fd, &readable);
                max_fd = std::max(max_fd, c.fd);
            }
            timeval timeout{0, 20'000};
            int ready = ::select(max_fd + 1, &readable, nullptr, nullptr, &timeout);
            update_all(Clock::now());
            if (ready < 0) {
                if (errno == EINTR) continue;
                fatal("select");
            }
            if (ready == 0) continue;
            if (FD_ISSET(listen_fd_, &readable)) accept_connection();
            // Copy: handling a request may close connections.
            std::vector<int> fds;
            for (const Connection& c : connections_)
                if (FD_ISSET(c.fd, &readable)) fds.push_back(c.fd);
            for (int fd : fds)
                if (find(fd) != nullptr) handle_request(fd);
        }
        log_line("stopping on signal %d", static_cast<int>(g_stop_signal));
    }

private:
    struct Connection {
        int fd;
        std::string peer;
    };

    [[noreturn]] void fatal(const char* what) {
        log_line("%s: %s", what, modbus_strerror(errno));
        std::exit(1);
    }

    Connection* find(int fd) {
        for (Connection& c : connections_)
            if (c.fd == fd) return &c;
        return nullptr;
    }

    void update_all(TimePoint now) {
        for (auto& plant : plants_) plant->update(now);
    }

    void accept_connection() {
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_line("accept: %s", std::strerror(errno));
            return;
        }
        if (fd >= FD_SETSIZE) {
            log_line("conn refused: too many connections");
            ::close(fd);
            return;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        connections_.push_back({fd, address_text(peer)});
        log_line("conn=%d peer=%s open", fd, connections_.back().peer.c_str());
    }

    void close_connection(int fd, const char* reason) {
        auto it = std::find_if(connections_.begin(), connections_.end(), [fd](const Connection& c) { return c.fd == fd; });
        if (it == connections_.end()) return;
        log_line("conn=%d peer=%s close reason=%s", fd, it->peer.c_str(), reason);
        ::close(fd);
        connections_.erase(it);
    }

    Plant* plant_for(int unit) {
        if (unit == 0 || unit == 255) return plants_.front().get();
        for (auto& plant : plants_)
            if (plant->unit() == unit) return plant.get();
        return nullptr;
    }

    // libmodbus reads a request by its function code and ignores the MBAP
    // length; discard any bytes the MBAP header declares beyond that (e.g. the
    // payload of an unsupported function) so they are not taken for the next
    // request.
    bool discard_excess(int fd, const std::uint8_t* req, int length) {
        int declared = 6 + read16(req + 4);
        int excess = declared - length;
        if (excess <= 0 || declared > MODBUS_TCP_MAX_ADU_LENGTH) return true;
        std::uint8_t sink[MODBUS_TCP_MAX_ADU_LENGTH];
        while (excess > 0) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 500) <= 0) return false;
            ssize_t got = ::recv(fd, sink, static_cast<std::size_t>(excess), 0);
            if (got <= 0) return false;
            excess -= static_cast<int>(got);
        }
        return true;
    }

    // True if an FC 6 or FC 16 request writes a value the test-control
    // registers refuse. Malformed requests are left to libmodbus.
    static bool refused_control_write(const std::uint8_t* req, int length, int offset) {
        auto refused = [](int address, std::uint16_t value) {
            return (address == reg::fault && value != 0 && value != status::pcs_fault && value != status::bms_alarm) ||
                   (address == reg::misbehave && value > misbehave::exception_100);
        };
        const std::uint8_t* pdu = req + offset;
        if (pdu[0] == MODBUS_FC_WRITE_SINGLE_REGISTER && length >= offset + 5)
            return refused(read16(pdu + 1), read16(pdu + 3));
        if (pdu[0] == MODBUS_FC_WRITE_MULTIPLE_REGISTERS && length >= offset + 6) {
            int address = read16(pdu + 1);
            int count = read16(pdu + 3);
            if (count < 1 || count > MODBUS_MAX_WRITE_REGISTERS || pdu[5] != count * 2 || length < offset + 6 + count * 2)
                return false;
            for (int i = 0; i < count; ++i)
                if (refused(address + i, read16(pdu + 6 + 2 * i))) return true;
        }
        return false;
    }

    // Runs a libmodbus reply function against the capture socket and returns
    // the bytes it would have sent.
    template <class Reply>
    std::vector<std::uint8_t> capture(Reply reply) {
        std::uint8_t buffer[2 * MODBUS_TCP_MAX_ADU_LENGTH];
        while (::recv(capture_[1], buffer, sizeof buffer, 0) > 0) {
        }
        modbus_set_socket(ctx_, capture_[0]);
        int rc = reply();
        int saved_errno = errno;
        modbus_set_socket(ctx_, -1);
        if (rc < 0) {
            log_line("reply: %s", modbus_strerror(saved_errno));
            return {};
        }
        ssize_t got = ::recv(capture_[1], buffer, sizeof buffer, 0);
        if (got <= 0) return {};
        return {buffer, buffer + got};
    }

    void set_misbehave(std::uint16_t mode) {
        misbehave_ = mode;
        for (auto& plant : plants_) plant->show_misbehave(mode);
    }

    void handle_request(int fd) {
        std::uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
        modbus_set_socket(ctx_, fd);
        int length = modbus_receive(ctx_, req);
        int saved_errno = errno;
        modbus_set_socket(ctx_, -1);
        if (length < 0) {
            close_connection(fd, saved_errno == ECONNRESET ? "peer" : modbus_strerror(saved_errno));
            return;
        }
        if (length == 0) return;  // ignored by libmodbus
        if (!discard_excess(fd, req, length)) {
            close_connection(fd, "truncated request");
            return;
        }
        const int offset = modbus_get_header_length(ctx_);  // function code; unit id before it
        const int unit = req[offset - 1];
        const int function = req[offset];

        std::uint16_t mode = misbehave_;
        if (mode != misbehave::none) {
            set_misbehave(misbehave::none);
            log_line("conn=%d unit=%d fc=%d misbehave=%u applied", fd, unit, function, unsigned{mode});
        }
        if (mode == misbehave::silent) return;
        if (mode == misbehave::hang_up) {
            close_connection(fd, "misbehave");
            return;
        }

        TimePoint now = Clock::now();
        Plant* plant = plant_for(unit);
        std::vector<std::uint8_t> reply;
        if (mode == misbehave::exception_0 || mode == misbehave::exception_100) {
            // libmodbus frames a standard exception; the code is then replaced.
            reply = capture([&] { return modbus_reply_exception(ctx_, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION); });
            if (reply.size() == 9) reply[8] = mode == misbehave::exception_0 ? 0 : 100;
        } else if (plant == nullptr) {
            reply = capture([&] { return modbus_reply_exception(ctx_, req, MODBUS_EXCEPTION_GATEWAY_TARGET); });
        } else if (function != MODBUS_FC_READ_HOLDING_REGISTERS && function != MODBUS_FC_READ_INPUT_REGISTERS &&
                   function != MODBUS_FC_WRITE_SINGLE_REGISTER && function != MODBUS_FC_WRITE_MULTIPLE_REGISTERS) {
            reply = capture([&] { return modbus_reply_exception(ctx_, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION); });
        } else if (refused_control_write(req, length, offset)) {
            reply = capture([&] { return modbus_reply_exception(ctx_, req, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE); });
        } else {
            plant->update(now);
            reply = capture([&] { return modbus_reply(ctx_, req, length, plant->mapping()); });
            WriteEffects effects = plant->after_write(now);
            if (effects.misbehave) set_misbehave(*effects.misbehave);
        }
        if (reply.empty()) {
            close_connection(fd, "no reply");
            return;
        }
        if (mode == misbehave::wrong_tid) {
            auto tid = static_cast<std::uint16_t>(read16(reply.data()) + 1);
            reply[0] = static_cast<std::uint8_t>(tid >> 8);
            reply[1] = static_cast<std::uint8_t>(tid & 0xFF);
        }
        if (mode == misbehave::truncate) {
            send_all(fd, reply.data(), std::min<std::size_t>(reply.size(), 5));
            close_connection(fd, "misbehave");
            return;
        }
        if (!send_all(fd, reply.data(), reply.size())) close_connection(fd, std::strerror(errno));
    }

    const Options& options_;
    modbus_t* ctx_ = nullptr;
    int listen_fd_ = -1;
    int capture_[2] = {-1, -1};
    std::vector<std::unique_ptr<Plant>> plants_;
    std::vector<Connection> connections_;
    std::uint16_t misbehave_ = misbehave::none;
};

}  // namespace

int main(int argc, char** argv) {
    Options options = parse_options(argc, argv);
    Physics physics{
        options.capacity_kwh * 1000.0,
        options.max_kw * 1000.0,
        Millis(options.response_ms),
        Millis(options.watchdog_ms),
        std::sqrt(options.efficiency_percent / 100.0),
    };

    struct sigaction stop{};
    stop.sa_handler = on_stop_signal;
    sigemptyset(&stop.sa_mask);
    stop.sa_flags = 0;  // no SA_RESTART: select() returns EINTR at once
    sigaction(SIGTERM, &stop, nullptr);
    sigaction(SIGINT, &stop, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Server server(options, physics);
    server.listen();
    server.run();
    return 0;
}
