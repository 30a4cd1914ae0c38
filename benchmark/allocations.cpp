// Heap allocations per telemetry cycle and per poll cycle in steady state,
// plain HTTP and TLS. The server (cleori::sim::server) runs in a forked child,
// so only the agent's process — agent, client, Beast transport, OpenSSL — is
// counted.
//
// What is counted: every call into the C allocator. This executable defines
// malloc, calloc, realloc, reallocarray, aligned_alloc, memalign,
// posix_memalign, valloc and pvalloc, counts the call and forwards to glibc's
// own allocator (__libc_malloc and friends, which glibc exports for exactly
// this), so calls from the shared libraries — libstdc++, OpenSSL, libc itself —
// land here too. free() is left to glibc: the memory comes from its allocator.
// Every operator new (plain, array, aligned, nothrow) is replaced and goes
// through the counted functions, so an allocation is counted once, whatever
// path it takes. Before measuring, a self-check calls each path once and
// refuses to report if the count does not rise by exactly that many.
//   allocations [--json FILE]
// --json also writes the counts to FILE, for benchmark/targets.py.
#include "support/stats.hpp"

#include <cleori/agent.hpp>
#include <cleori/device/simulated_battery.hpp>
#include "sim/server.hpp"

#include "support/test_pki.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/crypto.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string_view>
#include <new>

#include <malloc.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {
constinit std::atomic<std::uint64_t> allocations{0};
void count() noexcept { allocations.fetch_add(1, std::memory_order_relaxed); }
} // namespace

// glibc's allocator under its own names.
extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void* __libc_valloc(std::size_t) noexcept;
void* __libc_pvalloc(std::size_t) noexcept;

void* malloc(std::size_t n) noexcept {
    count();
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
    count();
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
    count();
    return __libc_realloc(p, n);
}
void* reallocarray(void* p, std::size_t n, std::size_t size) noexcept {
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return nullptr;
    }
    return realloc(p, bytes);
}
void* memalign(std::size_t alignment, std::size_t n) noexcept {
    count();
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept { return memalign(alignment, n); }
int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
    if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    void* p = memalign(alignment, n);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
void* valloc(std::size_t n) noexcept {
    count();
    return __libc_valloc(n);
}
void* pvalloc(std::size_t n) noexcept {
    count();
    return __libc_pvalloc(n);
}
}

// Every operator new goes through the counted functions above.
void* counted_allocate(std::size_t n, std::size_t alignment) noexcept {
    if (n == 0) n = 1;
    return alignment == 0 ? std::malloc(n) : memalign(alignment, n);
}
#include "support/replaced_new.hpp"

namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;

// As long as Cleori's (43 characters) and an id in its form: both longer
// than a std::string's inline buffer, so a copy of either would show.
constexpr char const* token = "alloc-token-of-forty-three-characters-xxxxx";
constexpr char const* activation_id = "act-2026-11-26-0001";

// Keeps the compiler from eliding an allocation whose result is unused.
void escape(void const* p) { asm volatile("" : : "g"(p) : "memory"); }

// Each allocation path once, from this executable, from libc (strdup) and from
// OpenSSL (OPENSSL_malloc): the count must rise by exactly the number of calls.
bool self_check() {
    struct alignas(64) wide {
        char c[64];
    };
    auto const before = allocations.load();
    unsigned expected = 0;
    auto c = [&](void* p) {
        escape(p);
        ++expected;
        return p;
    };
    std::free(c(std::malloc(24)));
    std::free(c(std::calloc(3, 8)));
    void* r = c(std::realloc(nullptr, 16));
    std::free(c(std::realloc(r, 4096)));
    std::free(c(std::aligned_alloc(64, 128)));
    std::free(c(memalign(64, 128)));
    void* pm = nullptr;
    if (posix_memalign(&pm, 64, 128) == 0) std::free(c(pm));
    delete static_cast<int*>(c(new int(1)));
    delete[] static_cast<int*>(c(new int[4]));
    delete static_cast<wide*>(c(new wide));
    delete[] static_cast<wide*>(c(new wide[2]));
    delete static_cast<int*>(c(new (std::nothrow) int(2)));
    delete static_cast<wide*>(c(new (std::nothrow) wide));
    std::free(c(::strdup("libc allocates too")));
    OPENSSL_free(c(OPENSSL_malloc(32)));
    auto const seen = allocations.load() - before;
    if (seen == expected) return true;
    std::cerr << "allocation self-check: " << expected << " calls, " << seen << " counted\n";
    return false;
}

// Runs one agent for warm-up + window; returns allocations per cycle of the
// kind whose interval is short.
double per_cycle(std::string const& url, std::string const& ca, std::chrono::milliseconds telemetry,
                 std::chrono::milliseconds poll, bool count_telemetry) {
    asio::io_context io;
    cleori::beast_transport transport{io.get_executor(), url, {.ca_file = ca}};
    cleori::simulated_battery battery;
    cleori::agent<cleori::simulated_battery> agent{battery, transport,
                                                   {.token = token, .telemetry_interval = telemetry,
                                                    .poll_interval = poll}};
    if (auto started = agent.start(); !started) {
        std::cerr << "agent did not start: " << started.error().message() << "\n";
        std::exit(1);
    }
    io.run_for(1s); // warm-up: connection open (and TLS session), buffers grown
    auto const k0 = agent.counters();
    auto const a0 = allocations.load();
    io.run_for(3s);
    auto const a1 = allocations.load();
    auto const k1 = agent.counters();
    agent.stop();
    while (!agent.stopped() && io.run_one()) {}
    auto const failures = (k1.telemetry_failures - k0.telemetry_failures) + (k1.poll_failures - k0.poll_failures);
    double const cycles = count_telemetry ? static_cast<double>(k1.telemetry_requests - k0.telemetry_requests)
                                          : static_cast<double>(k1.polls - k0.polls);
    if (failures != 0 || cycles == 0) {
        std::cerr << url << ": " << failures << " failed requests, " << cycles << " cycles in the window\n";
        std::exit(1);
    }
    return static_cast<double>(a1 - a0) / cycles;
}

struct row {
    double telemetry, poll;
};

// A server in a forked child, one agent per cycle kind against it.
row measure(bool tls, cleori::test::test_pki const& pki) {
    int pipe_fd[2];
    if (::pipe(pipe_fd) != 0) std::exit(1);
    pid_t const child = ::fork();
    if (child == 0) { // the server; it goes when this process does
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        asio::io_context io;
        asio::ssl::context ctx{asio::ssl::context::tls_server};
        if (tls) {
            ctx.use_certificate_chain_file(pki.crt("good"));
            ctx.use_private_key_file(pki.key("good"), asio::ssl::context::pem);
        }
        cleori::sim::server sim{io.get_executor(), {.tokens = {token}, .tls = tls ? &ctx : nullptr}};
        sim.add_activation("asset-1", {.id = activation_id, .direction = cleori::mfrr_direction::up,
                                       .power = cleori::kilowatts{60.0},
                                       .start_time = std::chrono::time_point_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now() + std::chrono::hours(1)),
                                       .status = cleori::activation_status::pending});
        unsigned short port = sim.start().value();
        if (::write(pipe_fd[1], &port, sizeof port) != sizeof port) ::_exit(1);
        io.run();
        ::_exit(0);
    }
    unsigned short port = 0;
    if (::read(pipe_fd[0], &port, sizeof port) != sizeof port) std::exit(1);
    ::close(pipe_fd[0]);
    ::close(pipe_fd[1]);
    std::string const url = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
    std::string const ca = tls ? pki.ca() : std::string();
    row const r{per_cycle(url, ca, 50ms, 60s, true), per_cycle(url, ca, 10s, 50ms, false)};
    ::kill(child, SIGTERM);
    ::waitpid(child, nullptr, 0);
    return r;
}
} // namespace

int main(int argc, char** argv) {
    char const* json = nullptr;
    if (argc == 3 && std::string_view(argv[1]) == "--json") json = argv[2];
    else if (argc != 1) return std::cerr << "usage: allocations [--json FILE]\n", 2;
    if (!self_check()) return 1;
    cleori::test::test_pki const pki;
    row const plain = measure(false, pki);
    row const tls = measure(true, pki);
    std::cout << "### Heap allocations in steady state\n\n" << bench::machine_line()
              << ". Every call into the allocator in the agent's process is counted: malloc, calloc, realloc, "
                 "aligned_alloc, memalign, posix_memalign and every operator new, from cleori, Boost, libstdc++ and "
                 "OpenSSL alike (the server runs in another process); Beast transport, keep-alive.\n\n"
              << "| cycle | plain HTTP | TLS |\n|---|---|---|\n"
              << "| telemetry (read device, encode, POST one sample, 204) | " << plain.telemetry << " | "
              << tls.telemetry << " |\n"
              << "| poll (GET, decode a page with one activation already known, merge) | " << plain.poll << " | "
              << tls.poll << " |\n";
    if (json) {
        std::ofstream f(json);
        f << "{\"plain\": {\"telemetry\": " << plain.telemetry << ", \"poll\": " << plain.poll
          << "}, \"tls\": {\"telemetry\": " << tls.telemetry << ", \"poll\": " << tls.poll << "}}\n";
        if (!f) return std::cerr << "allocations: cannot write " << json << "\n", 1;
    }
    return 0;
}
