// Positive and negative checks of the BatteryDevice family of concepts.
#include <cleori/device/battery_device.hpp>

#include "support/exemplar_battery.hpp"

#include <functional>

namespace {
using namespace cleori::literals;
using cleori::battery_ratings;
using cleori::battery_state;
using cleori::kilowatts;
using boost::system::error_code;

constexpr battery_ratings good{.capacity = 150.0_kWh, .max_charge = 60.0_kW, .max_discharge = 75.0_kW,
                               .response_time = std::chrono::milliseconds{1999},
                               .round_trip_efficiency = 85.1_pct, .chemistry = cleori::chemistry::flow};

struct ops {
    void async_read_state(auto h) { h(error_code{}, battery_state{}); }
    void async_apply_setpoint(kilowatts, auto h) { h(error_code{}); }
};

struct good_battery : ops { static constexpr battery_ratings ratings = good; };

// ratings read from configuration: a BatteryDevice, but not statically rated
struct configured_battery : ops {
    battery_ratings r;
    battery_ratings ratings() const { return r; }
};

// a device written against std::function instead of a template
struct type_erased_battery {
    static constexpr battery_ratings ratings = good;
    void async_read_state(std::function<void(error_code, battery_state)> h) { h({}, {}); }
    void async_apply_setpoint(kilowatts, std::function<void(error_code)> h) { h({}); }
};

struct no_ratings : ops {};
struct ratings_wrong_type : ops { static constexpr double ratings = 100.0; };
struct ratings_not_constexpr : ops { static const battery_ratings ratings; };
const battery_ratings ratings_not_constexpr::ratings = good; // const, not constexpr: run-time only
struct no_read { static constexpr battery_ratings ratings = good; void async_apply_setpoint(kilowatts, auto h) { h(error_code{}); } };
struct no_setpoint { static constexpr battery_ratings ratings = good; void async_read_state(auto h) { h(error_code{}, battery_state{}); } };
struct setpoint_takes_double {
    static constexpr battery_ratings ratings = good;
    void async_read_state(auto h) { h(error_code{}, battery_state{}); }
    void async_apply_setpoint(double, auto h) { h(error_code{}); }  // raw double: not a kW setpoint
};
struct read_handler_wrong_signature {
    static constexpr battery_ratings ratings = good;
    void async_read_state(std::function<void(double)>) {}
    void async_apply_setpoint(kilowatts, auto h) { h(error_code{}); }
};

// A battery whose ratings are `good` changed by Mutator (class-type template
// arguments holding doubles are not portable to clang 14, so a type carries the change).
template <class Mutator>
struct rated : ops {
    static constexpr battery_ratings make() { battery_ratings r = good; Mutator{}(r); return r; }
    static constexpr battery_ratings ratings = make();
};
#define CLEORI_TEST_RATED(name, change) \
    struct name##_change { constexpr void operator()(battery_ratings& r) const { change; } }; \
    using name = rated<name##_change>

static_assert(cleori::BatteryDevice<cleori_test::exemplar_battery>);
static_assert(cleori::MfrrCapableBattery<cleori_test::exemplar_battery>);
static_assert(cleori::assert_mfrr_minimum<cleori_test::exemplar_battery>);
static_assert(cleori::BatteryDevice<good_battery>);
static_assert(cleori::StaticallyRatedBattery<good_battery>);
static_assert(cleori::MfrrCapableBattery<good_battery>);
static_assert(cleori::BatteryDevice<type_erased_battery>);
static_assert(cleori::BatteryDevice<configured_battery>);
static_assert(!cleori::StaticallyRatedBattery<configured_battery>);
static_assert(!cleori::MfrrCapableBattery<configured_battery>);

static_assert(!cleori::BatteryDevice<no_ratings>);
static_assert(!cleori::BatteryDevice<ratings_wrong_type>);
static_assert(!cleori::StaticallyRatedBattery<ratings_not_constexpr>);
static_assert(!cleori::BatteryDevice<no_read>);
static_assert(!cleori::BatteryDevice<no_setpoint>);
static_assert(!cleori::BatteryDevice<read_handler_wrong_signature>);
static_assert(!cleori::BatteryDevice<int>);
// kilowatts converts to nothing, and a double parameter does not accept kilowatts
static_assert(!cleori::BatteryDevice<setpoint_takes_double>);

// The minimum, requirement by requirement, right at and just past each limit.
CLEORI_TEST_RATED(capacity_at_limit, r.capacity = 100.0_kWh;);
CLEORI_TEST_RATED(capacity_short, r.capacity = 99.99_kWh;);
CLEORI_TEST_RATED(charge_at_limit, r.max_charge = 50.0_kW;);
CLEORI_TEST_RATED(charge_short, r.max_charge = 49.9_kW;);
CLEORI_TEST_RATED(discharge_at_limit, r.max_discharge = 50.0_kW;);
CLEORI_TEST_RATED(discharge_short, r.max_discharge = 49.9_kW;);
CLEORI_TEST_RATED(response_at_limit, r.response_time = std::chrono::seconds{2};);
CLEORI_TEST_RATED(response_negative, r.response_time = std::chrono::milliseconds{-1};);
CLEORI_TEST_RATED(efficiency_at_limit, r.round_trip_efficiency = 85.0_pct;);
CLEORI_TEST_RATED(efficiency_over_100, r.round_trip_efficiency = 100.5_pct;);
CLEORI_TEST_RATED(efficiency_100, r.round_trip_efficiency = 100.0_pct;);
CLEORI_TEST_RATED(soc_window_inverted, r.min_soc = 60.0_pct; r.max_soc = 40.0_pct;);
CLEORI_TEST_RATED(soc_window_10_90, r.min_soc = 10.0_pct; r.max_soc = 90.0_pct;);
CLEORI_TEST_RATED(capacity_nan, r.capacity = cleori::kilowatt_hours{__builtin_nan("")};);
static_assert(cleori::MfrrCapableBattery<capacity_at_limit>);
static_assert(!cleori::MfrrCapableBattery<capacity_short>);
static_assert(cleori::MfrrCapableBattery<charge_at_limit>);
static_assert(!cleori::MfrrCapableBattery<charge_short>);
static_assert(cleori::MfrrCapableBattery<discharge_at_limit>);
static_assert(!cleori::MfrrCapableBattery<discharge_short>);
static_assert(!cleori::MfrrCapableBattery<response_at_limit>);
static_assert(!cleori::MfrrCapableBattery<response_negative>);
static_assert(!cleori::MfrrCapableBattery<efficiency_at_limit>);
static_assert(!cleori::MfrrCapableBattery<efficiency_over_100>);
static_assert(cleori::MfrrCapableBattery<efficiency_100>);
static_assert(!cleori::MfrrCapableBattery<soc_window_inverted>);
static_assert(cleori::MfrrCapableBattery<soc_window_10_90>);
static_assert(!cleori::MfrrCapableBattery<capacity_nan>);
} // namespace
