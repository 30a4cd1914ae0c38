// Heap allocations on the steady-state path, counted: the core's decision
// work per telemetry and per poll cycle, the wire work around it (the
// request head, the response parser, the telemetry encoder, the JSON of a
// poll page), and a whole agent on the Beast transport against the
// simulator over loopback. Allocation counts are deterministic, so these
// are exact.
//
// This file replaces the global operator new for the unit-test executable:
// each form forwards to malloc (or aligned_alloc) and counts the call while a
// `counting` scope is open on this thread. The sanitizer builds keep their
// own operator new (and their new/delete mismatch checks): there the cases
// are disabled.
#include <cleori/agent.hpp>
#include <cleori/api/json.hpp>
#include <cleori/clock/manual_clock.hpp>
#include <cleori/detail/fifo.hpp>
#include <cleori/detail/handler_pool.hpp>
#include <cleori/detail/narrow_counts.hpp>
#include <cleori/detail/optional_time.hpp>
#include <cleori/detail/shared_text.hpp>
#include <cleori/detail/scratch.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/engine/agent_core.hpp>
#include <cleori/engine/outbox.hpp>
#include <cleori/testing/memory_transport.hpp>
#include <cleori/transport/beast_transport.hpp>

#include "sim/server.hpp"
#include "support/exemplar_battery.hpp"
#include "support/policies.hpp"

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdlib>
#include <malloc.h>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CLEORI_TEST_COUNTS_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CLEORI_TEST_COUNTS_ALLOCATIONS 0
#endif
#endif
#ifndef CLEORI_TEST_COUNTS_ALLOCATIONS
#define CLEORI_TEST_COUNTS_ALLOCATIONS 1
#endif

namespace {
thread_local bool count_now = false;
thread_local unsigned long counted = 0;

// Allocations on this thread while it lives.
class counting {
public:
    counting() : before_(counted) { count_now = true; }
    ~counting() { count_now = false; }
    counting(counting const&) = delete;
    counting& operator=(counting const&) = delete;
    [[nodiscard]] unsigned long seen() const noexcept { return counted - before_; }

private:
    unsigned long before_;
};
} // namespace

#if CLEORI_TEST_COUNTS_ALLOCATIONS
void* counted_allocate(std::size_t n, std::size_t alignment) noexcept {
    if (count_now) ++counted;
    if (n == 0) n = 1;
    if (alignment <= alignof(std::max_align_t)) return std::malloc(n);
    return std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
}
#include "support/replaced_new.hpp"
#endif

namespace {

using namespace std::chrono_literals;
using cleori::kilowatts;

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();

// Plays the battery and Cleori for the core, answering every action at once;
// only the core's own calls are counted.
struct steady_rig {
    cleori::agent_config cfg{.token = "t"};
    cleori::agent_core core{cleori_test::plant_ratings, cfg, cleori::core_profile{}};
    cleori::mono_time now{std::chrono::hours(24)};
    cleori::timestamp wall = t0;
    double plant_kw = 0;
    cleori::activation_poll page; // what every poll returns
    unsigned long telemetry_cycles = 0, polls = 0, core_allocations = 0, poll_allocations = 0;
    bool counting_on = false;

    cleori::core_time t() const { return {now, wall}; }

    template <class F>
    void core_call(F&& f, bool is_poll = false) {
        if (!counting_on) return f();
        counting c;
        f();
        core_allocations += c.seen();
        if (is_poll) poll_allocations += c.seen();
    }
    void serve() {
        for (;;) {
            std::optional<cleori::core_action> a;
            core_call([&] { a = core.next_action(); });
            if (!a) return;
            std::visit([this](auto& x) { perform(x); }, *a);
        }
    }
    void perform(cleori::read_device const& r) {
        core_call([&] { core.on_device_read(t(), r.op, {}, {kilowatts{plant_kw}, cleori::percent{50.0}}); });
    }
    void perform(cleori::command_device const& c) {
        plant_kw = c.setpoint.in_kw();
        core_call([&] { core.on_device_command(t(), c.op, {}); });
    }
    void perform(cleori::poll_activations const& p) {
        ++polls;
        core_call([&] { core.on_poll(t(), p.request, page); }, true);
    }
    void perform(cleori::send_telemetry const& x) {
        ++telemetry_cycles;
        core_call([&] { core.on_telemetry(t(), x.request, nullptr); });
    }
    void perform(cleori::send_confirmation const& c) {
        core_call([&] { core.on_confirmation(t(), c.request, nullptr); });
    }
    // Wakes the core at each time it asks for, until `seconds` have passed.
    void run_for(double seconds) {
        auto const to = now + std::chrono::duration_cast<cleori::mono_time::duration>(std::chrono::duration<double>(seconds));
        while (auto w = core.wake_at()) {
            if (*w > to) break;
            wall += std::chrono::duration_cast<cleori::timestamp::duration>(std::max(*w, now) - now);
            now = std::max(*w, now);
            core_call([&] { core.on_wake(t()); });
            serve();
        }
    }
};

cleori::activation make(std::string id, cleori::mfrr_direction d, double kw, cleori::timestamp start,
                        std::optional<cleori::timestamp> end) {
    return {.id = std::move(id), .direction = d, .power = kilowatts{kw}, .start_time = start, .end_time = end,
            .status = cleori::activation_status::pending};
}

} // namespace

BOOST_AUTO_TEST_SUITE(steady_state_allocations)

BOOST_AUTO_TEST_CASE(the_counter_sees_every_operator_new,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    // Called directly and kept through a volatile sink, so that no compiler
    // may pair up and drop a new with its delete.
    void* volatile sink = nullptr;
    counting c;
    sink = ::operator new(sizeof(int));
    ::operator delete(sink);
    sink = ::operator new[](100);
    ::operator delete[](sink);
    sink = ::operator new(64, std::align_val_t{64});
    ::operator delete(sink, std::align_val_t{64});
    sink = ::operator new(24, std::nothrow);
    ::operator delete(sink);
    BOOST_TEST(c.seen() == 4u);
}

// The core's decisions while an activation runs, one is scheduled later and
// one is already over: every telemetry cycle (read, project, send) and every
// poll of the same page (merge, recheck) after the first minute.
BOOST_AUTO_TEST_CASE(the_core_allocates_nothing_per_cycle_in_steady_state,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    steady_rig r;
    using enum cleori::mfrr_direction;
    r.page.activations.push_back(make("running", up, 60, t0, t0 + 20min));
    r.page.activations.push_back(make("later", down, 30, t0 + 1h, t0 + 90min));
    r.page.activations.push_back(make("open-ended-down", down, 10, t0 + 3h, std::nullopt));
    r.core.start(r.t());
    r.serve();
    r.run_for(60); // warm-up: the activations are known, confirmed and running
    BOOST_TEST_REQUIRE(r.plant_kw == -60.0);
    BOOST_TEST_REQUIRE(r.core.counters().confirmations_sent == 1u); // the two others start later
    BOOST_TEST_REQUIRE(r.core.activations().size() == 3u);

    r.counting_on = true;
    auto const cycles0 = r.telemetry_cycles, polls0 = r.polls;
    r.run_for(600);
    BOOST_TEST_REQUIRE(r.telemetry_cycles - cycles0 >= 60u);
    BOOST_TEST_REQUIRE(r.polls - polls0 >= 60u);
    BOOST_TEST(r.plant_kw == -60.0);
    BOOST_TEST(r.poll_allocations == 0u);
    BOOST_TEST(r.core_allocations == 0u);
}

// What the Beast transport and the client do per request around the
// network: write the request head, parse the response, encode a sample and
// read a page. Once the buffers have grown, none of it allocates.
BOOST_AUTO_TEST_CASE(the_wire_work_allocates_nothing_once_buffers_are_warm,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    namespace detail = cleori::detail;
    std::string head, body;
    cleori::http_response response;
    std::string const token = "a-bearer-token-longer-than-sso-buffers";
    cleori::http_request const req{.method = cleori::http_method::post, .target = "/v1/telemetry", .body = "{}",
                                   .bearer_token = token};
    auto const sample = cleori::make_sample(t0, {kilowatts{-60.0}, cleori::percent{50.0}}).value();
    std::string const page =
        R"({"data":[{"id":"act-2026-11-26-0001","direction":"up","power":60,"start_time":"2026-11-26T12:00:00Z",)"
        R"("end_time":"2026-11-26T14:00:00Z","status":"active"}],"pagination":{"limit":100,"offset":0,"total":1}})";
    std::string const wire = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Thu, 26 Nov 2026 12:00:00 "
                             "GMT\r\nRetry-After: 5\r\nContent-Length: " +
                             std::to_string(page.size()) + "\r\n\r\n" + page;
    // Plain checks inside: a passing BOOST_TEST may allocate for its log.
    auto once = [&] {
        bool ok = detail::valid_request(req);
        detail::write_request_head(head, req, "/prefix", "api.example.test", "cleori/test");
        detail::response_reader parser{response, 1 << 20};
        boost::system::error_code ec;
        boost::asio::const_buffer rest = boost::asio::buffer(wire);
        while (!ec && !parser.is_done() && rest.size() > 0) rest += parser.put(rest, ec);
        ok = ok && !ec && parser.is_done();
        body.clear();
        cleori::encode_telemetry(sample, body);
        detail::json_arena arena;
        auto parsed = detail::parse_body<cleori::api_profile_v1>(response.body, arena);
        return ok && parsed.has_value() && parsed->is_object();
    };
    BOOST_TEST_REQUIRE(once()); // the buffers grow here
    unsigned failures = 0;
    counting c;
    for (int i = 0; i < 100; ++i) failures += once() ? 0 : 1;
    auto const seen = c.seen();
    BOOST_TEST(failures == 0u);
    BOOST_TEST(seen == 0u);
    BOOST_TEST(response.status == 200u);
    BOOST_TEST(response.retry_after == "5");
    BOOST_TEST(response.body == page);
    BOOST_TEST(head.find("Authorization: Bearer " + token + "\r\n") != std::string::npos);
}

namespace {

// An agent on the Beast transport (plain HTTP) against the simulator, which
// runs on a thread of its own so that only the agent's thread is counted.
// The windows run from one completed request of a kind to the next, with no
// request of the other kind in between; each holds one whole cycle.
struct loopback_rig {
    static constexpr char const* token = "a-bearer-token-of-forty-three-characters-xy"; // 43, as Cleori's
    boost::asio::io_context server_io;
    cleori::sim::server sim{server_io.get_executor(), {.tokens = {token}}};
    unsigned short port = sim.start().value();
    std::thread server_thread;
    boost::asio::io_context io;
    cleori::beast_transport transport{io.get_executor(), "http://127.0.0.1:" + std::to_string(port)};
    cleori::simulated_battery battery;

    loopback_rig() {
        // Known to the agent from its first poll: every later page repeats
        // it. Its id is longer than a string's inline buffer, as Cleori's are.
        sim.add_activation("asset-1", make("act-2026-11-26-0001", cleori::mfrr_direction::up, 60,
                                           cleori::real_clock{}.wall_now() - 1min, cleori::real_clock{}.wall_now() + 1h));
        server_thread = std::thread([this] { server_io.run(); });
    }
    ~loopback_rig() {
        server_io.stop();
        server_thread.join();
    }

    struct window {
        unsigned long allocations = 0;
        bool clean = false; // one request of the kind, none of the other, no failure, no backlog, no reconnect
    };

    // Allocations in each of N windows between two completions counted by
    // `done(counters)`; after a warm-up. The cadence is real time on a
    // shared machine: a window in which anything else happened (a late
    // answer that left a backlog, a timeout, a reconnect) is marked unclean.
    template <std::size_t N, class Done, class Other>
    std::array<window, N> windows(cleori::agent<cleori::simulated_battery>& agent, Done done, Other other) {
        std::array<window, N> out{};
        auto const until = std::chrono::steady_clock::now() + 60s;
        auto const failures = [](auto const& k) { return k.telemetry_failures + k.poll_failures; };
        while (done(agent.counters()) < 5 && std::chrono::steady_clock::now() < until) io.run_one_for(100ms);
        std::size_t i = 0;
        counting c;
        auto k0 = agent.counters();
        auto conn0 = transport.connections_opened();
        auto seen0 = c.seen();
        while (i < N && std::chrono::steady_clock::now() < until) {
            io.run_one_for(100ms);
            auto const k = agent.counters();
            if (done(k) == done(k0)) continue;
            out[i++] = {c.seen() - seen0, done(k) == done(k0) + 1 && other(k) == other(k0) &&
                                              failures(k) == failures(k0) && agent.outbox_size() == 0 &&
                                              transport.connections_opened() == conn0};
            k0 = k;
            conn0 = transport.connections_opened();
            seen0 = c.seen();
        }
        return out;
    }

    void stop(cleori::agent<cleori::simulated_battery>& agent) {
        agent.stop();
        auto const until = std::chrono::steady_clock::now() + 10s;
        while (!agent.stopped() && std::chrono::steady_clock::now() < until) io.run_one_for(100ms);
    }
};

} // namespace

// The whole client path per request: the agent's decision, the API client's
// call and the transport's exchange, with their handlers in the thread's
// handler pool. The request is borrowed (the token, and the target and body
// in strings the thread lends, written into the transport's
// request buffer), the response is lent from the transport's buffers, and
// the page is read into the last poll's activations. Nothing allocates.
BOOST_AUTO_TEST_CASE(a_whole_agent_over_loopback_allocates_nothing_per_cycle,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    loopback_rig rig;
    auto const telemetry = [](auto const& k) { return k.telemetry_requests; };
    auto const polls = [](auto const& k) { return k.polls; };
    auto check = [](auto const& windows, unsigned long expected) {
        std::size_t clean = 0;
        for (auto const& w : windows) {
            if (!w.clean) continue;
            ++clean;
            BOOST_TEST(w.allocations == expected);
        }
        BOOST_TEST(clean >= windows.size() - 3); // a loaded machine may spoil a few, not most
    };
    {
        cleori::agent<cleori::simulated_battery> agent{
            rig.battery, rig.transport, {.token = loopback_rig::token, .telemetry_interval = 200ms, .poll_interval = 60s}};
        BOOST_TEST_REQUIRE(agent.start().has_value());
        check(rig.windows<12>(agent, telemetry, polls), 0u);
        rig.stop(agent);
        BOOST_TEST(agent.stopped());
    }
    {
        cleori::agent<cleori::simulated_battery> agent{
            rig.battery, rig.transport, {.token = loopback_rig::token, .telemetry_interval = 10s, .poll_interval = 200ms}};
        BOOST_TEST_REQUIRE(agent.start().has_value());
        check(rig.windows<12>(agent, polls, telemetry), 0u);
        BOOST_TEST_REQUIRE(agent.activations().size() == 1u);
        BOOST_TEST(agent.activations().front().a.id == "act-2026-11-26-0001");
        rig.stop(agent);
        BOOST_TEST(agent.stopped());
    }
}

// The thread's handler pool: a freed block serves any size of its class
// again without the heap; a block over 1 KiB comes from the heap and goes
// back to it; a block freed on another thread joins that thread's lists; a
// thread keeps at most `retained_bytes_max`, and its blocks go back to the
// heap when it ends.
BOOST_AUTO_TEST_CASE(the_handler_pool_hands_freed_blocks_out_again,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    using pool = cleori::detail::handler_pool;
    void* const a = pool::allocate(200); // the 256-byte class
    auto const kept = pool::retained_bytes();
    pool::deallocate(a, 200);
    BOOST_TEST(pool::retained_bytes() == kept + 256);
    {
        counting c;
        void* const b = pool::allocate(256);
        BOOST_TEST(b == a);
        pool::deallocate(b, 256);
        void* const big = pool::allocate(2000);
        pool::deallocate(big, 2000);
        BOOST_TEST(c.seen() == 1u); // the big one only
    }
    BOOST_TEST(pool::retained_bytes() == kept + 256);

    void* const x = pool::allocate(100); // the 128-byte class, made here
    std::size_t there_before = 0, there_after = 0, capped = 0;
    bool reused = false;
    std::thread([&] {
        there_before = pool::retained_bytes();
        pool::deallocate(x, 100);
        there_after = pool::retained_bytes();
        void* const y = pool::allocate(128);
        reused = y == x;
        pool::deallocate(y, 128);
        std::vector<void*> many(pool::retained_bytes_max / 1024 + 8);
        for (auto& p : many) p = pool::allocate(1024);
        for (auto* p : many) pool::deallocate(p, 1024);
        capped = pool::retained_bytes();
    }).join(); // and its lists go back to the heap
    BOOST_TEST(there_after == there_before + 128);
    BOOST_TEST(reused);
    BOOST_TEST(capped <= pool::retained_bytes_max);
    BOOST_TEST(capped >= pool::retained_bytes_max - 1024);
}

// The storage that an agent needs only while it is busy goes back to the
// thread's pool when it is idle: a drained action queue's (`detail::fifo`
// with the pooled allocator) and an empty outbox's. The next use takes the
// same block again without the heap, and the queue keeps its order across.
BOOST_AUTO_TEST_CASE(an_idle_action_queue_and_an_empty_outbox_hold_no_storage,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    using pool = cleori::detail::handler_pool;
    struct item {
        int n;
        std::array<char, 52> pad{};
    }; // 56 bytes, as the core's queued actions; four fill the 256-byte class
    cleori::detail::fifo<item, 32, cleori::detail::pooled_allocator<item>> queue;
    auto const drain = [&] { // the items in the order they leave, as digits (no heap)
        int out = 0;
        while (auto x = queue.pop()) out = out * 10 + x->n;
        return out;
    };
    queue.push(item{1});
    queue.push(item{2});
    queue.push(item{3});
    auto const busy = pool::retained_bytes();
    BOOST_TEST(drain() == 123);
    BOOST_TEST(pool::retained_bytes() == busy + 256);
    {
        counting c;
        queue.push(item{4});
        queue.push(item{5});
        BOOST_TEST(pool::retained_bytes() == busy);
        BOOST_TEST(drain() == 45);
        BOOST_TEST(c.seen() == 0u);
    }

    // With the default allocator the queue keeps its capacity instead.
    cleori::detail::fifo<item> kept;
    kept.push(item{1});
    BOOST_TEST(kept.pop().has_value());
    {
        counting c;
        kept.push(item{2});
        BOOST_TEST(kept.pop()->n == 2);
        BOOST_TEST(c.seen() == 0u);
    }

    cleori::telemetry_outbox box{8};
    cleori::telemetry_sample const sample{t0, kilowatts{-20.0}, std::nullopt};
    box.push(sample);
    BOOST_TEST(box.acknowledge(box.live()->seq) == 1u); // its block is the pool's now
    auto const idle = pool::retained_bytes();
    {
        counting c;
        box.push(sample);
        BOOST_TEST(pool::retained_bytes() + 64 == idle); // one 48-byte entry, from the pool
        BOOST_TEST(box.acknowledge(box.live()->seq) == 1u);
        BOOST_TEST(pool::retained_bytes() == idle);
        BOOST_TEST(c.seen() == 0u);
    }
}

// The token in one block that its holders share (the agent, and each request
// in flight with the token it started with), and a time point or none in
// the size of a time point: two of the agent's compact members.
BOOST_AUTO_TEST_CASE(a_shared_token_is_one_block_and_an_optional_time_one_word,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    std::string const secret = "a-bearer-token-of-forty-three-characters-10";
    std::optional<cleori::detail::shared_text> held;
    {
        counting c;
        cleori::detail::shared_text token{secret};
        BOOST_TEST(c.seen() == 1u);
        held.emplace(token); // a request in flight
        auto moved = std::move(token);
        BOOST_TEST(token.view().empty());
        BOOST_TEST(moved.view() == secret);
        BOOST_TEST(held->use_count() == 2u);
        moved = cleori::detail::shared_text{"rotated"}; // a rotation
        BOOST_TEST(moved.view() == "rotated");
        BOOST_TEST(c.seen() == 2u);
    }
    BOOST_TEST(held->view() == secret); // the request keeps the token it started with
    BOOST_TEST(held->use_count() == 1u);
    BOOST_TEST(sizeof(cleori::detail::shared_text) == sizeof(void*));
    BOOST_TEST(cleori::detail::shared_text{}.view().empty());

    using opt = cleori::detail::optional_time<cleori::timestamp>;
    static_assert(sizeof(opt) == sizeof(cleori::timestamp));
    opt t;
    BOOST_TEST(!t.has_value());
    BOOST_TEST(!(t == t0)); // none equals no time point
    BOOST_TEST((static_cast<std::optional<cleori::timestamp>>(t) == std::nullopt));
    t = t0;
    BOOST_TEST((t.has_value() && *t == t0 && t == t0));
    BOOST_TEST((static_cast<std::optional<cleori::timestamp>>(t) == t0));
    t.reset();
    BOOST_TEST(!t);
    t = std::optional<cleori::timestamp>(t0);
    BOOST_TEST((t == opt{t0}));
    t = std::nullopt;
    BOOST_TEST((t == opt{}));
}

// The agent's counters in 32 bits each: exact past 2^32 - 1, where a count
// carries into a block made on the first carry, and only then.
BOOST_AUTO_TEST_CASE(narrow_counts_stay_exact_past_32_bits,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    using k = cleori::agent_counters;
    cleori::detail::core_counts n;
    // Half the wide struct, plus the carry block's pointer and its alignment.
    static_assert(sizeof(cleori::detail::core_counts) <= sizeof(k) / 2 + 2 * sizeof(void*));
    std::uint64_t const max32 = 0xFFFF'FFFFu;
    counting c;
    n.add<&k::polls>();
    n.add<&k::samples_sent>(max32 - 1);
    BOOST_TEST(c.seen() == 0u);
    BOOST_TEST(n.get<&k::samples_sent>() == max32 - 1);
    n.add<&k::samples_sent>(); // 2^32 - 1: still in 32 bits
    BOOST_TEST(c.seen() == 0u);
    n.add<&k::samples_sent>(); // 2^32: the first carry makes the block
    BOOST_TEST(c.seen() == 1u);
    BOOST_TEST(n.get<&k::samples_sent>() == max32 + 1);
    n.add<&k::samples_sent>(3 * (max32 + 1) + 5);
    BOOST_TEST(n.get<&k::samples_sent>() == 4 * (max32 + 1) + 5);
    n.set<&k::samples_restored>(std::uint64_t{7} << 40);
    n.set<&k::activations_restored>(12);
    BOOST_TEST(c.seen() == 1u);
    auto const w = n.wide();
    BOOST_TEST(w.polls == 1u);
    BOOST_TEST(w.samples_sent == 4 * (max32 + 1) + 5);
    BOOST_TEST(w.samples_restored == std::uint64_t{7} << 40);
    BOOST_TEST(w.activations_restored == 12u);
    BOOST_TEST(w.confirmations_restored == 0u);
    n.set<&k::samples_restored>(1); // a set below 2^32 clears the high word too
    BOOST_TEST(n.wide().samples_restored == 1u);
}

// The same counts' arithmetic, in every build (the sanitizers' too): a carry
// from the low word and a large addition at once, a set above 2^32 that makes
// the block, and each count apart from the others.
BOOST_AUTO_TEST_CASE(narrow_counts_add_and_set_exactly_around_2_to_the_32) {
    using k = cleori::agent_counters;
    std::uint64_t const two32 = std::uint64_t{1} << 32;
    cleori::detail::core_counts n;
    n.add<&k::polls>(two32 - 3);
    n.add<&k::polls>(5 * two32 + 7); // the low word wraps and the high word takes 5 + 1
    BOOST_TEST(n.get<&k::polls>() == 6 * two32 + 4);
    n.add<&k::polls>(two32 - 4); // exactly to the next multiple
    BOOST_TEST(n.get<&k::polls>() == 7 * two32);
    cleori::detail::core_counts fresh;
    fresh.set<&k::samples_restored>(3 * two32 + 1); // makes the block
    BOOST_TEST(fresh.get<&k::samples_restored>() == 3 * two32 + 1);
    fresh.add<&k::samples_restored>(two32 - 1);
    BOOST_TEST(fresh.get<&k::samples_restored>() == 4 * two32);
    fresh.add<&k::soc_limit_stops>(2);
    auto const w = fresh.wide();
    BOOST_TEST(w.samples_restored == 4 * two32);
    BOOST_TEST(w.soc_limit_stops == 2u);
    BOOST_TEST(w.samples_taken == 0u);                     // the first count
    BOOST_TEST(w.confirmations_restored == 0u);            // the last
    BOOST_TEST(w.polls == 0u);
}

// Request strings lent by the thread: a nested request gets a pair of its
// own, and a pair given back keeps its capacity for the next request.
BOOST_AUTO_TEST_CASE(request_strings_are_lent_by_the_thread_and_keep_their_capacity,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    auto const use = [](cleori::detail::scratch_lease& l, char c) {
        l.target().assign(100, c);
        l.body().assign(1000, c);
    };
    {
        cleori::detail::scratch_lease outer;
        use(outer, 'a');
        cleori::detail::scratch_lease inner;
        use(inner, 'b');
        BOOST_TEST(&inner.body() != &outer.body());
        BOOST_TEST(outer.body() == std::string(1000, 'a'));
    }
    std::string const cs(1000, 'c');
    bool kept = false;
    {
        counting c;
        {
            cleori::detail::scratch_lease outer;
            use(outer, 'c');
            cleori::detail::scratch_lease inner;
            use(inner, 'd');
            kept = outer.body() == cs;
        }
        BOOST_TEST(c.seen() == 0u);
    }
    BOOST_TEST(kept);
}

namespace {
// Answers telemetry with 204 and polls with an empty page, through the
// executor, and keeps nothing (testing::memory_transport records every
// request, which would count here).
struct answering_transport {
    using executor_type = boost::asio::any_io_executor;
    executor_type ex;
    cleori::http_response accepted{204, {}, {}};
    cleori::http_response page{200, R"({"data":[],"pagination":{"limit":100,"offset":0,"total":0}})", {}};

    [[nodiscard]] executor_type get_executor() const { return ex; }
    template <class Handler>
    void async_request(cleori::http_request req, Handler&& handler) {
        auto const& res = req.method == cleori::http_method::post ? accepted : page;
        auto alloc = boost::asio::get_associated_allocator(handler);
        boost::asio::post(ex, boost::asio::bind_allocator(alloc, [h = std::forward<Handler>(handler), &res]() mutable {
                              std::move(h)(boost::system::error_code{}, res);
                          }));
    }
};
static_assert(cleori::Transport<answering_transport>);
} // namespace

// The heap a fleet's agents hold each, in steady state on one thread: their
// handlers' blocks, their requests' strings and samples, their action
// queues and their outboxes' storage are the thread's while in use, shared
// by the agents (`detail::handler_pool`, `detail::scratch_lease`), so what
// stays per agent is its own state and its token. Counted as the heap in use
// (glibc's `mallinfo2`) on the one thread this runs on, with virtual time and
// an in-memory Cleori, so the figures are exact.
//
// Spread: the agents start spread over one telemetry interval, as a fleet's
// do (and as benchmark/fleet_client starts them). The bound is the figure
// (1,749 bytes) with a little room: an agent that keeps a block or a buffer
// of its own again (64 bytes or more each), or a published status snapshot
// (400), goes over it.
//
// In lockstep: a second group starts at one instant, so that every agent
// samples, sends and polls at the same virtual moments and the thread's pool
// must hold the blocks of all of them at once (2,158 bytes). That is still
// less than each agent held with storage of its own (2,445).
BOOST_AUTO_TEST_CASE(a_fleet_on_one_thread_holds_handler_memory_and_request_buffers_once,
                     *boost::unit_test::enable_if<CLEORI_TEST_COUNTS_ALLOCATIONS != 0>()) {
    using battery_type = cleori::basic_simulated_battery<cleori::manual_clock>;
    using agent_type = cleori::basic_agent<battery_type, answering_transport, cleori::test::virtual_time>;
    boost::asio::io_context io;
    cleori::manual_clock clock{t0};
    answering_transport transport{io.get_executor()};
    auto const in_use = [] { return static_cast<double>(mallinfo2().uordblks); };
    constexpr auto telemetry_interval = 1s;
    std::vector<std::unique_ptr<battery_type>> batteries;
    std::vector<std::unique_ptr<agent_type>> agents;
    constexpr std::size_t first = 8, more = 64;
    batteries.reserve(first + 2 * more);
    agents.reserve(first + 2 * more);
    enum class starts { spread, lockstep };
    auto const add = [&](std::size_t n, starts how) {
        for (std::size_t i = 0; i < n; ++i) {
            auto const k = agents.size();
            agents.push_back(std::make_unique<agent_type>(
                *batteries[k], transport,
                cleori::agent_config{.token = "a-bearer-token-of-forty-three-characters-" + std::to_string(10 + k),
                                     .telemetry_interval = telemetry_interval, .poll_interval = 2s},
                clock));
            BOOST_TEST_REQUIRE(agents.back()->start().has_value());
            if (how == starts::spread)
                clock.run_for(io, std::chrono::duration_cast<cleori::mono_time::duration>(telemetry_interval) /
                                      static_cast<long>(n));
        }
        clock.run_for(io, 40s);
    };
    for (std::size_t i = 0; i < first + 2 * more; ++i)
        batteries.push_back(std::make_unique<battery_type>(clock, cleori::percent{50.0}));
    add(first, starts::spread); // the thread's pools warm up
    auto before = in_use();
    add(more, starts::spread);
    auto const spread = (in_use() - before) / static_cast<double>(more);
    before = in_use();
    add(more, starts::lockstep);
    auto const lockstep = (in_use() - before) / static_cast<double>(more);
    BOOST_TEST_MESSAGE("heap held per agent in steady state: " << spread << " bytes (agents spread over the interval), "
                                                                << lockstep << " bytes (in lockstep)");
    for (auto const& a : agents) {
        BOOST_TEST_REQUIRE(a->counters().telemetry_requests >= 30u);
        BOOST_TEST_REQUIRE(a->counters().polls >= 15u);
    }
    BOOST_TEST(spread <= 1800.0);
    BOOST_TEST(lockstep <= 2210.0);
    for (auto& a : agents) a->stop();
    clock.run_for(io, 1min);
}

BOOST_AUTO_TEST_SUITE_END()
