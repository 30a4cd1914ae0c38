#pragma once
// Event counts kept in 32 bits each that read as exact 64-bit counts.
//
// Why: an agent's counters are 27 numbers that a fleet holds tens of
// thousands of times, and at Cleori's cadences (seconds) none comes near 2^32
// in a century. Half their width is 108 bytes per agent. A count that does
// pass 2^32 - 1 (a poll every millisecond for 50 days, say) carries into high
// words kept in a block made on the first carry, so no count ever wraps; only
// such an agent pays for the block.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

namespace cleori::detail {

// `Wide` is a struct of `std::uint64_t` counts; `Fields` names each of them
// once (the user checks that the list is complete).
template <class Wide, std::uint64_t Wide::*... Fields>
class narrow_counts {
public:
    static constexpr std::size_t size = sizeof...(Fields);

    template <std::uint64_t Wide::*Field>
    void add(std::uint64_t n = 1) {
        static_assert(listed<Field>, "narrow_counts: this field is not in the list");
        constexpr std::size_t i = index_of<Field>();
        std::uint64_t const sum = std::uint64_t{low_[i]} + n;
        if (sum > low_max) [[unlikely]]
            high()[i] += static_cast<std::uint32_t>(sum >> 32); // first: if the block cannot be made, the count stays as it was
        low_[i] = static_cast<std::uint32_t>(sum);
    }

    template <std::uint64_t Wide::*Field>
    void set(std::uint64_t value) {
        static_assert(listed<Field>, "narrow_counts: this field is not in the list");
        constexpr std::size_t i = index_of<Field>();
        if (value > low_max) high()[i] = static_cast<std::uint32_t>(value >> 32); // first, as in add
        else if (high_) (*high_)[i] = 0;
        low_[i] = static_cast<std::uint32_t>(value);
    }

    template <std::uint64_t Wide::*Field>
    [[nodiscard]] std::uint64_t get() const noexcept {
        static_assert(listed<Field>, "narrow_counts: this field is not in the list");
        return at(index_of<Field>());
    }

    [[nodiscard]] Wide wide() const noexcept {
        Wide w{};
        std::size_t i = 0;
        ((w.*Fields = at(i++)), ...);
        return w;
    }

private:
    static constexpr std::uint64_t low_max = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::array<std::uint64_t Wide::*, size> fields{Fields...};

    template <std::uint64_t Wide::*Field>
    static constexpr std::size_t index_of() {
        static_assert(distinct(), "narrow_counts: a field is listed twice");
        std::size_t i = 0;
        while (i < size && fields[i] != Field) ++i;
        return i;
    }
    template <std::uint64_t Wide::*Field>
    static constexpr bool listed = index_of<Field>() < size;
    static constexpr bool distinct() {
        for (std::size_t i = 0; i < size; ++i)
            for (std::size_t j = i + 1; j < size; ++j)
                if (fields[i] == fields[j]) return false;
        return true;
    }
    [[nodiscard]] std::uint64_t at(std::size_t i) const noexcept {
        return (high_ ? std::uint64_t{(*high_)[i]} << 32 : 0) | low_[i];
    }
    std::array<std::uint32_t, size>& high() {
        if (!high_) high_ = std::make_unique<std::array<std::uint32_t, size>>();
        return *high_;
    }

    std::array<std::uint32_t, size> low_{};
    std::unique_ptr<std::array<std::uint32_t, size>> high_;
};

} // namespace cleori::detail
