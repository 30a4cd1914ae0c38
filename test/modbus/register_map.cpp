// Register maps as data: the codec for every type and word order, and a
// clear error naming the point and field for each kind of bad map.
#include <cleori/modbus/register_map.hpp>

#include <boost/test/unit_test.hpp>

namespace modbus = cleori::modbus;
using modbus::value_type;
using modbus::word_order;

namespace {
modbus::point pt(value_type t, word_order o = word_order::high_first) {
    modbus::point p{};
    p.type = t;
    p.order = o;
    return p;
}
std::string error_of(std::string const& json) {
    std::string why;
    auto m = modbus::parse_register_map(json, &why);
    BOOST_TEST(!m.has_value());
    return why;
}
std::string const good_points = R"(
    "power":    {"kind": "input", "address": 0, "type": "s32", "scale": 0.001},
    "soc":      {"kind": "input", "address": 2, "type": "u16", "scale": 0.1},
    "setpoint": {"kind": "holding", "address": 100, "type": "s32", "scale": 0.001})";
std::string with_points(std::string const& extra) {
    return R"({"sign": "export_positive", "points": {)" + good_points + extra + "}}";
}
} // namespace

BOOST_AUTO_TEST_SUITE(modbus_register_map)

BOOST_AUTO_TEST_CASE(every_type_and_word_order_round_trips) {
    struct item {
        modbus::point p;
        double value;
        std::array<std::uint16_t, 2> words;
    };
    item const items[] = {
        {pt(value_type::u16), 48879, {0xBEEF, 0}},
        {pt(value_type::s16), -1234, {0xFB2E, 0}},
        {pt(value_type::u32), 0x12345678, {0x1234, 0x5678}},
        {pt(value_type::u32, word_order::low_first), 0x12345678, {0x5678, 0x1234}},
        {pt(value_type::s32), -123456789, {0xF8A4, 0x32EB}},
        {pt(value_type::s32, word_order::low_first), -123456789, {0x32EB, 0xF8A4}},
        {pt(value_type::f32), -1234.5, {0xC49A, 0x5000}},
        {pt(value_type::f32, word_order::low_first), -1234.5, {0x5000, 0xC49A}},
    };
    for (auto const& it : items) {
        auto const n = modbus::register_count(it.p.type);
        auto enc = modbus::encode(it.p, it.value);
        BOOST_REQUIRE(enc);
        BOOST_TEST(enc->second == n);
        BOOST_TEST(enc->first[0] == it.words[0]);
        if (n == 2) BOOST_TEST(enc->first[1] == it.words[1]);
        auto dec = modbus::decode(it.p, std::span<std::uint16_t const>(it.words.data(), n));
        BOOST_REQUIRE(dec);
        BOOST_TEST(*dec == it.value);
    }
}

BOOST_AUTO_TEST_CASE(values_a_type_cannot_hold_are_refused) {
    using modbus::errc;
    BOOST_TEST((modbus::encode(pt(value_type::u16), -1).error() == errc::value_out_of_range));
    BOOST_TEST((modbus::encode(pt(value_type::u16), 65536).error() == errc::value_out_of_range));
    BOOST_TEST((modbus::encode(pt(value_type::s16), 32768).error() == errc::value_out_of_range));
    // −32768 is SunSpec's "not implemented": never written as a value.
    BOOST_TEST((modbus::encode(pt(value_type::s16), -32768).error() == errc::value_out_of_range));
    BOOST_TEST((modbus::encode(pt(value_type::s32), 3e9).error() == errc::value_out_of_range));
    BOOST_TEST((modbus::encode(pt(value_type::f32), std::nan("")).error() == errc::value_out_of_range));
    BOOST_TEST(modbus::encode(pt(value_type::s16), 12.5)->first[0] == 12u); // rounded to nearest (even)
    BOOST_TEST(modbus::encode(pt(value_type::s16), -12.6)->first[0] == static_cast<std::uint16_t>(-13));
    std::uint16_t const ni16[] = {0x8000}, ni32[] = {0x8000, 0x0000}, nan[] = {0x7FC0, 0x0000};
    BOOST_TEST((modbus::decode(pt(value_type::s16), ni16).error() == errc::value_not_implemented));
    BOOST_TEST((modbus::decode(pt(value_type::s32), ni32).error() == errc::value_not_implemented));
    BOOST_TEST((modbus::decode(pt(value_type::f32), nan).error() == errc::value_not_implemented));
    BOOST_TEST(modbus::decode(pt(value_type::u16), ni16).value() == 32768.0); // unsigned: a plain value
    // SunSpec marks an unsigned point not implemented with all ones.
    std::uint16_t const ones[] = {0xFFFF, 0xFFFF};
    BOOST_TEST(modbus::decode(pt(value_type::u16), ones).value() == 65535.0);
    auto sunspec_u16 = pt(value_type::u16), sunspec_u32 = pt(value_type::u32);
    sunspec_u16.unsigned_all_ones_unimplemented = sunspec_u32.unsigned_all_ones_unimplemented = true;
    BOOST_TEST((modbus::decode(sunspec_u16, ones).error() == errc::value_not_implemented));
    BOOST_TEST((modbus::decode(sunspec_u32, ones).error() == errc::value_not_implemented));
    BOOST_TEST((modbus::decode(pt(value_type::u32), std::span<std::uint16_t const>(ni16, 1)).error() ==
               errc::unexpected_response));
}

BOOST_AUTO_TEST_CASE(the_shipped_maps_load) {
    std::string why;
    auto vendor = modbus::load_register_map(std::string(CLEORI_MAPS_DIR) + "/example_pcs.json", &why);
    BOOST_TEST_REQUIRE(vendor.has_value(), why);
    BOOST_TEST((vendor->sign == modbus::sign_convention::export_positive));
    BOOST_TEST(*vendor->setpoint.where.address == 100u);
    BOOST_TEST(vendor->heartbeat->period.count() == 1000);
    BOOST_TEST(vendor->status->fault(1).has_value() == false);
    BOOST_TEST(vendor->status->fault(3).value() == "PCS fault (status 3)");
    BOOST_TEST(vendor->status->fault(9).value() == "status 9 is not a running state");
    BOOST_TEST(!vendor->uses_sunspec());
    auto sunspec = modbus::load_register_map(std::string(CLEORI_MAPS_DIR) + "/sunspec_storage.json", &why);
    BOOST_TEST_REQUIRE(sunspec.has_value(), why);
    BOOST_TEST(sunspec->uses_sunspec());
    BOOST_TEST(sunspec->setpoint.where.model == 704u);
    BOOST_TEST(sunspec->setpoint.where.offset == 24u);
    BOOST_TEST(sunspec->enable->value == 1u);
    BOOST_TEST(sunspec->status->fault(3).has_value() == false);
    BOOST_TEST(sunspec->status->fault(99).value() == "battery fault (status 99)");
    BOOST_TEST(sunspec->soc.unsigned_all_ones_unimplemented);
    BOOST_TEST(!vendor->soc.unsigned_all_ones_unimplemented);
}

BOOST_AUTO_TEST_CASE(each_bad_map_gets_one_error_naming_the_point_and_field) {
    std::pair<std::string, std::string> const cases[] = {
        {"{", "register map: malformed JSON"},
        {"[]", "register map: the document must be a JSON object"},
        {R"({"points": {}})", "register map, field 'sign': missing"},
        {R"({"sign": "plus", "points": {}})", "register map, field 'sign': \"plus\" is not \"import_positive\" or \"export_positive\""},
        {R"({"sign": "import_positive", "pionts": {}})", "register map, field 'pionts': unknown field"},
        {R"({"sign": "import_positive", "unit_id": 300, "points": {}})", "register map, field 'unit_id': must be a Modbus unit id"},
        {R"({"sign": "import_positive", "points": {}})", "register map, point 'power': missing"},
        {with_points(R"(, "status": {"kind": "input", "address": 3, "type": "u17", "ok": [1]})"),
         "register map, point 'status', field 'type': \"u17\" is not one of u16, s16, u32, s32, f32"},
        {with_points(R"(, "heartbeat": {"kind": "holding", "address": 3, "type": "u16"})"),
         "register map, point 'heartbeat', field 'period_ms': missing"},
        {with_points(R"(, "heartbeat": {"kind": "holding", "address": 3, "type": "u16", "period_ms": 10})"),
         "register map, point 'heartbeat', field 'period_ms': must be 50 to 3600000"},
        {with_points(R"(, "enable": {"kind": "input", "address": 3, "type": "u16"})"),
         "register map, point 'enable', field 'kind': an enable point is a 16-bit \"holding\" register"},
        {with_points(R"(, "status": {"kind": "input", "address": 3, "type": "u16"})"),
         "register map, point 'status', field 'ok': give 'ok' (the running states) or 'faults'"},
        {with_points(R"(, "status": {"kind": "input", "address": 3, "type": "u16", "faults": {"x": "bad"}})"),
         "register map, point 'status', field 'faults.x': the key must be a status value"},
        {with_points(R"(, "extra": {})"), "register map, point 'extra': unknown point"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 70000, "type": "s16"}}})",
         "register map, point 'power', field 'address': must be a register address, 0 to 65535"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "type": "s16"}}})",
         "register map, point 'power', field 'address': missing"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "model": 701, "type": "s16"}}})",
         "register map, point 'power', field 'address': give either 'address' or 'model' and 'offset', not both"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "model": 701, "offset": 1, "type": "s16"}}})",
         "register map, point 'power', field 'offset': must be 2 or more"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "type": "s16", "word_order": "high_first"}}})",
         "register map, point 'power', field 'word_order': applies only to 32-bit types"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "type": "s16", "scale": 0}}})",
         "register map, point 'power', field 'scale': must be a finite, non-zero factor"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "type": "s16", "scale": -0.001}}})",
         "register map, point 'power', field 'scale': must be positive: the direction of power is the map's 'sign'"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "offset": 3, "type": "s16"}}})",
         "register map, point 'power', field 'offset': 'offset' goes with 'model'"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 65535, "type": "s32"}}})",
         "register map, point 'power', field 'address': a 32-bit value at 65535 would run past the last register"},
        {with_points(R"(, "status": {"kind": "input", "address": 3, "type": "u16", "ok": [70000]})"),
         "register map, point 'status', field 'ok': each value must be 0 to 65535 (the register's type)"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "type": "s16", "scale_factor": {"model": 701}}}})",
         "register map, point 'power', field 'scale_factor.offset': missing"},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "coil", "address": 1, "type": "s16"}}})",
         "register map, point 'power', field 'kind': \"coil\" is not \"holding\" or \"input\""},
        {R"({"sign": "import_positive", "points": {"power": {"kind": "input", "address": 1, "type": "s16", "unit": "W"}}})",
         "register map, point 'power', field 'unit': unknown field"},
        {R"({"sign": "import_positive", "points": {)" + good_points.substr(0, good_points.rfind("holding")) + "input" +
             good_points.substr(good_points.rfind("holding") + 7) + "}}",
         "register map, point 'setpoint', field 'kind': a setpoint is written, so it must be a \"holding\" register"},
    };
    for (auto const& [json, expected] : cases) {
        auto const why = error_of(json);
        BOOST_TEST(why.rfind(expected, 0) == 0u, "for " << json << "\n  got:      " << why << "\n  expected: " << expected);
    }
    std::string why;
    BOOST_TEST(!modbus::load_register_map("/nonexistent/map.json", &why).has_value());
    BOOST_TEST(why == "/nonexistent/map.json: cannot be read");
    BOOST_TEST(modbus::parse_register_map(with_points("")).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
