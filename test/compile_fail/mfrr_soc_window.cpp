// A battery that misses one mFRR requirement gets one error naming it, its value and the limit.
// expect: battery SoC window is inconsistent
// expect: device_soc_window_hundredths_pct<6000, 4000>::must_satisfy_0_le_min_lt_max_le_10000
// expect-errors: 1
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

constexpr cleori::battery_ratings make() {
    cleori::battery_ratings r = cleori_test::exemplar_battery::ratings;
    r.min_soc = cleori::percent{60}; r.max_soc = cleori::percent{40};
    return r;
}

struct battery : cleori_test::exemplar_battery {
    static constexpr cleori::battery_ratings ratings = make();
};
static_assert(cleori::assert_mfrr_minimum<battery>);
