#pragma once
// A first-in first-out queue on one vector. std::deque frees and allocates a
// node every few elements of a steady push/pop stream; this keeps its
// capacity once drained, so a queue that empties between events stops
// allocating after warm-up. One that never drains is compacted once at
// least `compact_after` items, and half of it, have been taken.
//
// With an allocator that recycles blocks for the thread (`pooled_allocator`),
// a drained queue gives its storage back instead, and the next push takes a
// block for `first_reserve` items: a fleet's agents, whose queues are empty
// between events, then share the blocks of the few that are busy at once,
// and a steady stream still does not touch the heap.

#include <cleori/detail/handler_pool.hpp>

#include <concepts>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace cleori::detail {

template <class T, std::size_t compact_after = 64, class Allocator = std::allocator<T>>
class fifo {
    static constexpr bool returns_storage = std::same_as<Allocator, pooled_allocator<T>>;
    static constexpr std::size_t first_reserve = 4;

public:
    // Built in place from what is given (for a variant: from the alternative,
    // without moving a whole variant, which g++ 12 at -O3 reports as
    // maybe-uninitialized).
    template <class U>
        requires std::convertible_to<U&&, T>
    void push(U&& v) {
        if constexpr (returns_storage)
            if (items_.capacity() == 0) items_.reserve(first_reserve);
        items_.emplace_back(std::forward<U>(v));
    }
    [[nodiscard]] bool empty() const noexcept { return next_ == items_.size(); }

    // The oldest item, removed; empty when there is none.
    std::optional<T> pop() {
        if (empty()) return std::nullopt;
        std::optional<T> out(std::move(items_[next_++]));
        if (next_ == items_.size()) {
            if constexpr (returns_storage) std::vector<T, Allocator>().swap(items_);
            else items_.clear();
            next_ = 0;
        } else if (next_ >= compact_after && next_ * 2 >= items_.size()) {
            // Only once half the vector is spent: each item then moves at
            // most once more, however long the queue (a fleet's can be).
            // Moved into a new vector rather than erased in place: g++ 12
            // reports a variant's move assignment as maybe-uninitialized.
            std::vector<T, Allocator> rest(
                std::make_move_iterator(items_.begin() + static_cast<std::ptrdiff_t>(next_)),
                std::make_move_iterator(items_.end()));
            items_.swap(rest);
            next_ = 0;
        }
        return out;
    }

private:
    std::vector<T, Allocator> items_;
    std::size_t next_ = 0; // items before it are taken
};

} // namespace cleori::detail
