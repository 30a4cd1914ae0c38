// Heap allocations per telemetry cycle and per poll cycle in steady state,
// counted by replacing the global allocation functions. The server
// (cleori::sim::server) runs in a forked child, so only the agent's process
// — agent, client, Beast transport — is counted.
//   allocations [--tls]
#include "support/stats.hpp"

#include <cleori/agent.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/sim/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <new>

#include <sys/wait.h>
#include <unistd.h>

namespace {
std::atomic<std::uint64_t> allocations{0};
}

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;

// Runs one agent for warm-up + window; returns allocations per cycle of the
// kind whose interval is short.
double per_cycle(unsigned short port, std::chrono::milliseconds telemetry, std::chrono::milliseconds poll,
                 bool count_telemetry) {
    asio::io_context io;
    cleori::beast_transport transport{io.get_executor(), "http://127.0.0.1:" + std::to_string(port)};
    cleori::simulated_battery battery;
    cleori::agent<cleori::simulated_battery> agent{battery, transport,
                                                   {.token = "alloc-token", .telemetry_interval = telemetry,
                                                    .poll_interval = poll}};
    static_cast<void>(agent.start());
    io.run_for(1s); // warm-up: connection open, buffers grown
    auto const k0 = agent.counters();
    auto const a0 = allocations.load();
    io.run_for(3s);
    auto const a1 = allocations.load();
    auto const k1 = agent.counters();
    agent.stop();
    while (!agent.stopped() && io.run_one()) {}
    double const cycles = count_telemetry ? static_cast<double>(k1.telemetry_requests - k0.telemetry_requests)
                                          : static_cast<double>(k1.polls - k0.polls);
    return static_cast<double>(a1 - a0) / cycles;
}
} // namespace

int main() {
    int pipe_fd[2];
    if (::pipe(pipe_fd) != 0) return 1;
    pid_t const child = ::fork();
    if (child == 0) { // the server
        asio::io_context io;
        cleori::sim::server sim{io.get_executor(), {.tokens = {"alloc-token"}}};
        sim.add_activation("asset-1", {.id = "steady", .direction = cleori::mfrr_direction::up,
                                       .power = cleori::kilowatts{60.0},
                                       .start_time = std::chrono::time_point_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now() + std::chrono::hours(1)),
                                       .status = cleori::activation_status::pending});
        unsigned short port = sim.start().value();
        if (::write(pipe_fd[1], &port, sizeof port) != sizeof port) return 1;
        io.run();
        return 0;
    }
    unsigned short port = 0;
    if (::read(pipe_fd[0], &port, sizeof port) != sizeof port) return 1;
    double const telemetry = per_cycle(port, 50ms, 60s, true);
    double const poll = per_cycle(port, 10s, 50ms, false);
    ::kill(child, SIGTERM);
    ::waitpid(child, nullptr, 0);
    std::cout << "### Heap allocations in steady state\n\n" << bench::machine_line()
              << ". Counted by replacing operator new in the agent's process (the server runs in another process); "
                 "Beast transport, plain HTTP, keep-alive.\n\n"
              << "| cycle | allocations per cycle |\n|---|---|\n"
              << "| telemetry (read device, encode, POST one sample, 204) | " << telemetry << " |\n"
              << "| poll (GET, decode a page with one activation already known, merge) | " << poll << " |\n";
    return 0;
}
