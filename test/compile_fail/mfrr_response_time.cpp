// A battery that misses one mFRR requirement gets one error naming it, its value and the limit.
// expect: battery response time is not below the mFRR limit of 2 s
// expect: device_response_time_ms<2500>::must_be_below<2000>
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

constexpr cleori::battery_ratings make() {
    cleori::battery_ratings r = cleori_test::exemplar_battery::ratings;
    r.response_time = std::chrono::milliseconds{2500};
    return r;
}

struct battery : cleori_test::exemplar_battery {
    static constexpr cleori::battery_ratings ratings = make();
};
static_assert(cleori::assert_mfrr_minimum<battery>);
