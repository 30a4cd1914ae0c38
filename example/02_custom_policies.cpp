// Custom policies: your own battery type (asynchronous, like a PLC over Modbus/TCP) and your own retry strategy.
//
// Self-contained: it starts an embedded Cleori simulator, schedules one activation
// and a burst of 503s, and runs for about 8 seconds.
#include <cleori/cleori.hpp>
#include <cleori/device/simulated_battery.hpp>
#include "sim/server.hpp"

#include "console.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

using namespace cleori::literals;
using namespace std::chrono_literals;
namespace asio = boost::asio;

// A battery behind a controller that answers after a 20 ms round trip. The
// plant itself is the shipped model; a real integration talks to its PLC here.
class plc_battery {
public:
    static constexpr cleori::battery_ratings ratings{.capacity = 500.0_kWh,
                                                     .max_charge = 250.0_kW,
                                                     .max_discharge = 250.0_kW,
                                                     .response_time = 800ms,
                                                     .round_trip_efficiency = 88.0_pct,
                                                     .chemistry = cleori::chemistry::sodium_ion,
                                                     .min_soc = 10.0_pct,
                                                     .max_soc = 90.0_pct};

    explicit plc_battery(asio::any_io_executor ex) : ex_(std::move(ex)) {}

    template <class Handler>
    void async_read_state(Handler h) {
        round_trip([this, h = std::move(h)]() mutable {
            plant_.async_read_state(std::move(h)); // a register read, answered later
        });
    }
    template <class Handler>
    void async_apply_setpoint(cleori::kilowatts p, Handler h) {
        round_trip([this, p, h = std::move(h)]() mutable { plant_.async_apply_setpoint(p, std::move(h)); });
    }

private:
    struct plant_ratings {
        static constexpr cleori::battery_ratings ratings = plc_battery::ratings;
    };
    template <class F>
    void round_trip(F f) {
        auto t = std::make_shared<asio::steady_timer>(ex_, 20ms);
        t->async_wait([t, f = std::move(f)](boost::system::error_code) mutable { f(); });
    }
    asio::any_io_executor ex_;
    cleori::basic_simulated_battery<cleori::real_clock, plant_ratings> plant_{{}, 60.0_pct};
};
static_assert(cleori::assert_mfrr_minimum<plc_battery>); // checked at compile time, readable if it fails

// Linear backoff: 200 ms, 400 ms, 600 ms… at most 6 retries; a server's Retry-After wins.
struct linear_backoff {
    cleori::result<std::chrono::milliseconds> next_delay(cleori::retry_context const& c) {
        if (c.attempt > 6) return cleori::error::attempts_exhausted;
        auto d = std::chrono::milliseconds(200) * c.attempt;
        if (c.outcome.retry_after) d = std::max(d, *c.outcome.retry_after);
        return d;
    }
    void on_success(cleori::mono_time) {}
};
static_assert(cleori::RetryStrategy<linear_backoff>);

// The policies: the defaults (real clocks, API v1, no journal) with this retry
// strategy. Shadow only what differs.
struct patient_policies : cleori::default_policies {
    using retry = linear_backoff;
};

int main() {
    asio::io_context io;
    std::string const token = "example-token-1";
    cleori::sim::server sim{io.get_executor(), {.tokens = {token}}};
    auto const port = sim.start().value();
    auto const err = sim.load_scenario(R"({"actions":[
        {"action":"create","asset":"asset-1","activation":{"id":"demo-up","direction":"up","power":200,"start_in_s":2,"duration_s":4}},
        {"at_s":1,"action":"fault","fault":{"kind":"status","status":503,"count":3}}
    ]})");
    if (!err.empty()) example::fail("02_custom_policies", err);

    cleori::beast_transport transport{io.get_executor(), "http://127.0.0.1:" + std::to_string(port)};
    plc_battery battery{io.get_executor()};
    cleori::basic_agent<plc_battery, cleori::beast_transport, patient_policies> agent{
        battery, transport, {.token = token, .telemetry_interval = 1s, .poll_interval = 1s}};
    example::narrate(agent, "agent");
    if (auto r = agent.start(); !r) example::fail("02_custom_policies", r.error().message());

    asio::steady_timer stop_timer(io, 8s);
    stop_timer.async_wait([&](boost::system::error_code) { agent.stop(); });
    while (!agent.stopped() && io.run_one()) {}

    auto const report = sim.report().at("assets").at(0);
    auto const& act = report.at("activations").at(0).as_object();
    std::cout << "simulator saw " << report.at("samples_received") << " samples and " << report.at("polls")
              << " polls; activation " << act.at("id") << " confirmed " << act.at("confirmations") << " time(s)";
    if (auto const* kw = act.if_contains("confirmed_setpoint_kw")) std::cout << " at " << kw->to_number<double>() << " kW";
    std::cout << "\n";
    return 0;
}
