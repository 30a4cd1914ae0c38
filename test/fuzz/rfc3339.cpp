// libFuzzer target: RFC 3339 timestamps and HTTP Retry-After values. A parsed
// time formats to a string that parses back to the same instant.
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/time/rfc3339.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    if (auto t = cleori::parse_rfc3339(text)) {
        auto const formatted = cleori::to_rfc3339(*t);
        if (formatted.empty() || formatted.size() > cleori::rfc3339_max_formatted) std::abort();
        auto back = cleori::parse_rfc3339(formatted);
        if (!back || *back != *t) std::abort();
    } else if (t.error().message().empty()) {
        std::abort();
    }
    auto const now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
    if (auto wait = cleori::parse_retry_after(text, now)) {
        if (*wait < std::chrono::milliseconds::zero() || *wait > std::chrono::hours(24)) std::abort();
    }
    return 0;
}
