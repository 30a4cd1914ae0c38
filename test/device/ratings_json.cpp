#include <cleori/device/ratings_json.hpp>

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(device_ratings_json)

BOOST_AUTO_TEST_CASE(reads_a_full_document) {
    auto r = cleori::parse_battery_ratings(R"({"capacity_kwh": 200, "max_charge_kw": 100.5,
        "max_discharge_kw": 90, "response_time_ms": 800, "round_trip_efficiency_pct": 91.5,
        "chemistry": "sodium-ion", "min_soc_pct": 5, "max_soc_pct": 95, "vendor": "ignored"})");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->capacity.in_kwh() == 200.0);
    BOOST_TEST(r->max_charge.in_kw() == 100.5);
    BOOST_TEST(r->max_discharge.in_kw() == 90.0);
    BOOST_TEST(r->response_time.count() == 800);
    BOOST_TEST(r->round_trip_efficiency.in_pct() == 91.5);
    BOOST_TEST((r->chemistry == cleori::chemistry::sodium_ion));
    BOOST_TEST(r->min_soc.in_pct() == 5.0);
    BOOST_TEST(r->max_soc.in_pct() == 95.0);
    BOOST_TEST(cleori::check_mfrr_minimum(*r).empty());
}

BOOST_AUTO_TEST_CASE(soc_window_defaults_to_full_range) {
    auto r = cleori::parse_battery_ratings(R"({"capacity_kwh": 100, "max_charge_kw": 50,
        "max_discharge_kw": 50, "response_time_ms": 1000, "round_trip_efficiency_pct": 86, "chemistry": "flow"})");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->min_soc.in_pct() == 0.0);
    BOOST_TEST(r->max_soc.in_pct() == 100.0);
}

BOOST_AUTO_TEST_CASE(below_minimum_is_read_then_reported) {
    auto r = cleori::parse_battery_ratings(R"({"capacity_kwh": 80, "max_charge_kw": 40,
        "max_discharge_kw": 60, "response_time_ms": 3000, "round_trip_efficiency_pct": 90, "chemistry": "li-ion"})");
    BOOST_TEST_REQUIRE(r.has_value());
    auto const v = cleori::check_mfrr_minimum(*r);
    BOOST_TEST_REQUIRE(v.size() == 3u);
    BOOST_TEST(v[0].message == "capacity is 80 kWh; the mFRR minimum is 100 kWh");
    BOOST_TEST(v[1].message == "max charge power is 40 kW; the mFRR minimum is 50 kW");
    BOOST_TEST(v[2].message == "response time is 3000 ms; mFRR requires less than 2000 ms");
}

BOOST_AUTO_TEST_CASE(bad_documents_name_the_key) {
    struct bad {
        const char* doc;
        cleori::error code;
        const char* why;
    };
    const bad cases[] = {
        {"{", cleori::error::json_malformed, "ratings key '(document)': malformed JSON"},
        {"[]", cleori::error::json_wrong_type, "ratings key '(document)': JSON value has the wrong type"},
        {R"({"max_charge_kw":1})", cleori::error::json_missing_field,
         "ratings key 'capacity_kwh': required JSON field is missing"},
        {R"({"capacity_kwh":"200"})", cleori::error::json_wrong_type,
         "ratings key 'capacity_kwh': JSON value has the wrong type"},
        {R"({"capacity_kwh":1e400})", cleori::error::json_value_not_finite, nullptr},
        {R"({"capacity_kwh":1e300})", cleori::error::json_value_out_of_range,
         "ratings key 'capacity_kwh': number is outside the accepted range"},
        {R"({"capacity_kwh":200,"max_charge_kw":100,"max_discharge_kw":100,"response_time_ms":500,
            "round_trip_efficiency_pct":90,"chemistry":"lead-acid"})",
         cleori::error::json_unknown_enum_value, "ratings key 'chemistry': unknown enumeration value"},
        {R"({"capacity_kwh":200,"max_charge_kw":100,"max_discharge_kw":100,"response_time_ms":500,
            "round_trip_efficiency_pct":90})",
         cleori::error::json_missing_field, "ratings key 'chemistry': required JSON field is missing"},
    };
    for (auto const& c : cases) {
        std::string why;
        auto r = cleori::parse_battery_ratings(c.doc, &why);
        BOOST_TEST_REQUIRE(!r.has_value(), c.doc);
        if (c.why) BOOST_TEST(why == c.why);
        else BOOST_TEST(!why.empty());
        // 1e400 does not fit a double: Boost.JSON refuses it as malformed.
        if (c.code != cleori::error::json_value_not_finite) BOOST_TEST(r.error() == make_error_code(c.code), c.doc);
    }
}

BOOST_AUTO_TEST_CASE(huge_document_is_refused_unread) {
    std::string doc(1 << 20, ' ');
    auto r = cleori::parse_battery_ratings(doc);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == make_error_code(cleori::error::body_too_large));
}

BOOST_AUTO_TEST_SUITE_END()
