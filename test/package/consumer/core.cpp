// A consumer of cleori::core alone: the whole agent with a transport that is
// not Beast (the in-memory one), in virtual time, against the in-memory
// Cleori, and no Beast or OpenSSL header anywhere in the translation unit.
#include <cleori/clock/manual_clock.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/engine/agent.hpp>
#include <cleori/policies.hpp>
#include <cleori/testing/fake_cleori.hpp>
#include <cleori/testing/memory_transport.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <functional>

// Every Beast header includes its config header, which defines this guard.
#ifdef BOOST_BEAST_CORE_DETAIL_CONFIG_HPP
#error "cleori::core headers included Boost.Beast"
#endif
#ifdef OPENSSL_VERSION_NUMBER
#error "cleori::core headers included OpenSSL"
#endif

struct virtual_time : cleori::default_policies {
    using clock = cleori::manual_clock;
};

int main() {
    using namespace cleori::literals;
    using namespace std::chrono_literals;
    boost::asio::io_context io;
    cleori::manual_clock clock;
    cleori::testing::fake_cleori cleori{clock};
    cleori::testing::memory_transport transport{io.get_executor(), std::ref(cleori)};
    cleori::basic_simulated_battery<cleori::manual_clock> battery{clock, 50.0_pct};
    cleori.activations.push_back({.id = "a-1",
                                  .direction = cleori::mfrr_direction::up,
                                  .power = 60.0_kW,
                                  .start_time = clock.wall_now() + 2min,
                                  .end_time = clock.wall_now() + 17min});
    {
        cleori::basic_agent<cleori::basic_simulated_battery<cleori::manual_clock>, cleori::testing::memory_transport,
                            virtual_time>
            agent{battery, transport, {.token = cleori.token}, clock};
        if (auto started = agent.start(); !started) {
            std::printf("start: %s\n", started.error().message().c_str());
            return 1;
        }
        clock.run_for(io, 1h);
        agent.stop();
        clock.run_for(io, 1min);
    }
    std::printf("core consumer: %zu samples, %zu confirmation(s) of a-1\n", cleori.samples.size(),
                cleori.confirmations_of("a-1"));
    return cleori.confirmations_of("a-1") == 1 && cleori.samples.size() >= 360 ? 0 : 1;
}
