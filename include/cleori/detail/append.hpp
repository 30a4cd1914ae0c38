#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace cleori::detail {

// Appends several pieces with one capacity check and one size update: a
// request head or a JSON member is a dozen short pieces, and appending them
// one by one costs a call and a check each. With a buffer that has grown to
// its steady size, nothing here allocates. No piece may view `out` itself:
// the resize may move its bytes before they are copied.
// A character array is a string literal here: its length is known without
// a strlen.
template <std::size_t N>
constexpr std::string_view piece(char const (&literal)[N]) noexcept {
    return {literal, N - 1};
}
constexpr std::string_view piece(std::string_view s) noexcept { return s; }

template <class... Pieces>
void append_all(std::string& out, Pieces const&... pieces) {
    std::string_view const views[] = {piece(pieces)...};
    std::size_t total = 0;
    for (auto const v : views) total += v.size();
    std::size_t at = out.size();
    out.resize(at + total);
    char* const dest = out.data();
    for (auto const v : views) {
        if (!v.empty()) std::memcpy(dest + at, v.data(), v.size());
        at += v.size();
    }
}

} // namespace cleori::detail
