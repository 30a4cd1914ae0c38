// A battery that misses two mFRR requirements gets one error for each, and nothing more.
// expect: battery max charge power is below the mFRR minimum of 50 kW
// expect: battery response time is not below the mFRR limit of 2 s
// expect-errors: 2
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

constexpr cleori::battery_ratings make() {
    cleori::battery_ratings r = cleori_test::exemplar_battery::ratings;
    r.max_charge = cleori::kilowatts{40.0};
    r.response_time = std::chrono::milliseconds{3000};
    return r;
}

struct battery : cleori_test::exemplar_battery {
    static constexpr cleori::battery_ratings ratings = make();
};
static_assert(cleori::assert_mfrr_minimum<battery>);
