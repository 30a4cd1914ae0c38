#pragma once
// Shared by the C++ fleet clients (cleori and libcurl-multi): arguments,
// tokens, start spreading, CPU and RSS measurement, the result line.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace bench {

struct fleet_args {
    std::string url, ca;
    std::size_t assets = 100, connections = 4;
    std::chrono::milliseconds telemetry{1000}, poll{3000}, duration{10000};
    // Timers on a grid of this many ms (0: off): what is due within one tick
    // is done in one wake-up. Every client takes the same grid.
    std::chrono::milliseconds tick{0};
};

inline fleet_args parse_fleet_args(int argc, char** argv) {
    fleet_args o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string const a = argv[i], v = argv[i + 1];
        if (a == "--url") o.url = v;
        else if (a == "--ca") o.ca = v;
        else if (a == "--assets") o.assets = std::stoul(v);
        else if (a == "--connections") o.connections = std::stoul(v);
        else if (a == "--telemetry-ms") o.telemetry = std::chrono::milliseconds(std::stol(v));
        else if (a == "--poll-ms") o.poll = std::chrono::milliseconds(std::stol(v));
        else if (a == "--duration-s") o.duration = std::chrono::milliseconds(std::stol(v) * 1000);
        else if (a == "--tick-ms") o.tick = std::chrono::milliseconds(std::stol(v));
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.url.empty()) std::exit(2);
    return o;
}

inline std::string fleet_token(std::size_t i) { return "fleet-token-" + std::to_string(i); }

// Agents start spread evenly over one telemetry interval.
inline std::chrono::milliseconds start_offset(std::size_t i, fleet_args const& o) {
    return std::chrono::milliseconds(static_cast<long long>(i) * o.telemetry.count() /
                                     static_cast<long long>(o.assets));
}

inline double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Resident memory: all of it, and the private (anonymous) part, which
// leaves out the pages of files mapped in (the program's and the libraries'
// code, touched as the run first uses it: a fixed cost, not one per asset).
struct resident {
    long kb = 0, private_kb = 0;
};
inline resident rss() {
    std::ifstream f("/proc/self/statm");
    long size = 0, pages = 0, shared = 0;
    f >> size >> pages >> shared;
    long const kb_per_page = sysconf(_SC_PAGESIZE) / 1024;
    return {pages * kb_per_page, (pages - shared) * kb_per_page};
}

// The work a client reports doing (the server's report is what the fleet
// harness compares; these are the client's own counts, printed alongside).
struct fleet_work {
    unsigned long long samples_sent = 0, polls = 0, failures = 0;
    unsigned long long start_failures = 0; ///< assets that never started
    unsigned long long errors_logged = 0;  ///< failures the agents logged (the first few go to stderr)
};

inline void print_fleet_result(double cpu, resident before, resident after, fleet_work const& w) {
    std::printf("{\"cpu_s\":%.3f,\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,\"private_kb_before\":%ld,"
                "\"private_kb_after\":%ld,\"samples_sent\":%llu,\"polls\":%llu,\"failures\":%llu,"
                "\"start_failures\":%llu}\n",
                cpu, before.kb, after.kb, before.private_kb, after.private_kb, w.samples_sent, w.polls, w.failures,
                w.start_failures);
    std::fflush(stdout);
}

} // namespace bench
