// A battery that misses one mFRR requirement gets one error naming it, its value and the limit.
// expect: battery max charge power is below the mFRR minimum of 50 kW
// expect: device_max_charge_W<45000>::must_be_at_least<50000>
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

constexpr cleori::battery_ratings make() {
    cleori::battery_ratings r = cleori_test::exemplar_battery::ratings;
    r.max_charge = cleori::kilowatts{45};
    return r;
}

struct battery : cleori_test::exemplar_battery {
    static constexpr cleori::battery_ratings ratings = make();
};
static_assert(cleori::assert_mfrr_minimum<battery>);
