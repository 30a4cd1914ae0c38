// libFuzzer target: telemetry bodies (what the simulator decodes, and the
// journal's samples). Accepted samples are valid and round-trip unchanged
// (numbers to the ulp: same.hpp).
#include <cleori/api/json.hpp>

#include "same.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const body(reinterpret_cast<char const*>(data), size);
    std::string why;
    auto samples = cleori::decode_telemetry(body, &why);
    if (!samples) {
        if (why.empty()) std::abort(); // a refusal always says why
        return 0;
    }
    for (auto const& s : *samples) {
        if (cleori::validate(s)) std::abort();
        std::string again;
        cleori::encode_telemetry(s, again);
        auto back = cleori::decode_telemetry(again);
        if (!back || back->size() != 1 || !cleori::fuzz::same(s, (*back)[0])) std::abort();
    }
    return 0;
}
