// The umbrella header compiles on its own and exposes every module.
#include <cleori/cleori.hpp>

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_CASE(umbrella_header_exposes_every_module) {
    using namespace cleori::literals;
    std::string body;
    cleori::encode_telemetry(cleori::telemetry_sample{cleori::timestamp{}, 1.5_kW, std::nullopt}, body);
    BOOST_TEST(body == R"({"time":"1970-01-01T00:00:00.000Z","power":1.5})");
    BOOST_TEST(cleori::check_mfrr_minimum(cleori::battery_ratings{}).size() == 4u);
}
