// Modbus round trip: cleori's asynchronous client (cleori::modbus::client)
// against libmodbus's blocking client, both talking to one server — the
// libmodbus battery plant (test/modbus/modbus_plant.cpp) started here as a
// child process on loopback. Every request reads 4 input registers from
// address 0 of unit 1 (function 4), which is what a battery reading does, and
// every answer is checked (SoC register 2 == 500 and the rest): a client that
// returned nothing, or the wrong thing, could otherwise look fast.
//   (a) latency of one request at a time on one connection, after a warm-up,
//       in alternating rounds so that both see the same background load;
//   (b) client CPU per request: getrusage(RUSAGE_SELF) user+sys around each
//       client's measured rounds only (the plant is another process);
//   (c) a fleet: K connections doing M sequential reads each — cleori with K
//       clients on one thread, libmodbus with K blocking contexts, one
//       std::thread each (the only way with a blocking API).
// Prints Markdown; exits 1 with a message if a request fails or reads wrong.
//   modbus_roundtrip [--requests N] [--warmup W] [--connections K] [--reads M]
#include "support/stats.hpp"

#include <cleori/modbus/client.hpp>

#include <boost/asio/io_context.hpp>

#include <modbus.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <latch>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace modbus = cleori::modbus;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
    std::size_t requests = 5000;    // (a), (b): measured requests per client
    std::size_t warmup = 500;       // (a), (b): unmeasured requests per client first
    std::size_t rounds = 5;         // (a), (b): the requests alternate between clients in this many rounds
    std::size_t connections = 50;   // (c)
    std::size_t reads = 200;        // (c): sequential reads per connection
};

// What the plant answers to input registers 0-3 of unit 1 with no setpoint
// written: power 0 (s32, two words), SoC 50.0 %, status 2 (standby).
constexpr std::array<std::uint16_t, 4> expected{0, 0, 500, 2};
constexpr std::uint8_t unit = 1;
constexpr std::uint16_t address = 0;
constexpr std::uint16_t count = 4;

// ---- the plant as a child process ---------------------------------------

pid_t plant_pid = -1;
std::string plant_log;

[[noreturn]] void fail(std::string const& message) {
    std::fflush(stdout);
    std::fprintf(stderr, "modbus_roundtrip: %s\n", message.c_str());
    if (plant_pid > 0) {
        ::kill(plant_pid, SIGKILL);
        ::waitpid(plant_pid, nullptr, 0);
    }
    if (!plant_log.empty()) ::unlink(plant_log.c_str());
    std::_Exit(1); // also from a libmodbus thread: no static destructors under running threads
}

std::string read_log() {
    std::ifstream in(plant_log);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Starts the plant with --port 0 and returns the port it printed.
std::string start_plant() {
    char log_template[] = "/tmp/cleori-modbus-plant-XXXXXX";
    int const log_fd = ::mkstemp(log_template);
    if (log_fd < 0) fail(std::string("mkstemp: ") + std::strerror(errno));
    plant_log = log_template;
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) fail(std::string("pipe2: ") + std::strerror(errno));
    pid_t const pid = ::fork();
    if (pid < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) { // the plant; it goes when this process does, however it ends
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO); // it logs every connection: keep that out of the tables
        ::execl(CLEORI_BENCH_MODBUS_PLANT, CLEORI_BENCH_MODBUS_PLANT, "--port", "0", "--soc", "50",
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    plant_pid = pid;
    ::close(out[1]);
    ::close(log_fd);
    std::string text;
    auto const until = clock_type::now() + std::chrono::seconds(20);
    std::string const marker = "listening on 127.0.0.1:";
    while (text.find('\n') == std::string::npos) {
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
        pollfd p{out[0], POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        char buf[256];
        ssize_t const got = ::read(out[0], buf, sizeof buf);
        if (got <= 0) break;
        text.append(buf, static_cast<std::size_t>(got));
    }
    ::close(out[0]); // it prints nothing more to stdout (and ignores SIGPIPE)
    auto const at = text.find(marker);
    auto const eol = text.find('\n');
    if (at == std::string::npos || eol == std::string::npos || eol < at)
        fail("the plant " CLEORI_BENCH_MODBUS_PLANT " did not start; stdout: '" + text + "', stderr:\n" + read_log());
    return text.substr(at + marker.size(), eol - at - marker.size());
}

void stop_plant() {
    ::kill(plant_pid, SIGTERM);
    int status = 0;
    ::waitpid(plant_pid, &status, 0);
    plant_pid = -1;
    ::unlink(plant_log.c_str());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::cerr << "modbus_roundtrip: the plant ended with status " << status << "\n";
        std::exit(1);
    }
}

// CPU time the plant has used, ns (its one thread's run time from the
// scheduler; the client's tables exclude it, the fleet table shows its share).
double plant_cpu_ns() {
    std::ifstream in("/proc/" + std::to_string(plant_pid) + "/schedstat");
    double ns = -1;
    if (!(in >> ns)) return -1;
    return ns;
}

// ---- measurement helpers ------------------------------------------------

double cpu_us() { // this process, every thread, user + sys
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

long threads_in_process() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Threads:", 0) == 0) return std::stol(line.substr(8));
    return -1;
}

double us_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::micro>(b - a).count();
}

template <class Words>
void check(Words const& words, std::size_t n, char const* who) {
    if (n != count) fail(std::string(who) + ": read " + std::to_string(n) + " registers, expected 4");
    for (std::size_t i = 0; i < count; ++i)
        if (words[i] != expected[i])
            fail(std::string(who) + ": input register " + std::to_string(i) + " read " + std::to_string(words[i]) +
                 ", expected " + std::to_string(expected[i]));
}

// ---- cleori -------------------------------------------------------------

// Reads one after another on one client, each started from the previous
// one's completion handler.
struct cleori_chain {
    modbus::client* c = nullptr;
    std::size_t left = 0;
    std::vector<double>* samples = nullptr; // null: not measured
    clock_type::time_point sent{};

    void next() {
        if (left == 0) return;
        --left;
        sent = clock_type::now();
        c->async_read_input_registers(unit, address, count, [this](error_code ec, modbus::register_block const& b) {
            auto const now = clock_type::now();
            if (ec) fail("cleori: read failed: " + ec.message());
            check(b.words, b.size(), "cleori");
            if (samples) samples->push_back(us_between(sent, now));
            next();
        });
    }
};

// Runs `n` reads on `c` to completion; returns the client CPU they took.
double run_cleori(boost::asio::io_context& io, modbus::client& c, std::size_t n, std::vector<double>* samples) {
    cleori_chain chain{&c, n, samples};
    io.restart();
    double const cpu0 = cpu_us();
    chain.next();
    io.run();
    double const cpu1 = cpu_us();
    if (chain.left != 0) fail("cleori: io_context ran out of work with reads left");
    return cpu1 - cpu0;
}

void check_stats(modbus::client const& c, std::uint64_t requests, char const* what) {
    auto const& s = c.stats();
    if (s.requests != requests || s.answered != requests || s.exceptions || s.timeouts || s.connects != 1 ||
        s.resent || s.stale_frames)
        fail(std::string("cleori ") + what + ": unexpected client stats: requests " + std::to_string(s.requests) +
             " answered " + std::to_string(s.answered) + " timeouts " + std::to_string(s.timeouts) + " connects " +
             std::to_string(s.connects) + " resent " + std::to_string(s.resent) + " stale " +
             std::to_string(s.stale_frames));
}

// ---- libmodbus ----------------------------------------------------------

modbus_t* libmodbus_connect(std::string const& port) {
    modbus_t* ctx = modbus_new_tcp("127.0.0.1", std::stoi(port));
    if (!ctx) fail(std::string("modbus_new_tcp: ") + modbus_strerror(errno));
    modbus_set_slave(ctx, unit);
    modbus_set_response_timeout(ctx, 1, 0); // as cleori's default request timeout
    if (modbus_connect(ctx) != 0) fail(std::string("modbus_connect: ") + modbus_strerror(errno));
    return ctx;
}

void libmodbus_read(modbus_t* ctx) {
    std::array<std::uint16_t, count> regs{};
    int const rc = modbus_read_input_registers(ctx, address, count, regs.data());
    if (rc < 0) fail(std::string("libmodbus: read failed: ") + modbus_strerror(errno));
    check(regs, static_cast<std::size_t>(rc), "libmodbus");
}

void libmodbus_loop(modbus_t* ctx, std::size_t n, std::vector<double>* samples) {
    for (std::size_t i = 0; i < n; ++i) {
        auto const sent = clock_type::now();
        std::array<std::uint16_t, count> regs{};
        int const rc = modbus_read_input_registers(ctx, address, count, regs.data());
        auto const now = clock_type::now();
        if (rc < 0) fail(std::string("libmodbus: read failed: ") + modbus_strerror(errno));
        check(regs, static_cast<std::size_t>(rc), "libmodbus");
        if (samples) samples->push_back(us_between(sent, now));
    }
}

// Runs `n` reads on `ctx`; returns the client CPU they took.
double run_libmodbus(modbus_t* ctx, std::size_t n, std::vector<double>* samples) {
    double const cpu0 = cpu_us();
    libmodbus_loop(ctx, n, samples);
    return cpu_us() - cpu0;
}

// ---- results ------------------------------------------------------------

struct latency_row {
    bench::summary s;
    double mean = 0;
    double cpu_per_request = 0; // client process, µs
};

latency_row make_row(std::vector<double> const& samples, double cpu) {
    latency_row r;
    r.s = bench::summarize(samples);
    r.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
    r.cpu_per_request = cpu / static_cast<double>(samples.size());
    return r;
}

struct fleet_row {
    std::size_t threads = 0;     // threads doing Modbus I/O
    long process_threads = -1;   // every thread of the process during the run
    double wall_us = 0, cpu_us = 0, plant_cpu_us = -1;
    bench::summary s;
    double requests = 0;
    double per_second() const { return requests / (wall_us / 1e6); }
};

std::string fmt(double v, int digits = -1) {
    if (v < 0) return "n/a";
    std::ostringstream os;
    os << std::fixed << std::setprecision(digits >= 0 ? digits : (v < 100 ? 1 : 0)) << v;
    return os.str();
}

// (a) and (b): one connection per client, one request at a time, the
// clients alternating in rounds. Returns {cleori, libmodbus}.
std::pair<latency_row, latency_row> single_connection(std::string const& port, options const& o) {
    boost::asio::io_context io{1};
    modbus::client c{io.get_executor(), "127.0.0.1", port};
    modbus_t* ctx = libmodbus_connect(port);
    run_cleori(io, c, o.warmup + 1, nullptr); // + 1: the connection is opened by the first request
    run_libmodbus(ctx, o.warmup, nullptr);
    std::vector<double> cleori_samples, libmodbus_samples;
    cleori_samples.reserve(o.requests);
    libmodbus_samples.reserve(o.requests);
    double cleori_cpu = 0, libmodbus_cpu = 0;
    for (std::size_t r = 0; r < o.rounds; ++r) {
        std::size_t const n = o.requests / o.rounds + (r + 1 == o.rounds ? o.requests % o.rounds : 0);
        if (r % 2 == 0) {
            cleori_cpu += run_cleori(io, c, n, &cleori_samples);
            libmodbus_cpu += run_libmodbus(ctx, n, &libmodbus_samples);
        } else {
            libmodbus_cpu += run_libmodbus(ctx, n, &libmodbus_samples);
            cleori_cpu += run_cleori(io, c, n, &cleori_samples);
        }
    }
    check_stats(c, o.warmup + 1 + o.requests, "single connection");
    modbus_close(ctx);
    modbus_free(ctx);
    return {make_row(cleori_samples, cleori_cpu), make_row(libmodbus_samples, libmodbus_cpu)};
}

// ---- (c) the fleet ------------------------------------------------------

fleet_row fleet_cleori(std::string const& port, options const& o) {
    boost::asio::io_context io{1};
    std::vector<std::unique_ptr<modbus::client>> clients;
    for (std::size_t k = 0; k < o.connections; ++k) {
        clients.push_back(std::make_unique<modbus::client>(io.get_executor(), "127.0.0.1", port));
        run_cleori(io, *clients.back(), 1, nullptr); // connect one at a time: the plant's backlog is 32
    }
    std::vector<double> samples;
    samples.reserve(o.connections * o.reads);
    std::vector<cleori_chain> chains(o.connections);
    for (std::size_t k = 0; k < o.connections; ++k) chains[k] = {clients[k].get(), o.reads, &samples};
    io.restart();
    long const process_threads = threads_in_process();
    double const plant0 = plant_cpu_ns();
    double const cpu0 = cpu_us();
    auto const t0 = clock_type::now();
    for (auto& chain : chains) chain.next();
    io.run();
    auto const t1 = clock_type::now();
    double const cpu1 = cpu_us();
    double const plant1 = plant_cpu_ns();
    for (auto const& chain : chains)
        if (chain.left != 0) fail("cleori fleet: io_context ran out of work with reads left");
    for (auto const& c : clients) check_stats(*c, 1 + o.reads, "fleet");
    fleet_row r;
    r.threads = 1;
    r.process_threads = process_threads;
    r.wall_us = us_between(t0, t1);
    r.cpu_us = cpu1 - cpu0;
    r.plant_cpu_us = plant0 < 0 || plant1 < 0 ? -1 : (plant1 - plant0) / 1000.0;
    r.requests = static_cast<double>(samples.size());
    r.s = bench::summarize(samples);
    return r;
}

fleet_row fleet_libmodbus(std::string const& port, options const& o) {
    std::vector<modbus_t*> contexts;
    for (std::size_t k = 0; k < o.connections; ++k) { // connected one at a time, as for cleori
        contexts.push_back(libmodbus_connect(port));
        libmodbus_read(contexts.back());
    }
    std::vector<std::vector<double>> samples(o.connections);
    for (auto& s : samples) s.reserve(o.reads);
    auto const k_threads = static_cast<std::ptrdiff_t>(o.connections);
    std::latch ready{k_threads}, go{1}, done{k_threads};
    std::vector<std::thread> threads;
    for (std::size_t k = 0; k < o.connections; ++k)
        threads.emplace_back([&, k] {
            ready.count_down();
            go.wait();
            libmodbus_loop(contexts[k], o.reads, &samples[k]);
            done.count_down();
        });
    ready.wait();
    long const process_threads = threads_in_process();
    double const plant0 = plant_cpu_ns();
    double const cpu0 = cpu_us();
    auto const t0 = clock_type::now();
    go.count_down();
    done.wait();
    auto const t1 = clock_type::now();
    double const cpu1 = cpu_us();
    double const plant1 = plant_cpu_ns();
    for (auto& t : threads) t.join();
    for (auto* ctx : contexts) {
        modbus_close(ctx);
        modbus_free(ctx);
    }
    std::vector<double> all;
    for (auto const& s : samples) all.insert(all.end(), s.begin(), s.end());
    fleet_row r;
    r.threads = o.connections;
    r.process_threads = process_threads;
    r.wall_us = us_between(t0, t1);
    r.cpu_us = cpu1 - cpu0;
    r.plant_cpu_us = plant0 < 0 || plant1 < 0 ? -1 : (plant1 - plant0) / 1000.0;
    r.requests = static_cast<double>(all.size());
    r.s = bench::summarize(all);
    return r;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; i += 2) {
        std::string const a = argv[i];
        if (i + 1 >= argc) return std::cerr << a << " needs a value\n", 2;
        std::size_t v = 0;
        try {
            v = std::stoul(argv[i + 1]);
        } catch (std::exception const&) {
            return std::cerr << a << ": '" << argv[i + 1] << "' is not a number\n", 2;
        }
        if (a == "--requests") o.requests = v;
        else if (a == "--warmup") o.warmup = v;
        else if (a == "--connections") o.connections = v;
        else if (a == "--reads") o.reads = v;
        else return std::cerr << "unknown option " << a << "\n", 2;
    }
    if (o.requests == 0 || o.connections == 0 || o.reads == 0)
        return std::cerr << "--requests, --connections and --reads must be at least 1\n", 2;
    // The plant serves select()ed descriptors only (FD_SETSIZE 1024).
    if (o.connections > 900) return std::cerr << "--connections: at most 900\n", 2;
    o.rounds = std::min(o.rounds, o.requests);
    std::signal(SIGPIPE, SIG_IGN);

    std::string const port = start_plant();

    auto const [cl, lm] = single_connection(port, o);

    // (c): the fleet, libmodbus first (its threads are gone before cleori runs).
    auto const fleet_lm = fleet_libmodbus(port, o);
    auto const fleet_cl = fleet_cleori(port, o);
    stop_plant();

    std::string const lm_name = "libmodbus " LIBMODBUS_VERSION_STRING;
    std::cout << "### Modbus round trip (µs)\n\n"
              << bench::machine_line() << "; libmodbus " << LIBMODBUS_VERSION_STRING
              << ". Server: cleori-modbus-plant (built on libmodbus; one process, one select loop) on loopback. "
              << "Each request reads 4 input registers from address 0 of unit 1 (function 4, a battery reading) and "
                 "every answer is checked (SoC register 2 == 500 and the rest). "
              << o.requests << " requests per client on one connection, one at a time, after " << o.warmup
              << " warm-up requests, in " << o.rounds << " alternating rounds.\n\n"
              << "| client | n | p50 | p99 | p99.9 | max | mean |\n|---|---|---|---|---|---|---|\n";
    auto latency_line = [](std::string const& name, latency_row const& r) {
        std::cout << "| " << name << " | " << r.s.n << " | " << fmt(r.s.p50) << " | " << fmt(r.s.p99) << " | "
                  << fmt(r.s.p999) << " | " << fmt(r.s.max) << " | " << fmt(r.mean) << " |\n";
    };
    latency_line("cleori (async, each request from the previous completion handler, one io_context thread)", cl);
    latency_line(lm_name + " (blocking `modbus_read_input_registers` in a loop)", lm);
    std::cout << "| ratio cleori ÷ libmodbus (below 1: cleori is faster) |  | " << fmt(cl.s.p50 / lm.s.p50, 2)
              << " | " << fmt(cl.s.p99 / lm.s.p99, 2) << " | " << fmt(cl.s.p999 / lm.s.p999, 2) << " | "
              << fmt(cl.s.max / lm.s.max, 2) << " | " << fmt(cl.mean / lm.mean, 2) << " |\n";

    std::cout << "\n### Modbus client CPU per request (µs)\n\n"
              << "Process CPU time (getrusage RUSAGE_SELF, user + sys) around each client's measured rounds only, "
                 "divided by its requests; the plant is another process and is not counted.\n\n"
              << "| client | CPU µs/request | ratio |\n|---|---|---|\n"
              << "| cleori | " << fmt(cl.cpu_per_request, 2) << " | " << fmt(cl.cpu_per_request / lm.cpu_per_request, 2)
              << " |\n"
              << "| " << lm_name << " | " << fmt(lm.cpu_per_request, 2) << " | 1.00 |\n";

    std::cout << "\n### Modbus fleet: " << o.connections << " connections × " << o.reads << " sequential reads\n\n"
              << "cleori: " << o.connections << " clients on one thread; libmodbus: " << o.connections
              << " blocking contexts, one std::thread each. Connections opened (one at a time) and each used once "
                 "before the clock starts. Threads: those doing Modbus I/O (in brackets, every thread of the process, "
                 "e.g. Asio's resolver thread, idle once connected, and libmodbus's waiting main thread). Client "
                 "CPU: this process, every thread, user + sys. Plant CPU: the server's own CPU time as a share of "
                 "the wall time (100 %: it is saturated).\n\n"
              << "| client | threads (process) | requests | wall ms | requests/s | client CPU µs/request | p50 µs | p99 µs | "
                 "plant CPU % |\n|---|---|---|---|---|---|---|---|---|\n";
    auto fleet_line = [](std::string const& name, fleet_row const& r) {
        std::cout << "| " << name << " | " << r.threads << " (" << r.process_threads << ") | "
                  << static_cast<unsigned long long>(r.requests)
                  << " | " << fmt(r.wall_us / 1000.0) << " | " << fmt(r.per_second(), 0) << " | "
                  << fmt(r.cpu_us / r.requests, 2) << " | " << fmt(r.s.p50) << " | " << fmt(r.s.p99) << " | "
                  << (r.plant_cpu_us < 0 ? std::string("n/a") : fmt(100.0 * r.plant_cpu_us / r.wall_us, 0)) << " |\n";
    };
    fleet_line("cleori", fleet_cl);
    fleet_line(lm_name, fleet_lm);
    double const throughput = fleet_cl.per_second() / fleet_lm.per_second();
    std::cout << "| ratio cleori ÷ libmodbus |  |  | " << fmt(fleet_cl.wall_us / fleet_lm.wall_us, 2) << " | "
              << fmt(throughput, 2) << " | " << fmt((fleet_cl.cpu_us / fleet_cl.requests) / (fleet_lm.cpu_us / fleet_lm.requests), 2)
              << " | " << fmt(fleet_cl.s.p50 / fleet_lm.s.p50, 2) << " | " << fmt(fleet_cl.s.p99 / fleet_lm.s.p99, 2)
              << " |  |\n";
    bool const about_equal = throughput > 0.9 && throughput < 1.1;
    for (auto const* r : {&fleet_cl, &fleet_lm})
        if (!about_equal && r->plant_cpu_us >= 0.9 * r->wall_us)
            std::cout << "\nWith " << (r == &fleet_cl ? std::string("cleori") : lm_name) << " the plant was busy "
                      << fmt(100.0 * r->plant_cpu_us / r->wall_us, 0)
                      << " % of the wall time: that requests/s is the plant's limit (one process, one select loop), "
                         "not the client's.\n";
    if (about_equal)
        std::cout << "\ncleori and libmodbus get about the same requests/s here, so the server is likely the "
                     "bottleneck for throughput: the plant serves every connection in one select loop, one request "
                     "at a time, and with " << o.connections << " requests in flight it never lacks work (busy "
                  << fmt(100.0 * fleet_cl.plant_cpu_us / fleet_cl.wall_us, 0) << " % and "
                  << fmt(100.0 * fleet_lm.plant_cpu_us / fleet_lm.wall_us, 0)
                  << " % of the wall time; below 100 % it was waiting for a CPU). What tells the clients apart is "
                     "the CPU per request and the threads.\n";
    return 0;
}
