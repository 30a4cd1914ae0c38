// libFuzzer target: a poll body as Cleori (or anyone on the path) may send it.
// Never a crash, a hang or a leak; the streamed reading is the one a parsed
// tree gives (support/page_oracle.hpp), also when read into the last page's
// storage; what is accepted is valid and survives an encode/decode round
// trip unchanged (numbers to the ulp: same.hpp).
#include <cleori/api/json.hpp>

#include "same.hpp"
#include "support/page_oracle.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const body(reinterpret_cast<char const*>(data), size);
    auto page = cleori::decode_activation_page(body);
    auto const tree = cleori::testing::page_by_tree(body);
    if (!cleori::testing::same_reading(page, tree, nullptr)) std::abort();
    // Read into the storage of the last accepted page, as the agent reads
    // each poll: nothing of that page may show through.
    static cleori::activation_page previous;
    auto recycled = cleori::decode_activation_page(body, std::move(previous));
    if (!cleori::testing::same_reading(recycled, tree, nullptr)) std::abort();
    previous = recycled ? std::move(*recycled) : cleori::activation_page{};
    if (!page) return 0;
    for (auto const& a : page->activations) {
        if (a.id.empty() || a.id.size() > cleori::api_profile_v1::max_id_length) std::abort();
        if (a.end_time && *a.end_time <= a.start_time) std::abort();
        if (a.power < cleori::kilowatts{0.0}) std::abort();
        std::string again;
        cleori::encode_activation(a, again);
        auto back = cleori::decode_activation_page(again);
        if (!back || back->activations.size() != 1 || !cleori::fuzz::same(a, back->activations[0])) std::abort();
    }
    for (auto const& r : page->rejected)
        if (r.reason.empty()) std::abort(); // a rejection always says why
    return 0;
}
