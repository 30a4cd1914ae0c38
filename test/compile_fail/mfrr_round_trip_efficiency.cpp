// A battery that misses one mFRR requirement gets one error naming it, its value and the limit.
// expect: battery round-trip efficiency must exceed the mFRR minimum of 85 %
// expect: device_round_trip_efficiency_hundredths_pct<8250>::must_exceed_and_be_at_most_10000<8500>
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

constexpr cleori::battery_ratings make() {
    cleori::battery_ratings r = cleori_test::exemplar_battery::ratings;
    r.round_trip_efficiency = cleori::percent{82.5};
    return r;
}

struct battery : cleori_test::exemplar_battery {
    static constexpr cleori::battery_ratings ratings = make();
};
static_assert(cleori::assert_mfrr_minimum<battery>);
