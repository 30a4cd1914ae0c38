#include <cleori/api/profile.hpp>

#include <cleori/api/json.hpp>

#include <boost/hana/length.hpp>
#include <boost/test/unit_test.hpp>

using namespace cleori::literals;

namespace {
// A deployment that spells things differently: only the profile changes.
struct renamed_profile : cleori::api_profile_v1 {
    static constexpr std::string_view data_key = "items";
    static constexpr auto telemetry_fields = boost::hana::make_tuple(
        cleori::make_field(&cleori::telemetry_sample::time, "ts"),
        cleori::make_field(&cleori::telemetry_sample::power, "p_kw"),
        cleori::make_field(&cleori::telemetry_sample::soc, "soc_pct"));
    static constexpr std::array<std::pair<cleori::mfrr_direction, std::string_view>, 2> direction_names{
        {{cleori::mfrr_direction::up, "UP"}, {cleori::mfrr_direction::down, "DOWN"}}};
    using api_profile_v1::names;
    static constexpr std::span<const std::pair<cleori::mfrr_direction, std::string_view>>
    names(cleori::mfrr_direction) noexcept {
        return direction_names;
    }
};

// The id under another name: a rejection names the item by that field.
struct renamed_id_profile : cleori::api_profile_v1 {
    static constexpr auto activation_fields = boost::hana::make_tuple(
        cleori::make_field(&cleori::activation::id, "activation_id"),
        cleori::make_field(&cleori::activation::direction, "direction"),
        cleori::make_field(&cleori::activation::power, "power"),
        cleori::make_field(&cleori::activation::start_time, "start_time"),
        cleori::make_field(&cleori::activation::end_time, "end_time"),
        cleori::make_field(&cleori::activation::type, "type"),
        cleori::make_field(&cleori::activation::status, "status"),
        cleori::make_field(&cleori::activation::created_at, "created_at"));
};

// An envelope key that is also an activation field's name: a bare
// activation object still reads that field.
struct overlapping_keys_profile : cleori::api_profile_v1 {
    static constexpr std::string_view pagination_key = "created_at";
};
// Names the concept accepts although they are not constants.
struct runtime_keys_profile : cleori::api_profile_v1 {
    static inline std::string_view data_key = "items";
    static inline std::string const pagination_key = "created_at";
};
} // namespace

BOOST_AUTO_TEST_SUITE(api_profile)

BOOST_AUTO_TEST_CASE(v1_assumptions) {
    using p = cleori::api_profile_v1;
    BOOST_TEST(p::telemetry_path == "/v1/telemetry");
    BOOST_TEST(p::activations_path == "/v1/activations");
    BOOST_TEST(p::page_limit == 100u);
    static_assert(decltype(boost::hana::length(p::activation_fields))::value == 8);
    static_assert(decltype(boost::hana::length(p::telemetry_fields))::value == 3);
    static_assert(decltype(boost::hana::length(p::confirmation_fields))::value == 4);
    BOOST_TEST(p::activation_fields[boost::hana::size_c<0>].name == "id");
}

BOOST_AUTO_TEST_CASE(a_derived_profile_renames_fields_without_touching_the_codec) {
    std::string out;
    cleori::encode_telemetry<renamed_profile>(
        {cleori::parse_rfc3339("2026-11-26T16:17:20Z").value(), 5.0_kW, 40.0_pct}, out);
    BOOST_TEST(out == R"({"ts":"2026-11-26T16:17:20.000Z","p_kw":5,"soc_pct":40})");
    auto page = cleori::decode_activation_page<renamed_profile>(
        R"({"items":[{"id":"x","direction":"DOWN","power":1,"start_time":"2026-11-26T16:20:00Z","status":"pending"}]})");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST((page->activations[0].direction == cleori::mfrr_direction::down));
}

BOOST_AUTO_TEST_CASE(a_rejected_item_is_named_by_the_profiles_id_field) {
    auto page = cleori::decode_activation_page<renamed_id_profile>(
        R"([{"activation_id":"x","id":"not-this","direction":"sideways","power":1,)"
        R"("start_time":"2026-11-26T16:20:00Z","status":"pending"}])");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->rejected.size() == 1u);
    BOOST_TEST(page->rejected[0].id == "x");
    BOOST_TEST(page->rejected[0].reason.find("field 'direction'") == 0u, page->rejected[0].reason);
}

BOOST_AUTO_TEST_CASE(an_envelope_key_that_names_a_field_is_read_as_that_field_in_a_bare_activation) {
    auto page = cleori::decode_activation_page<overlapping_keys_profile>(
        R"({"id":"x","direction":"up","power":1,"start_time":"2026-11-26T16:20:00Z","status":"pending",)"
        R"("created_at":"2026-11-26T16:10:00Z"})");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST(!page->page.has_value());
    BOOST_TEST_REQUIRE(page->activations[0].created_at.has_value());
    BOOST_TEST(cleori::to_rfc3339(*page->activations[0].created_at) == "2026-11-26T16:10:00.000Z");
}

BOOST_AUTO_TEST_CASE(envelope_keys_that_are_not_constants_are_read) {
    static_assert(cleori::Profile<runtime_keys_profile>);
    auto page = cleori::decode_activation_page<runtime_keys_profile>(
        R"({"items":[{"id":"a","direction":"down","power":2,"start_time":"2026-11-26T16:20:00Z",)"
        R"("status":"pending"}]})");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST_REQUIRE(page->activations.size() == 1u);
    BOOST_TEST(page->activations[0].id == "a");
    auto bare = cleori::decode_activation_page<runtime_keys_profile>(
        R"({"id":"x","direction":"up","power":1,"start_time":"2026-11-26T16:20:00Z","status":"pending",)"
        R"("created_at":"2026-11-26T16:10:00Z"})");
    BOOST_TEST_REQUIRE(bare.has_value());
    BOOST_TEST_REQUIRE(bare->activations.size() == 1u);
    BOOST_TEST_REQUIRE(bare->activations[0].created_at.has_value());
    BOOST_TEST(cleori::to_rfc3339(*bare->activations[0].created_at) == "2026-11-26T16:10:00.000Z");
}

BOOST_AUTO_TEST_SUITE_END()
