// The randomized invariant test of ../shared engine invariants (doc/engine.md):
// thousands of seeded scenarios in virtual time drive agent_core directly
// against a simulated battery plant, a simulated Cleori and a network that
// fails, rate-limits and goes away. After every event the invariants are
// checked; a failure prints the seed and the event trace up to it.
//
//   cleori_unit_tests --run_test=engine_invariants                 # CLEORI_SCENARIOS (default 10000)
//                                                                   # from CLEORI_FIRST_SEED (default 1)
//   cleori_unit_tests --run_test=engine_invariants -- --seed=1234  # replay one scenario, with its trace
#include <cleori/engine/agent_core.hpp>

#include "support/exemplar_battery.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace cleori::literals;
using namespace std::chrono_literals;

namespace {

using cleori::kilowatts;
using cleori::mono_time;
using ms = std::chrono::milliseconds;

struct violation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using cleori_test::plant_ratings;

// One scripted activation and what Cleori does with it over time.
struct script {
    cleori::activation a;
    ms visible_at;                  // first served
    std::optional<ms> modify_at;    // power and/or end changed
    cleori::activation modified;
    std::optional<ms> cancel_at;    // status cancelled (or 0 kW)
    std::optional<ms> complete_at;  // status completed while the end is in the future
    std::optional<ms> vanish_at;    // no longer served at all
};

class scenario {
public:
    explicit scenario(std::uint64_t seed, bool tracing)
        : seed_(seed), rng_(seed), more_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
          slack_rng_(seed ^ 0xc2b2ae3d27d4eb4fULL), tracing_(tracing) {
        build();
    }

    void run() {
        core_->start(at());
        pump("start");
        while (!events_.empty()) {
            auto e = events_.top();
            events_.pop();
            if (e.at > end_) break;
            advance(e.at);
            e.fn();
        }
        finish();
    }
    std::string trace() const {
        std::ostringstream os;
        std::size_t const from = trace_.size() > 400 ? trace_.size() - 400 : 0;
        if (from) os << "  … " << from << " earlier events\n";
        for (std::size_t i = from; i < trace_.size(); ++i) os << "  " << trace_[i] << '\n';
        return os.str();
    }
    std::string const& summary() const { return summary_; }
    /// Commands the blocked driver withdrew, and those it still sent after a block.
    std::uint64_t withdrawn() const { return core_->counters().commands_withdrawn; }
    std::uint64_t reached_late() const { return reached_late_; }

private:
    // --- the world ---
    std::uint64_t seed_;
    std::mt19937_64 rng_;
    // The cases added later (back-to-back activations, a blocked driver)
    // draw from a stream of their own, so that a seed without them plays the
    // scenario it played before they existed.
    std::mt19937_64 more_rng_;
    // A driver whose timers fire up to a tick late (coalescing_clock) draws
    // from its own stream too.
    std::mt19937_64 slack_rng_;
    ms slack_{0};
    bool tracing_;
    std::vector<std::string> trace_;
    std::string summary_;
    mono_time const t0_{std::chrono::hours(24)};
    cleori::timestamp const wall0_ = cleori::timestamp{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27}};
    mono_time now_ = t0_;
    ms wall_skew_{0}; // the agent's wall clock minus the true one (clock steps)
    mono_time end_;
    cleori::agent_config cfg_;
    std::optional<cleori::agent_core> core_;

    struct event {
        mono_time at;
        std::uint64_t seq;
        std::function<void()> fn;
        bool operator<(event const& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };
    std::priority_queue<event> events_;
    std::uint64_t seq_ = 0;
    std::optional<mono_time> wake_;

    // plant
    double soc_ = 50;             // %
    double power_ = 0;            // kW flowing now
    double target_ = 0;           // kW accepted, effective from switch_at_
    mono_time switch_at_{};
    double last_issued_ = 0;      // the latest setpoint the core commanded
    double excused_below_ = 0, excused_above_ = 0; // SoC moved while the device ignored the latest command

    // device behaviour
    double p_fail_ = 0, p_hang_ = 0, p_late_ = 0;
    std::vector<std::pair<mono_time, mono_time>> device_dead_; // every op fails or hangs in these windows
    mono_time last_device_fault_{};

    // driver behaviour: its thread blocks between the core's decision and the
    // device call (a journal write that waits for a slow disk), with nothing
    // else handled meanwhile, as `basic_agent` would
    double p_blocked_ = 0;
    ms max_block_{0};
    std::vector<std::pair<mono_time, mono_time>> blocked_;
    std::uint64_t reached_late_ = 0; // commands the driver got to after a block, still valid
    mono_time decided_at_{};         // when the core decided the actions being performed (a block delays them)

    // network behaviour
    std::vector<std::pair<mono_time, mono_time>> outages_;
    double p_503_ = 0, p_429_ = 0;
    ms retry_after_{0};

    // Cleori
    std::vector<script> scripts_;
    std::map<std::string, std::vector<cleori::confirmation>> executing_sent_; // id → distinct executing bodies
    std::map<std::string, mono_time> first_answer_;
    std::map<std::string, mono_time> could_decide_;
    std::map<std::string, mono_time> first_start_;
    std::map<std::string, cleori::timestamp> start_served_;
    std::set<std::string> lost_contact_; // ended locally before an answer: exempt from the bound
    std::set<std::uint64_t> acked_seqs_;
    std::map<cleori::timestamp, std::uint64_t> taken_at_, delivered_at_;
    std::optional<cleori::timestamp> last_taken_;
    std::uint64_t delivered_ = 0, delivered_twice_ = 0, same_instant_ = 0;

    // cadence
    std::optional<mono_time> last_read_, last_poll_;
    std::optional<mono_time> poll_hold_until_, tele_hold_until_;
    std::optional<mono_time> nonzero_idle_since_;
    std::chrono::minutes grace_{15};
    bool stopping_ = false;
    mono_time stop_at_{};
    mono_time last_wake_{};
    int wakes_at_same_time_ = 0;

    // Draws from either stream; the overloads without one use rng_.
    static double unif(std::mt19937_64& g, double a, double b) { return std::uniform_real_distribution<double>(a, b)(g); }
    static bool chance(std::mt19937_64& g, double p) { return unif(g, 0, 1) < p; }
    static std::size_t index(std::mt19937_64& g, std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(g); }
    static ms rand_ms(std::mt19937_64& g, ms a, ms b) { return ms{std::uniform_int_distribution<ms::rep>(a.count(), b.count())(g)}; }
    double unif(double a, double b) { return unif(rng_, a, b); }
    bool chance(double p) { return chance(rng_, p); }
    template <class T>
    T pick(std::initializer_list<T> xs) {
        return *(xs.begin() + static_cast<std::ptrdiff_t>(index(rng_, xs.size())));
    }
    ms rand_ms(ms a, ms b) { return rand_ms(rng_, a, b); }

    cleori::timestamp true_wall() const {
        return wall0_ + std::chrono::duration_cast<cleori::timestamp::duration>(now_ - t0_);
    }
    cleori::core_time at() const {
        return {now_, true_wall() + std::chrono::duration_cast<cleori::timestamp::duration>(wall_skew_)};
    }
    double secs(mono_time t) const { return std::chrono::duration<double>(t - t0_).count(); }
    void note(std::string line) {
        if (tracing_) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%9.3f s  ", secs(now_));
            trace_.push_back(buf + line);
        }
    }
    [[noreturn]] void fail(std::string const& what) {
        note("VIOLATION: " + what);
        throw violation(what);
    }
    void schedule(mono_time t, std::function<void()> fn) { events_.push({t, seq_++, std::move(fn)}); }
    // How long the driver was blocked between two instants: cadences and
    // answer bounds stretch by it, as they would on a real site.
    ms blocked_between(mono_time from, mono_time to) const {
        ms sum{0};
        for (auto const& [a, b] : blocked_)
            if (b > from && a < to) sum += std::chrono::duration_cast<ms>(std::min(b, to) - std::max(a, from));
        return sum;
    }
    bool in(std::vector<std::pair<mono_time, mono_time>> const& w) const {
        for (auto const& [a, b] : w)
            if (now_ >= a && now_ < b) return true;
        return false;
    }

    void build() {
        cfg_.token = "t";
        cfg_.telemetry_interval = pick({ms{1000}, ms{2000}, ms{5000}, ms{10000}});
        cfg_.poll_interval = pick({ms{1000}, ms{5000}, ms{15000}, ms{60000}});
        if (chance(slack_rng_, 0.3)) {
            // What the agent accepts: below both intervals, and Cleori's
            // limits kept with the tick added.
            slack_ = rand_ms(slack_rng_, ms{1}, std::min({ms{1000}, cfg_.telemetry_interval, cfg_.poll_interval} ) - ms{1});
            cfg_.telemetry_interval = std::min(cfg_.telemetry_interval, ms{10000} - slack_);
            cfg_.poll_interval = std::min(cfg_.poll_interval, ms{60000} - slack_);
        }
        cfg_.outbox_span = std::chrono::minutes(pick({1, 30}));
        end_ = t0_ + std::chrono::minutes(12);
        soc_ = pick({0, 1, 2}) == 0 ? unif(10.5, 16) : (chance(0.5) ? unif(84, 89.5) : unif(20, 80));
        if (chance(0.5)) {
            p_fail_ = unif(0, 0.2);
            p_hang_ = unif(0, 0.1);
            p_late_ = unif(0, 0.1);
        }
        if (chance(0.2)) {
            auto s = t0_ + rand_ms(ms{0}, ms{600000});
            device_dead_.push_back({s, s + rand_ms(ms{1000}, ms{20000})});
        }
        if (chance(0.4)) {
            auto s = t0_ + rand_ms(ms{0}, ms{600000});
            outages_.push_back({s, s + rand_ms(ms{5000}, ms{300000})});
        }
        if (chance(0.4)) {
            p_503_ = unif(0, 0.2);
            p_429_ = unif(0, 0.2);
            retry_after_ = rand_ms(ms{0}, ms{120000});
        }
        int const n = static_cast<int>(unif(1, 9));
        for (int i = 0; i < n; ++i) {
            script s;
            auto& a = s.a;
            a.id = "a" + std::to_string(i);
            a.direction = chance(0.5) ? cleori::mfrr_direction::up : cleori::mfrr_direction::down;
            a.power = kilowatts{std::round(unif(10, 150))};
            s.visible_at = rand_ms(ms{0}, ms{400000});
            auto const start = s.visible_at + rand_ms(ms{-1200000}, ms{300000}); // some started long ago
            a.start_time = wall0_ + start;
            if (!chance(0.25)) a.end_time = a.start_time + rand_ms(ms{10000}, ms{400000});
            a.status = chance(0.1) ? cleori::activation_status::completed : cleori::activation_status::pending;
            if (chance(0.3)) {
                s.modify_at = s.visible_at + rand_ms(ms{1000}, ms{200000});
                s.modified = a;
                s.modified.power = kilowatts{std::round(unif(10, 150))};
                if (chance(0.3)) { // moved later (or earlier), the length kept
                    auto const shift = rand_ms(ms{-60000}, ms{600000});
                    s.modified.start_time += shift;
                    if (s.modified.end_time) *s.modified.end_time += shift;
                }
                if (a.end_time && chance(0.5)) s.modified.end_time = *a.end_time + rand_ms(ms{-60000}, ms{120000});
                if (s.modified.end_time && *s.modified.end_time <= s.modified.start_time)
                    s.modified.end_time = s.modified.start_time + 1s;
            }
            if (chance(0.2)) s.cancel_at = s.visible_at + rand_ms(ms{0}, ms{300000});
            if (chance(0.05)) s.complete_at = s.visible_at + rand_ms(ms{0}, ms{300000});
            if (chance(0.15)) s.vanish_at = s.visible_at + rand_ms(ms{0}, ms{300000});
            scripts_.push_back(s);
        }
        // Back to back, as consecutive quarter-hours run: one starts up to
        // 1 s before another ends, so a command made as it starts is valid
        // only until that end (and a blocked driver may reach it after).
        if (chance(more_rng_, 0.3)) {
            auto const& first = scripts_[index(more_rng_, scripts_.size())];
            if (first.a.end_time) {
                script s;
                s.a = first.a;
                s.a.id = "a" + std::to_string(scripts_.size());
                s.a.power = kilowatts{std::round(unif(more_rng_, 10, 150))};
                s.a.start_time = *first.a.end_time - rand_ms(more_rng_, ms{0}, ms{1000});
                s.a.end_time = s.a.start_time + rand_ms(more_rng_, ms{10000}, ms{400000});
                s.a.status = cleori::activation_status::pending;
                s.visible_at = first.visible_at;
                scripts_.push_back(s);
            }
        }
        // Clock steps of the wall clock.
        if (chance(0.1)) {
            auto const step = rand_ms(ms{-3000}, ms{3000});
            schedule(t0_ + rand_ms(ms{0}, ms{600000}), [this, step] {
                wall_skew_ += step;
                note("wall clock steps " + std::to_string(step.count()) + " ms");
                core_->on_wake(at());
                pump("clock step");
            });
        }
        // Short grace and horizon periods make lost contact, resumption and
        // rolling horizons happen inside a scenario.
        cleori::core_profile prof;
        prof.open_ended_grace = std::chrono::minutes(pick({1, 3, 15}));
        prof.open_ended_horizon = std::chrono::minutes(pick({2, 15}));
        grace_ = prof.open_ended_grace;
        if (chance(0.2)) {
            auto const at = t0_ + rand_ms(ms{60000}, ms{660000});
            schedule(at, [this] {
                note("stop");
                stopping_ = true;
                stop_at_ = now_;
                core_->stop(this->at());
                pump("stop");
            });
        }
        if (chance(more_rng_, 0.2)) {
            p_blocked_ = unif(more_rng_, 0.1, 0.6);
            max_block_ = rand_ms(more_rng_, ms{100}, ms{2000});
        }
        core_.emplace(plant_ratings, cfg_, prof);
        core_->set_wake_slack(slack_);
        if (tracing_) core_->log = [this](cleori::log_level, std::string_view line) { note("core: " + std::string(line)); };
        core_->journal = [this](cleori::store_record const& r) {
            if (auto const* t = std::get_if<cleori::sample_taken>(&r)) {
                if (last_taken_ && *last_taken_ == t->sample.time) ++same_instant_;
                last_taken_ = t->sample.time;
                ++taken_at_[t->sample.time];
            }
        };
        std::ostringstream os;
        os << "seed " << seed_ << ": telemetry " << cfg_.telemetry_interval.count() << " ms, poll "
           << cfg_.poll_interval.count() << " ms, soc " << soc_ << " %, " << scripts_.size() << " activations, device fail/hang/late "
           << p_fail_ << "/" << p_hang_ << "/" << p_late_ << ", 503/429 " << p_503_ << "/" << p_429_ << " (Retry-After "
           << retry_after_.count() << " ms), " << outages_.size() << " outage(s), " << device_dead_.size()
           << " device fault window(s), driver blocks " << p_blocked_ << " (up to " << max_block_.count() << " ms)"
           << ", wake-ups up to " << slack_.count() << " ms late";
        summary_ = os.str();
        note(summary_);
    }

    // --- the plant: power follows the accepted setpoint after the response time ---
    void advance(mono_time to) {
        while (now_ < to) {
            mono_time step_end = to;
            if (switch_at_ > now_ && switch_at_ < step_end) step_end = switch_at_;
            double const h = std::chrono::duration<double, std::ratio<3600>>(step_end - now_).count();
            double const p = power_;
            double const delta = cleori::detail::soc_delta(plant_ratings, p, h);
            if (p != last_issued_) (delta < 0 ? excused_below_ : excused_above_) += std::abs(delta);
            soc_ = std::clamp(soc_ + delta, 0.0, 100.0);
            now_ = step_end;
            if (now_ >= switch_at_) power_ = target_;
        }
        if (soc_ < plant_ratings.min_soc.in_pct() - excused_below_ - 1e-6 ||
            soc_ > plant_ratings.max_soc.in_pct() + excused_above_ + 1e-6) {
            std::ostringstream os;
            os << "I4 energy: the plant's soc is " << soc_ << " % (window " << plant_ratings.min_soc.in_pct() << "–"
               << plant_ratings.max_soc.in_pct() << " %, excused " << excused_below_ << "/" << excused_above_ << ")";
            fail(os.str());
        }
    }

    // --- the core's actions, performed by the world ---
    void pump(char const* why) {
        static_cast<void>(why);
        decided_at_ = now_;
        while (auto a = core_->next_action()) std::visit([this](auto& x) { perform(x); }, *a);
        check_state();
        auto const w = core_->wake_at();
        if (w && w != wake_) {
            wake_ = w;
            // A late-waking driver: anywhere within the slack after the instant asked for.
            auto const late = slack_ > ms{0} ? rand_ms(slack_rng_, ms{0}, slack_) : ms{0};
            schedule(std::max(*w, now_) + late, [this, at = *w] {
                if (wake_ != at) return;
                wake_.reset();
                // A wake-up that changes nothing and asks for the same instant
                // again would spin a real executor.
                wakes_at_same_time_ = now_ == last_wake_ ? wakes_at_same_time_ + 1 : 0;
                last_wake_ = now_;
                if (wakes_at_same_time_ > 1000) fail("I9 liveness: the core asks to be woken at the same instant again and again");
                core_->on_wake(this->at());
                pump("wake");
            });
        } else if (!w) {
            wake_.reset();
        }
    }

    enum class device_fate { ok, fail, hang, late };
    device_fate fate() {
        if (in(device_dead_)) return chance(0.5) ? device_fate::fail : device_fate::hang;
        double const x = unif(0, 1);
        if (x < p_fail_) return device_fate::fail;
        if (x < p_fail_ + p_hang_) return device_fate::hang;
        if (x < p_fail_ + p_hang_ + p_late_) return device_fate::late;
        return device_fate::ok;
    }
    mono_time answer_time(device_fate f, mono_time deadline) {
        if (f == device_fate::late) return deadline + rand_ms(ms{1}, ms{3000});
        return std::min(deadline - ms{1}, now_ + rand_ms(ms{0}, ms{400}));
    }

    void perform(cleori::read_device const& r) {
        // A reading waits for at most two operations: the one in flight, and
        // the command of an activation waiting to start.
        if (last_read_ && now_ - *last_read_ > cfg_.telemetry_interval + 2 * core_->device_timeout() + ms{1} +
                              slack_ + blocked_between(*last_read_, now_)) {
            std::ostringstream os;
            os << "I8 cadence: device read " << secs(now_) - secs(*last_read_) << " s after the previous one";
            fail(os.str());
        }
        last_read_ = now_;
        auto const f = fate();
        note("read #" + std::to_string(r.op) + (f == device_fate::ok ? "" : f == device_fate::fail ? " (will fail)" : f == device_fate::hang ? " (hangs)" : " (answers late)"));
        if (f != device_fate::ok) last_device_fault_ = now_;
        if (f == device_fate::hang) return;
        schedule(answer_time(f, r.deadline), [this, op = r.op, f] {
            boost::system::error_code ec;
            cleori::battery_state st;
            if (f == device_fate::fail) ec = make_error_code(boost::system::errc::io_error);
            else st = {kilowatts{power_}, cleori::percent{soc_}};
            note("read #" + std::to_string(op) + " answers" + (ec ? " with an error" : ""));
            core_->on_device_read(at(), op, ec, st);
            pump("read");
        });
    }

    void perform(cleori::command_device const& c) {
        // `valid_until` is the first end among the shares, exactly.
        auto until = cleori::timestamp::max();
        for (auto const& [id, share] : c.shares)
            if (auto const* a = find(id))
                until = std::min(until, a->a.end_time ? *a->a.end_time
                                                      : std::max(a->last_seen + grace_, a->a.start_time));
        if (c.valid_until != until) fail("I3 window: command's valid_until is not the first end among its shares");
        if (p_blocked_ > 0 && chance(more_rng_, p_blocked_)) {
            // Blocked for a while, but not past the command's deadline: a
            // driver that overran it would be answering a command the core
            // has given up on.
            auto const room = std::chrono::duration_cast<ms>(c.deadline - now_) / 2;
            auto const d = rand_ms(more_rng_, ms{1}, std::max(ms{1}, std::min(max_block_, room)));
            note("driver blocked " + std::to_string(d.count()) + " ms before command #" + std::to_string(c.op));
            blocked_.push_back({now_, now_ + d});
            last_issued_ = c.setpoint.in_kw(); // commanded: a drift meanwhile is not the core's
            advance(now_ + d);
            if (at().wall >= c.valid_until) {
                note("command #" + std::to_string(c.op) + " withdrawn: reached at or after its valid_until");
                last_issued_ = target_;
                core_->on_device_command_withdrawn(at(), c.op);
                decided_at_ = now_;
                return; // the pump goes on with what the core decided instead
            }
            ++reached_late_;
        }
        auto const w = at().wall;
        kilowatts sum{};
        for (auto const& [id, share] : c.shares) {
            sum += share;
            auto const* a = find(id);
            if (!a) fail("I3 window: command carries unknown activation " + id);
            if (!cleori::is_running(a->phase)) fail("I3 window: command carries " + id + " in phase " + std::string(to_string(a->phase)));
            if (a->a.start_time > w || (a->a.end_time && w >= *a->a.end_time) || a->a.is_cancellation() ||
                a->a.status == cleori::activation_status::completed)
                fail("I3 window: command carries " + id + " outside its window or withdrawn");
            if (a->a.end_time && c.valid_until > *a->a.end_time)
                fail("I3 window: command valid until after the end of " + id);
        }
        // A driver checks `valid_until` when it gets to the command; this one gets there at once.
        if (w >= c.valid_until) fail("I3 window: command issued already past its valid_until");
        if (std::abs(sum.in_kw() - c.setpoint.in_kw()) > 1e-9) fail("I2 sum: command setpoint differs from its shares");
        if (c.setpoint > plant_ratings.max_charge || c.setpoint < -plant_ratings.max_discharge)
            fail("I2 sum: command " + std::to_string(c.setpoint.in_kw()) + " kW outside the ratings");
        last_issued_ = c.setpoint.in_kw();
        auto const f = fate();
        note("command #" + std::to_string(c.op) + " " + std::to_string(c.setpoint.in_kw()) + " kW" +
             (f == device_fate::ok ? "" : f == device_fate::fail ? " (will fail)" : f == device_fate::hang ? " (hangs)" : " (answers late)"));
        if (f != device_fate::ok) last_device_fault_ = now_;
        if (f == device_fate::hang) return;
        schedule(answer_time(f, c.deadline), [this, op = c.op, p = c.setpoint.in_kw(), f] {
            boost::system::error_code ec;
            if (f == device_fate::fail) ec = make_error_code(boost::system::errc::io_error);
            else {
                target_ = p; // a late answer was still applied by the device
                switch_at_ = now_ + plant_ratings.response_time;
            }
            note("command #" + std::to_string(op) + " answers" + (ec ? " with an error" : ""));
            core_->on_device_command(at(), op, ec);
            pump("command");
            check_accepted();
        });
    }

    // Network: an outage refuses, 503 and 429 fail, otherwise an answer within the deadline.
    struct net_outcome {
        bool ok;
        cleori::call_failure failure;
        mono_time at;
    };
    net_outcome network(mono_time deadline) {
        auto const when = std::min(deadline, now_ + rand_ms(ms{1}, ms{300}));
        if (in(outages_)) return {false, {make_error_code(boost::system::errc::connection_refused), 0, {}, "refused"}, when};
        double const x = unif(0, 1);
        if (x < p_503_) return {false, {cleori::error::http_server_error, 503, {}, "503"}, when};
        if (x < p_503_ + p_429_) return {false, {cleori::error::http_rate_limited, 429, retry_after_, "429"}, when};
        return {true, {}, when};
    }

    void perform(cleori::poll_activations const& p) {
        if (poll_hold_until_ && now_ < *poll_hold_until_) fail("I8 cadence: poll before Retry-After allowed it");
        if (last_poll_ && now_ - *last_poll_ > ms{60000} + blocked_between(*last_poll_, now_))
            fail("I8 cadence: more than 60 s between polls");
        last_poll_ = now_;
        poll_hold_until_.reset();
        auto o = network(p.deadline);
        note("poll #" + std::to_string(p.request) + (o.ok ? "" : " fails: " + o.failure.text));
        auto const started = decided_at_;
        schedule(o.at, [this, req = p.request, o, started] {
            if (o.ok) {
                auto poll = served();
                // It could be decided when first seen, or when its window last moved.
                for (auto const& a : poll.activations) {
                    auto const it = start_served_.find(a.id);
                    if (it == start_served_.end() || it->second != a.start_time) could_decide_[a.id] = now_;
                    start_served_[a.id] = a.start_time;
                }
                core_->on_poll(at(), req, poll);
            } else {
                if (o.failure.retry_after)
                    poll_hold_until_ = std::min(now_ + *o.failure.retry_after, started + ms{60000} - slack_);
                core_->on_poll_failed(at(), req, o.failure);
            }
            pump("poll");
        });
    }

    cleori::activation_poll served() {
        cleori::activation_poll out;
        auto const w = true_wall();
        auto const since = now_ - t0_;
        for (auto const& s : scripts_) {
            if (since < s.visible_at || (s.vanish_at && since >= *s.vanish_at)) continue;
            auto a = s.modify_at && since >= *s.modify_at ? s.modified : s.a;
            if (s.cancel_at && since >= *s.cancel_at) a.status = cleori::activation_status::cancelled;
            if (s.complete_at && since >= *s.complete_at) a.status = cleori::activation_status::completed;
            if (a.end_time && w >= *a.end_time) continue;
            out.activations.push_back(a);
        }
        return out;
    }

    void perform(cleori::send_telemetry const& s) {
        if (tele_hold_until_ && now_ < *tele_hold_until_) fail("I8 cadence: telemetry before Retry-After allowed it");
        tele_hold_until_.reset();
        auto o = network(s.deadline);
        note("telemetry #" + std::to_string(s.request) + " with " + std::to_string(s.samples.size()) + " samples" +
             (o.ok ? "" : " fails: " + o.failure.text));
        auto const started = decided_at_;
        schedule(o.at, [this, req = s.request, o, samples = std::vector<cleori::telemetry_sample>(s.samples.begin(), s.samples.end()), started] {
            if (o.ok) {
                for (auto const& x : samples) {
                    // A wall clock stepped back may repeat an instant, so a
                    // time delivered more often than it was taken is a repeat.
                    if (++delivered_at_[x.time] > taken_at_[x.time]) ++delivered_twice_;
                    ++delivered_;
                }
                core_->on_telemetry(at(), req, nullptr);
            } else {
                if (o.failure.retry_after)
                    tele_hold_until_ = std::min(now_ + *o.failure.retry_after, started + ms{10000} - slack_);
                core_->on_telemetry(at(), req, &o.failure);
            }
            pump("telemetry");
        });
    }

    void perform(cleori::send_confirmation const& c) {
        auto const* a = find(c.activation_id);
        if (!a) fail("confirmation for an unknown activation " + c.activation_id);
        auto const retry = [&] {
            auto const it = executing_sent_.find(c.activation_id);
            return it != executing_sent_.end() && std::find(it->second.begin(), it->second.end(), c.body) != it->second.end();
        }();
        if (c.body.status == cleori::confirmation_status::executing && !retry) {
            // I1: the device accepted a setpoint containing this share, and the body says that share.
            auto const& acc = core_->commanded_shares();
            auto it = std::find_if(acc.begin(), acc.end(), [&](auto const& x) { return x.first == c.activation_id; });
            if (it == acc.end()) fail("I1 truth: executing sent for " + c.activation_id + " whose share the device has not accepted");
            if (!c.body.setpoint || *c.body.setpoint != it->second)
                fail("I1 truth: executing for " + c.activation_id + " says a setpoint other than its accepted share");
            auto& bodies = executing_sent_[c.activation_id];
            if (std::find(bodies.begin(), bodies.end(), c.body) == bodies.end()) bodies.push_back(c.body);
            if (bodies.size() > 1) fail("I5 once: a second executing confirmation for " + c.activation_id);
        } else if (c.body.status == cleori::confirmation_status::unavailable && (!c.body.reason || c.body.reason->empty())) {
            fail("I6 answer: unavailable without a reason for " + c.activation_id);
        }
        if (!first_answer_.count(c.activation_id)) {
            first_answer_[c.activation_id] = now_;
            // Its window as the core knew it then (a later modification may move it).
            first_start_[c.activation_id] = t0_ + std::chrono::duration_cast<mono_time::duration>(a->a.start_time - wall0_);
        }
        auto o = network(c.deadline);
        note("confirm " + c.activation_id + " " + (c.body.status == cleori::confirmation_status::executing ? "executing" : "unavailable: " + c.body.reason.value_or("")) +
             (o.ok ? "" : " fails: " + o.failure.text));
        schedule(o.at, [this, req = c.request, o] {
            core_->on_confirmation(at(), req, o.ok ? nullptr : &o.failure);
            pump("confirmation");
        });
    }

    cleori::tracked_activation const* find(std::string const& id) const {
        for (auto const& a : core_->activations())
            if (a.a.id == id) return &a;
        return nullptr;
    }

    // I2 at acceptance: what the device holds is the sum of the shares it was given.
    void check_accepted() {
        kilowatts sum{};
        for (auto const& [id, share] : core_->commanded_shares()) sum += share;
        if (std::abs(sum.in_kw() - core_->commanded().in_kw()) > 1e-9) fail("I2 sum: accepted setpoint is not the sum of its shares");
    }

    // After every event.
    void check_state() {
        for (auto const& a : core_->activations())
            if (a.phase == cleori::activation_phase::ended && a.ended == cleori::end_reason::lost_contact &&
                !first_answer_.count(a.a.id))
                lost_contact_.insert(a.a.id);
        // I7: nothing running, yet a non-zero setpoint: baseline must follow
        // within a command's deadline and a retry, unless the device is failing.
        bool running = false;
        for (auto const& a : core_->activations()) running = running || cleori::is_running(a.phase);
        if (!running && core_->commanded() != kilowatts{0.0}) {
            if (!nonzero_idle_since_) nonzero_idle_since_ = now_;
            auto const bound = 2 * core_->device_timeout() + ms{600} + 2 * slack_ + blocked_between(*nonzero_idle_since_, now_);
            if (now_ - *nonzero_idle_since_ > bound && last_device_fault_ < *nonzero_idle_since_)
                fail("I7 baseline: no activation running but the device still holds a setpoint");
        } else {
            nonzero_idle_since_.reset();
        }
    }

    void finish() {
        if (stopping_ && !core_->stopped() && now_ - stop_at_ > ms{90000})
            fail("stop never completed");
        // I6: everything that started or was refused got its answer, in bounded time.
        for (auto const& a : core_->activations()) {
            bool const answered = first_answer_.count(a.a.id) != 0;
            if (a.phase == cleori::activation_phase::refused && !answered)
                fail("I6 answer: " + a.a.id + " refused but never told");
            if (a.executing_sent && !executing_sent_.count(a.a.id))
                fail("I6 answer: " + a.a.id + " executing but never confirmed");
            // The first decision (executing, or unavailable at assessment or
            // when the device failed) comes within two apply timeouts of the
            // moment it could be made: one for a SoC reading, one for the device.
            bool const first_decision = a.executing_sent || (a.phase == cleori::activation_phase::refused &&
                                                             (!a.ended || a.ended == cleori::end_reason::device_failed));
            if (answered && first_decision && could_decide_.count(a.a.id) && wall_skew_ == ms{0} &&
                !lost_contact_.count(a.a.id)) {
                auto const start = first_start_[a.a.id];
                auto const from = std::max(could_decide_[a.a.id], start);
                // Each of the wake-ups on the way (the start, a device deadline,
                // a retry pause) may come one slack late.
                if (first_answer_[a.a.id] > from + 2 * core_->apply_timeout() + ms{1} + 4 * slack_ +
                                                 blocked_between(from, first_answer_[a.a.id]))
                    fail("I6 answer: " + a.a.id + " answered " +
                         std::to_string(secs(first_answer_[a.a.id]) - secs(from)) + " s after it could be decided");
            }
        }
        // I10: every sample taken was delivered once, is still in the outbox, or
        // was evicted (counted once it is known that Cleori does not have it).
        auto const k = core_->counters();
        if (delivered_twice_ != 0) fail("I10 delivery: a sample was delivered twice");
        if (same_instant_ != 0) fail("I10 delivery: two samples were taken at the same instant");
        if (k.samples_sent != delivered_) fail("I10 delivery: the core counts " + std::to_string(k.samples_sent) +
                                              " samples sent, Cleori acknowledged " + std::to_string(delivered_));
        if (k.samples_taken != delivered_ + k.samples_evicted + core_->outbox_size() + core_->evicted_in_flight())
            fail("I10 delivery: taken " + std::to_string(k.samples_taken) + " != delivered " +
                 std::to_string(delivered_) + " + evicted " + std::to_string(k.samples_evicted) + " + waiting " +
                 std::to_string(core_->outbox_size()) + " + evicted in flight " +
                 std::to_string(core_->evicted_in_flight()));
    }
};

std::optional<std::uint64_t> seed_from_args() {
    auto& m = boost::unit_test::framework::master_test_suite();
    for (int i = 1; i < m.argc; ++i) {
        std::string_view a = m.argv[i];
        if (a.starts_with("--seed=")) return std::stoull(std::string(a.substr(7)));
    }
    return std::nullopt;
}

} // namespace

BOOST_AUTO_TEST_SUITE(engine_invariants)

BOOST_AUTO_TEST_CASE(seeded_scenarios_keep_every_invariant) {
    std::uint64_t first = 1, count = 10000;
    if (char const* n = std::getenv("CLEORI_SCENARIOS")) count = std::stoull(n);
    if (char const* f = std::getenv("CLEORI_FIRST_SEED")) first = std::stoull(f);
    if (auto s = seed_from_args()) first = *s, count = 1;
    std::uint64_t failures = 0, withdrawn = 0, reached_late = 0;
    for (std::uint64_t seed = first; seed < first + count; ++seed) {
        bool const replay = count == 1;
        scenario s{seed, replay};
        try {
            s.run();
            withdrawn += s.withdrawn();
            reached_late += s.reached_late();
        } catch (violation const& v) {
            ++failures;
            // Run it again with the trace on (the scenario is a pure function of its seed).
            scenario again{seed, true};
            try {
                again.run();
            } catch (violation const&) {
            }
            BOOST_ERROR("seed " << seed << " violates: " << v.what() << "\n" << again.summary() << "\ntrace:\n"
                                << again.trace() << "replay: cleori_unit_tests --run_test=engine_invariants -- --seed="
                                << seed);
            if (failures >= 3) break;
        }
    }
    BOOST_TEST(failures == 0u);
    BOOST_TEST_MESSAGE(count << " scenarios from seed " << first << "; a blocked driver withdrew " << withdrawn
                             << " commands and sent " << reached_late << " late but in time");
    // The default run is known to reach both sides of `valid_until`: a
    // change that made the blocked driver never meet an ended window would
    // leave the withdrawal path untested.
    if (first == 1 && count >= 10000) {
        BOOST_TEST(withdrawn > 0u);
        BOOST_TEST(reached_late > 0u);
    }
}

BOOST_AUTO_TEST_SUITE_END()
