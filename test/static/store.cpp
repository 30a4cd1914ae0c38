// Positive and negative checks of the Store concept, with the exemplar of
// doc/concepts/Store.md.
#include <cleori/store/store.hpp>

#include <cleori/store/file_store.hpp>

#include <boost/test/unit_test.hpp>

#include <memory>

namespace {
static_assert(cleori::Store<cleori::memory_store>);
static_assert(cleori::Store<cleori::file_store>);
static_assert(!cleori::is_durable_store<cleori::memory_store>);
static_assert(cleori::is_durable_store<cleori::file_store>);

// The exemplar: keeps the image in memory shared with its owner (a site
// controller might keep it in battery-backed RAM); it survives the agent, not
// the process.
struct shared_image_store {
    std::shared_ptr<cleori::store_image> image = std::make_shared<cleori::store_image>();
    cleori::result<cleori::store_image> load() { return *image; }
    cleori::result<void> append(cleori::store_record const& r) {
        image->apply(r);
        return {};
    }
};
static_assert(cleori::Store<shared_image_store>);
static_assert(cleori::is_durable_store<shared_image_store>);

struct no_load {
    cleori::result<void> append(cleori::store_record const&) { return {}; }
};
struct bool_append { // must say why it failed, not just that it did
    cleori::result<cleori::store_image> load() { return cleori::store_image{}; }
    bool append(cleori::store_record const&) { return true; }
};
struct image_by_value { // must be able to fail
    cleori::store_image load() { return {}; }
    cleori::result<void> append(cleori::store_record const&) { return {}; }
};
static_assert(!cleori::Store<no_load>);
static_assert(!cleori::Store<bool_append>);
static_assert(!cleori::Store<image_by_value>);
static_assert(!cleori::Store<int>);
} // namespace

BOOST_AUTO_TEST_SUITE(static_store)

BOOST_AUTO_TEST_CASE(the_image_adds_up_the_events) {
    using namespace cleori::literals;
    auto const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();
    shared_image_store s;
    std::uint64_t const ack[] = {0};
    cleori::tracked_activation t{{.id = "a", .direction = cleori::mfrr_direction::down, .power = 60.0_kW,
                                  .start_time = t0},
                                 cleori::activation_phase::executing, 60.0_kW, t0, std::nullopt, false};
    for (cleori::store_record r : {cleori::store_record(cleori::sample_taken{0, {.time = t0, .soc = 50.0_pct}}),
                                   cleori::store_record(cleori::sample_taken{1, {.time = t0, .soc = 51.0_pct}}),
                                   cleori::store_record(cleori::samples_released{ack}),
                                   cleori::store_record(cleori::activation_changed{
                                       t, cleori::confirmation{t0, cleori::confirmation_status::executing,
                                                               std::nullopt, 60.0_kW}})})
        BOOST_TEST(s.append(r).has_value());
    auto img = s.load().value();
    BOOST_TEST_REQUIRE(img.samples.size() == 1u);
    BOOST_TEST(img.samples[0].seq == 1u);
    BOOST_TEST(img.next_seq == 2u);
    BOOST_TEST_REQUIRE(img.confirmations.size() == 1u);
    BOOST_TEST(!img.activations.at(0).confirmed);
    BOOST_TEST(s.append(cleori::confirmation_done{"a"}).has_value());
    BOOST_TEST(s.image->confirmations.empty());
    BOOST_TEST(s.image->activations.at(0).confirmed);
    BOOST_TEST(s.append(cleori::activation_forgotten{"a"}).has_value());
    BOOST_TEST(s.image->activations.empty());
    BOOST_TEST(cleori::memory_store{}.load()->empty());
}

BOOST_AUTO_TEST_SUITE_END()
