// cleori-crash-agent: one durable agent as a process, for the crash test
// (test/net/crash.cpp) and scripts/crash-trials, which kill it with SIGKILL
// at random moments and start it again.
//
//   CLEORI_TOKEN=… cleori-crash-agent URL JOURNAL DEVICE_LOG WITNESS TELEMETRY_MS POLL_MS [FSYNC]
//
// The battery outlives the process, as a real one does: every setpoint it
// accepts is appended to DEVICE_LOG ("<unix µs> <kW>"), and a new process
// reads its last line as the power it finds. WITNESS receives a line for each
// event the journal has kept (appended after `append` returned):
//   S <time>          a sample, which must reach Cleori
//   C <id> <status>   a confirmation owed, which must reach Cleori
//   X <id>            an activation began executing, which must happen once
// SIGTERM stops the agent gracefully.
#include <cleori/agent.hpp>
#include <cleori/store/file_store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace cleori::literals;

std::int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One write(2) per line on an O_APPEND descriptor: a line is in the file
// whole or not at all when the process dies.
class append_file {
public:
    explicit append_file(char const* path) : fd_(::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
        if (fd_ < 0) {
            std::perror(path);
            std::exit(2);
        }
    }
    ~append_file() { ::close(fd_); }
    void line(std::string const& s) {
        std::string l = s + '\n';
        if (::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::perror("write");
    }

private:
    int fd_;
};

struct logged_battery {
    static constexpr cleori::battery_ratings ratings{.capacity = 2000.0_kWh,
                                                     .max_charge = 500.0_kW,
                                                     .max_discharge = 500.0_kW,
                                                     .response_time = std::chrono::milliseconds(200),
                                                     .round_trip_efficiency = 90.0_pct,
                                                     .chemistry = cleori::chemistry::lifepo4,
                                                     .min_soc = 5.0_pct,
                                                     .max_soc = 95.0_pct};
    boost::asio::any_io_executor ex;
    append_file& log;
    cleori::kilowatts power{};

    void async_read_state(auto handler) {
        boost::asio::post(ex, [h = std::move(handler), p = power]() mutable {
            std::move(h)(boost::system::error_code{}, cleori::battery_state{p, 50.0_pct});
        });
    }
    void async_apply_setpoint(cleori::kilowatts kw, auto handler) {
        log.line(std::to_string(unix_us()) + " " + std::to_string(kw.in_kw()));
        power = kw;
        boost::asio::post(ex, [h = std::move(handler)]() mutable { std::move(h)(boost::system::error_code{}); });
    }
};

// The journal, and a witness of each event once it is kept.
struct witnessed_store {
    cleori::file_store journal;
    append_file& witness;

    cleori::result<cleori::store_image> load() { return journal.load(); }
    cleori::result<void> append(cleori::store_record const& r) {
        auto kept = journal.append(r);
        if (!kept) return kept;
        if (auto const* s = std::get_if<cleori::sample_taken>(&r)) {
            witness.line("S " + cleori::to_rfc3339(s->sample.time));
        } else if (auto const* a = std::get_if<cleori::activation_changed>(&r); a && a->to_confirm) {
            bool const executing = a->to_confirm->status == cleori::confirmation_status::executing;
            witness.line("C " + a->state.a.id + (executing ? " executing" : " unavailable"));
            if (executing) witness.line("X " + a->state.a.id);
        }
        return kept;
    }
};

cleori::kilowatts last_power(char const* device_log) {
    std::ifstream in(device_log);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    auto const space = last.find(' ');
    if (space == std::string::npos) return {};
    return cleori::kilowatts{std::strtod(last.c_str() + space + 1, nullptr)};
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::cerr << "usage: CLEORI_TOKEN=... " << argv[0]
                  << " URL JOURNAL DEVICE_LOG WITNESS TELEMETRY_MS POLL_MS [every_record|periodic|never]\n";
        return 2;
    }
    char const* token = std::getenv("CLEORI_TOKEN");
    if (token == nullptr || *token == '\0') {
        std::cerr << "cleori-crash-agent: CLEORI_TOKEN is not set\n";
        return 2;
    }
    auto policy = cleori::fsync_policy::every_record;
    if (argc > 7 && std::string(argv[7]) == "periodic") policy = cleori::fsync_policy::periodic;
    if (argc > 7 && std::string(argv[7]) == "never") policy = cleori::fsync_policy::never;

    boost::asio::io_context io;
    append_file device_log(argv[3]), witness_log(argv[4]);
    logged_battery battery{io.get_executor(), device_log, last_power(argv[3])};
    auto journal = cleori::file_store::open(argv[2], {.sync = policy});
    if (!journal) {
        std::cerr << "cleori-crash-agent: journal " << argv[2] << ": " << journal.error().message() << '\n';
        return 3;
    }
    cleori::beast_transport transport{io.get_executor(), argv[1]};
    struct witnessed : cleori::default_policies {
        using store = witnessed_store;
    };
    cleori::basic_agent<logged_battery, cleori::beast_transport, witnessed>
        agent{battery,
              transport,
              {.token = token,
               .telemetry_interval = std::chrono::milliseconds(std::atoi(argv[5])),
               .poll_interval = std::chrono::milliseconds(std::atoi(argv[6])),
               .confirm_retry_interval = std::chrono::milliseconds(100)},
              witnessed_store{std::move(*journal), witness_log}};
    agent.set_logger([](cleori::log_level level, std::string_view line) {
        if (level >= cleori::log_level::warning) std::cerr << "cleori-crash-agent: " << line << '\n';
    });
    if (auto started = agent.start(); !started) {
        std::cerr << "cleori-crash-agent: " << started.error().message() << '\n';
        return 3;
    }
    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) agent.stop();
    });
    while (!agent.stopped()) io.run_one();
    return 0;
}
