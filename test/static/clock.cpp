// Positive and negative checks of the Clock concept.
#include <cleori/clock/clock.hpp>

#include <cleori/clock/coalescing_clock.hpp>
#include <cleori/clock/manual_clock.hpp>

namespace {
static_assert(cleori::Clock<cleori::real_clock>);
static_assert(cleori::Clock<cleori::manual_clock>);
static_assert(cleori::Clock<cleori::coalescing_clock<>>);
static_assert(cleori::Clock<cleori::coalescing_clock<cleori::manual_clock>>);

struct fixed_offset_clock { // the exemplar of doc/concepts/Clock.md: real time, shifted wall clock
    std::chrono::hours offset{1};
    cleori::mono_time now() const { return std::chrono::steady_clock::now(); }
    cleori::timestamp wall_now() const {
        return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now() + offset);
    }
    boost::asio::steady_timer make_timer(boost::asio::any_io_executor ex) const { return boost::asio::steady_timer(ex); }
};
static_assert(cleori::Clock<fixed_offset_clock>);

struct no_wall : cleori::real_clock {
    void wall_now() const {}
};
struct system_time_as_monotonic { // the wrong clock for cadence: it jumps with NTP
    std::chrono::system_clock::time_point now() const { return {}; }
    cleori::timestamp wall_now() const { return {}; }
    boost::asio::steady_timer make_timer(boost::asio::any_io_executor ex) const { return boost::asio::steady_timer(ex); }
};
struct no_timer {
    cleori::mono_time now() const { return {}; }
    cleori::timestamp wall_now() const { return {}; }
};
struct timer_without_cancel {
    struct timer {
        void expires_at(cleori::mono_time) {}
    };
    cleori::mono_time now() const { return {}; }
    cleori::timestamp wall_now() const { return {}; }
    timer make_timer(boost::asio::any_io_executor) const { return {}; }
};
static_assert(!cleori::Clock<no_wall>);
static_assert(!cleori::Clock<system_time_as_monotonic>);
static_assert(!cleori::Clock<no_timer>);
static_assert(!cleori::Clock<timer_without_cancel>);
static_assert(!cleori::Clock<std::chrono::steady_clock>);
} // namespace
