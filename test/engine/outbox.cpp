#include <cleori/engine/outbox.hpp>

#include <boost/test/unit_test.hpp>

using namespace cleori::literals;

namespace {
cleori::telemetry_sample at(int s) {
    return {cleori::timestamp{std::chrono::seconds(1'800'000'000 + s)}, std::nullopt, 50.0_pct};
}
} // namespace

BOOST_AUTO_TEST_SUITE(engine_outbox)

BOOST_AUTO_TEST_CASE(live_first_then_oldest_first) {
    cleori::telemetry_outbox box{10};
    for (int i = 0; i < 5; ++i) box.push(at(i));
    auto live = box.live();
    BOOST_TEST_REQUIRE(live.has_value());
    BOOST_TEST((live->sample == at(4)));
    auto backlog = box.backlog(3);
    BOOST_TEST_REQUIRE(backlog.size() == 3u);
    BOOST_TEST((backlog[0].sample == at(0)));
    BOOST_TEST((backlog[2].sample == at(2)));
    box.acknowledge(live->seq);
    BOOST_TEST(!box.live().has_value()); // the newest was sent: the rest is backlog
    BOOST_TEST(box.backlog(100).size() == 4u);
}

BOOST_AUTO_TEST_CASE(acknowledging_removes_exactly_those_samples) {
    cleori::telemetry_outbox box{10};
    for (int i = 0; i < 6; ++i) box.push(at(i));
    auto batch = box.backlog(2);
    box.push(at(6)); // arrives while the batch is in flight
    std::vector<std::uint64_t> seqs{batch[0].seq, batch[1].seq};
    box.acknowledge(seqs);
    BOOST_TEST(box.size() == 5u);
    BOOST_TEST((box.backlog(1)[0].sample == at(2)));
    BOOST_TEST((box.live()->sample == at(6)));
}

BOOST_AUTO_TEST_CASE(full_outbox_evicts_the_oldest_and_counts) {
    cleori::telemetry_outbox box{3};
    BOOST_TEST(!box.push(at(0)).has_value());
    box.push(at(1));
    box.push(at(2));
    BOOST_TEST(box.push(at(3)).value() == 0u); // the oldest, by its sequence number
    BOOST_TEST(box.evicted() == 1u);
    BOOST_TEST((box.backlog(10)[0].sample == at(1)));
    std::uint64_t gone = 0; // an evicted sample acknowledged later is ignored
    box.acknowledge(gone);
    BOOST_TEST(box.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
