#pragma once
// A first-in first-out queue on one vector. std::deque frees and allocates a
// node every few elements of a steady push/pop stream; this keeps its
// capacity once drained, so a queue that empties between events stops
// allocating after warm-up. One that never drains is compacted once at
// least `compact_after` items, and half of it, have been taken.

#include <concepts>
#include <cstddef>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace cleori::detail {

template <class T, std::size_t compact_after = 64>
class fifo {
public:
    // Built in place from what is given (for a variant: from the alternative,
    // without moving a whole variant, which g++ 12 at -O3 reports as
    // maybe-uninitialized).
    template <class U>
        requires std::convertible_to<U&&, T>
    void push(U&& v) {
        items_.emplace_back(std::forward<U>(v));
    }
    [[nodiscard]] bool empty() const noexcept { return next_ == items_.size(); }

    // The oldest item, removed; empty when there is none.
    std::optional<T> pop() {
        if (empty()) return std::nullopt;
        std::optional<T> out(std::move(items_[next_++]));
        if (next_ == items_.size()) {
            items_.clear();
            next_ = 0;
        } else if (next_ >= compact_after && next_ * 2 >= items_.size()) {
            // Only once half the vector is spent: each item then moves at
            // most once more, however long the queue (a fleet's can be).
            // Moved into a new vector rather than erased in place: g++ 12
            // reports a variant's move assignment as maybe-uninitialized.
            std::vector<T> rest(std::make_move_iterator(items_.begin() + static_cast<std::ptrdiff_t>(next_)),
                                std::make_move_iterator(items_.end()));
            items_.swap(rest);
            next_ = 0;
        }
        return out;
    }

private:
    std::vector<T> items_;
    std::size_t next_ = 0; // items before it are taken
};

} // namespace cleori::detail
