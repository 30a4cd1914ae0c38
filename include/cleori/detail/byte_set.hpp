#pragma once

#include <array>
#include <string_view>

namespace cleori::detail {

// A set of byte values as a 256-entry table: text scanned byte by byte
// (request fields, JSON strings, URL segments) costs one lookup per byte
// instead of a chain of comparisons.
using byte_set = std::array<bool, 256>;

template <class Predicate>
constexpr byte_set make_byte_set(Predicate in) {
    byte_set set{};
    for (unsigned c = 0; c < 256; ++c) set[c] = in(static_cast<unsigned char>(c));
    return set;
}

constexpr bool contains_any(std::string_view s, byte_set const& set) noexcept {
    for (char const c : s)
        if (set[static_cast<unsigned char>(c)]) return true;
    return false;
}

} // namespace cleori::detail
