#pragma once
// A battery site in virtual time for the engine tests: the manual clock, the
// fake Cleori answering through the memory transport, and the simulated
// battery at 50 %. A fixture derives from it and adds its agent; it stops
// that agent and runs the clock out in its own destructor (pending waits of
// a manual clock hold their handlers, and with them the agent's state).
#include <cleori/api/activation.hpp>
#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/testing/fake_cleori.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace cleori::test {

struct virtual_site {
    using battery_type = basic_simulated_battery<manual_clock>;

    explicit virtual_site(timestamp start) : clock(start) {}

    boost::asio::io_context io;
    manual_clock clock;
    testing::fake_cleori cleori{clock};
    testing::memory_transport transport{io.get_executor(), std::ref(cleori)};
    battery_type battery{clock, percent{50.0}};

    void run(mono_time::duration d) { clock.run_for(io, d); }
    // An activation relative to the current virtual wall time.
    activation make(std::string id, mfrr_direction dir, kilowatts kw, std::chrono::seconds start_in,
                    std::optional<std::chrono::seconds> length) {
        activation a{.id = std::move(id), .direction = dir, .power = kw, .start_time = clock.wall_now() + start_in,
                     .status = activation_status::pending};
        if (length) a.end_time = a.start_time + *length;
        return a;
    }
};

} // namespace cleori::test
