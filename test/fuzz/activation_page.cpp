// libFuzzer target: a poll body as Cleori (or anyone on the path) may send it.
// Never a crash, a hang or a leak; the streamed reading is the one a parsed
// tree gives (support/page_oracle.hpp); what is accepted is valid and
// survives an encode/decode round trip unchanged (numbers to the ulp: same.hpp).
#include <cleori/api/json.hpp>

#include "same.hpp"
#include "support/page_oracle.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const body(reinterpret_cast<char const*>(data), size);
    auto page = cleori::decode_activation_page(body);
    if (!cleori::testing::same_reading(page, cleori::testing::page_by_tree(body), nullptr)) std::abort();
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
