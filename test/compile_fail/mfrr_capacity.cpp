// A battery that misses one mFRR requirement gets one error naming it, its value and the limit.
// expect: battery capacity is below the mFRR minimum of 100 kWh
// expect: device_capacity_Wh<80500>::must_be_at_least<100000>
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

constexpr cleori::battery_ratings make() {
    cleori::battery_ratings r = cleori_test::exemplar_battery::ratings;
    r.capacity = cleori::kilowatt_hours{80.5};
    return r;
}

struct battery : cleori_test::exemplar_battery {
    static constexpr cleori::battery_ratings ratings = make();
};
static_assert(cleori::assert_mfrr_minimum<battery>);
