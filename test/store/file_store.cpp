// The journal on real files: every event survives a reopen, a torn or
// damaged tail is dropped and counted (never a crash, never a guess), the
// journal stays small, and two processes cannot share one.
#include <cleori/store/file_store.hpp>

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>

using namespace cleori::literals;
using namespace std::chrono_literals;

namespace {

cleori::timestamp const t0 = cleori::parse_rfc3339("2026-11-26T12:00:00Z").value();

std::string read_all(std::filesystem::path const& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(std::filesystem::path const& p, std::string const& data) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

cleori::telemetry_sample sample(int i) {
    return {.time = t0 + std::chrono::seconds(5 * i), .power = cleori::kilowatts{-42.125 + i}, .soc = 63.5_pct};
}

cleori::tracked_activation tracked(std::string id, cleori::activation_phase phase) {
    cleori::activation a{.id = std::move(id), .direction = cleori::mfrr_direction::up, .power = 80.0_kW,
                         .start_time = t0 + 30s, .end_time = t0 + 930s, .type = cleori::activation_type::direct,
                         .status = cleori::activation_status::confirmed, .created_at = t0};
    return {a, phase, -80.0_kW, t0 + 10s, std::nullopt, false};
}

// Every kind of event, and the image they must add up to.
std::vector<cleori::store_record> every_kind() {
    static std::vector<std::uint64_t> const released{0, 2};
    auto ended = tracked("a-2", cleori::activation_phase::ended);
    ended.ended = cleori::end_reason::cancelled;
    ended.a.end_time.reset();
    ended.a.type.reset();
    return {
        cleori::sample_taken{0, sample(0)},
        cleori::sample_taken{1, sample(1)},
        cleori::sample_taken{2, cleori::telemetry_sample{.time = t0 + 10s, .soc = 12.25_pct}}, // partial
        cleori::samples_released{released},
        cleori::activation_changed{tracked("a-1", cleori::activation_phase::scheduled)},
        cleori::activation_changed{tracked("a-1", cleori::activation_phase::executing),
                                   cleori::confirmation{t0 + 30s, cleori::confirmation_status::executing, std::nullopt,
                                                        -80.0_kW}},
        cleori::activation_changed{ended},
        cleori::activation_changed{tracked("refused \"quoted\" ✓", cleori::activation_phase::refused),
                                   cleori::confirmation{t0 + 31s, cleori::confirmation_status::unavailable,
                                                        "insufficient energy: needs 200.0 kWh", std::nullopt}},
        cleori::confirmation_done{"a-1"},
        cleori::activation_forgotten{"a-2"},
        cleori::sample_taken{3, sample(3)},
    };
}

cleori::store_image image_of(std::vector<cleori::store_record> const& records) {
    cleori::store_image img;
    for (auto const& r : records) img.apply(r);
    return img;
}

void check_same(cleori::store_image const& got, cleori::store_image const& want) {
    BOOST_TEST(got.samples.size() == want.samples.size());
    BOOST_TEST((got.samples == want.samples));
    BOOST_TEST(got.activations.size() == want.activations.size());
    for (std::size_t i = 0; i < std::min(got.activations.size(), want.activations.size()); ++i) {
        auto const& g = got.activations[i];
        auto const& w = want.activations[i];
        BOOST_TEST((g.a == w.a));
        BOOST_TEST((g.phase == w.phase));
        BOOST_TEST(g.setpoint == w.setpoint);
        BOOST_TEST((g.last_seen == w.last_seen));
        BOOST_TEST((g.ended == w.ended));
        BOOST_TEST(g.confirmed == w.confirmed);
    }
    BOOST_TEST((got.confirmations == want.confirmations));
    BOOST_TEST(got.next_seq == want.next_seq);
}

} // namespace

BOOST_AUTO_TEST_SUITE(store_file_store)

BOOST_AUTO_TEST_CASE(every_event_survives_a_reopen_under_every_fsync_policy) {
    auto const records = every_kind();
    auto const want = image_of(records);
    BOOST_TEST(want.samples.size() == 2u); // 1 and 3
    BOOST_TEST(want.activations.size() == 2u);
    BOOST_TEST(want.confirmations.size() == 1u);
    BOOST_TEST(want.next_seq == 4u);
    for (auto policy : {cleori::fsync_policy::every_record, cleori::fsync_policy::periodic, cleori::fsync_policy::never}) {
        cleori::test::temp_dir dir;
        {
            auto store = cleori::file_store::open(dir / "j", {.sync = policy});
            BOOST_TEST_REQUIRE(store.has_value(), store.error().message());
            BOOST_TEST(store->load()->empty());
            for (auto const& r : records) BOOST_TEST_REQUIRE(store->append(r).has_value());
            check_same(store->load().value(), want);
        }
        auto again = cleori::file_store::open(dir / "j", {.sync = policy});
        BOOST_TEST_REQUIRE(again.has_value(), again.error().message());
        BOOST_TEST(again->recovery().records == records.size() + 1); // and the snapshot's next_seq
        BOOST_TEST(again->recovery().discarded_bytes == 0u);
        check_same(again->load().value(), want);
    }
}

BOOST_AUTO_TEST_CASE(a_torn_last_record_is_dropped_at_every_cut) {
    cleori::test::temp_dir dir;
    std::string whole;
    std::uintmax_t before_last = 0;
    {
        auto store = cleori::file_store::open(dir / "j").value();
        for (int i = 0; i < 5; ++i) BOOST_TEST_REQUIRE(store.append(cleori::sample_taken{std::uint64_t(i), sample(i)}).has_value());
        before_last = std::filesystem::file_size(dir / "j");
        BOOST_TEST_REQUIRE(store.append(cleori::sample_taken{5, sample(5)}).has_value());
    }
    whole = read_all(dir / "j");
    // A crash can stop the last write after any byte.
    for (std::size_t cut = before_last; cut < whole.size(); ++cut) {
        BOOST_TEST_CONTEXT("journal cut at " << cut << " of " << whole.size() << " bytes") {
            write_all(dir / "j", whole.substr(0, cut));
            auto store = cleori::file_store::open(dir / "j");
            BOOST_TEST_REQUIRE(store.has_value(), store.error().message());
            BOOST_TEST(store->recovery().discarded_bytes == cut - before_last);
            auto img = store->load().value();
            BOOST_TEST_REQUIRE(img.samples.size() == 5u);
            BOOST_TEST((img.samples.back().sample == sample(4)));
        }
    }
    // The rewrite left a clean journal: new records land after the good ones.
    {
        auto store = cleori::file_store::open(dir / "j").value();
        BOOST_TEST(store.recovery().discarded_bytes == 0u);
        BOOST_TEST_REQUIRE(store.append(cleori::sample_taken{9, sample(9)}).has_value());
    }
    auto img = cleori::file_store::open(dir / "j").value().load().value();
    BOOST_TEST(img.samples.size() == 6u);
    BOOST_TEST(img.samples.back().seq == 9u);
}

BOOST_AUTO_TEST_CASE(a_damaged_record_ends_the_replay_and_is_reported) {
    cleori::test::temp_dir dir;
    {
        auto store = cleori::file_store::open(dir / "j").value();
        for (int i = 0; i < 4; ++i) BOOST_TEST_REQUIRE(store.append(cleori::sample_taken{std::uint64_t(i), sample(i)}).has_value());
    }
    auto data = read_all(dir / "j");
    auto const at = data.find("\"seq\":2");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    data[at + 6] = '7'; // one flipped byte: the checksum no longer holds
    write_all(dir / "j", data);
    {
        auto store = cleori::file_store::open(dir / "j");
        BOOST_TEST_REQUIRE(store.has_value(), store.error().message());
        BOOST_TEST(store->load()->samples.size() == 2u); // 0 and 1; nothing after the damage is trusted
        BOOST_TEST(store->recovery().discarded_bytes > 0u);
    }

    // Garbage after the last record, e.g. a length field of 4 GiB.
    data = read_all(dir / "j");
    write_all(dir / "j", data + std::string("\xff\xff\xff\xff\x00\x00\x00\x00junk", 12));
    auto again = cleori::file_store::open(dir / "j");
    BOOST_TEST_REQUIRE(again.has_value(), again.error().message());
    BOOST_TEST(again->recovery().discarded_bytes == 12u);
    BOOST_TEST(again->load()->samples.size() == 2u);
}

BOOST_AUTO_TEST_CASE(foreign_and_unreadable_journals_are_refused_with_named_errors) {
    cleori::test::temp_dir dir;
    write_all(dir / "other", "this is somebody else's file\n");
    auto r = cleori::file_store::open(dir / "other");
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == make_error_code(cleori::error::store_bad_format), r.error().message());
    BOOST_TEST(read_all(dir / "other") == "this is somebody else's file\n"); // left untouched

    // A record whose checksum holds but whose content is not ours: refuse, do not guess.
    std::string data(cleori::detail::journal_magic);
    cleori::detail::frame_journal_record(R"({"k":"from_the_future","x":1})", data);
    write_all(dir / "future", data);
    r = cleori::file_store::open(dir / "future");
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == make_error_code(cleori::error::store_record_invalid), r.error().message());

    // A journal cut inside its magic (a crash during the very first write) is empty, not foreign.
    write_all(dir / "young", "CLEO");
    auto young = cleori::file_store::open(dir / "young");
    BOOST_TEST_REQUIRE(young.has_value(), young.error().message());
    BOOST_TEST(young->load()->empty());

    // The system's own errors come through with their text.
    r = cleori::file_store::open(dir / "no-such-dir" / "j");
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().message() == std::string("No such file or directory"));
}

BOOST_AUTO_TEST_CASE(one_journal_one_owner) {
    cleori::test::temp_dir dir;
    auto first = cleori::file_store::open(dir / "j");
    BOOST_TEST_REQUIRE(first.has_value());
    auto second = cleori::file_store::open(dir / "j");
    BOOST_TEST_REQUIRE(!second.has_value());
    BOOST_TEST(second.error() == boost::system::error_code(EWOULDBLOCK, boost::system::system_category()),
               second.error().message());
    first = cleori::file_store::open(dir / "other"); // the first store closes and lets go
    BOOST_TEST(cleori::file_store::open(dir / "j").has_value());
}

BOOST_AUTO_TEST_CASE(compaction_keeps_the_journal_proportional_to_what_is_unsent) {
    cleori::test::temp_dir dir;
    auto store = cleori::file_store::open(dir / "j", {.compact_after_bytes = 16 * 1024}).value();
    std::uintmax_t largest = 0;
    // A day of telemetry at 5 s, each sample acknowledged, 3 always in flight.
    for (std::uint64_t i = 0; i < 17280; ++i) {
        BOOST_TEST_REQUIRE(store.append(cleori::sample_taken{i, sample(int(i % 1000))}).has_value());
        if (i >= 3) {
            std::uint64_t const done = i - 3;
            BOOST_TEST_REQUIRE(store.append(cleori::samples_released{std::span(&done, 1)}).has_value());
        }
        largest = std::max(largest, std::filesystem::file_size(dir / "j"));
    }
    BOOST_TEST(largest < 17u * 1024u + 512u); // never much past the threshold
    BOOST_TEST(store.size() == std::filesystem::file_size(dir / "j"));
    auto img = cleori::file_store::open(dir / "j2").value(); // a different file: the first is still open
    (void)img;
    store = cleori::file_store::open(dir / "j3").value(); // closes the journal
    auto reopened = cleori::file_store::open(dir / "j").value().load().value();
    BOOST_TEST(reopened.samples.size() == 3u); // 17277..17279
    BOOST_TEST(reopened.samples.front().seq == 17277u);
    BOOST_TEST(reopened.next_seq == 17280u);
    BOOST_TEST(!std::filesystem::exists(dir / "j.tmp"));
}

BOOST_AUTO_TEST_SUITE_END()
