#pragma once
// Memory for the completion handlers of one owner's operations (a
// transport's reads, writes and deadline). Asio allocates every pending
// operation through its handler's associated allocator; binding this one
// keeps a few blocks, each sized by its first use, and hands them out again,
// so a steady state of operations stops touching the heap after warm-up.
// Asio's own recycling cache holds two blocks per thread, which a few
// transports on one thread outgrow at once. (Agents, which a thread holds by
// the thousand, share `handler_pool` instead.)
//
// The blocks live in a shared object that every allocator copy keeps alive:
// Asio and any_completion_handler may destroy a handler (and with it the last
// reference to its owner) before they give the handler's memory back.
// Allocation is lock-free, so a device that completes on another thread may
// free its operation there.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace cleori::detail {

class handler_memory {
public:
    static constexpr std::size_t slots = 8;

    handler_memory() = default;
    handler_memory(handler_memory const&) = delete;
    handler_memory& operator=(handler_memory const&) = delete;
    ~handler_memory() {
        for (auto& s : slot_)
            if (void* b = s.block.load(std::memory_order_relaxed))
                ::operator delete(b, std::align_val_t{alignof(std::max_align_t)});
    }

    void* allocate(std::size_t n) {
        // A free slot whose block is large enough. Else a free slot is
        // (re)filled, an empty one first, so that the blocks kept grow to
        // what the owner has pending at once. When every slot is busy: the heap.
        std::size_t pick = slots; // taken, to be filled
        for (std::size_t i = 0; i < slots; ++i) {
            if (!take(i)) continue;
            auto const& s = slot_[i];
            void* const b = s.block.load(std::memory_order_relaxed);
            if (b && s.size >= n) {
                if (pick != slots) give_back(pick);
                return b;
            }
            if (pick == slots || (!b && slot_[pick].block.load(std::memory_order_relaxed))) {
                if (pick != slots) give_back(pick);
                pick = i;
                continue;
            }
            give_back(i);
        }
        if (pick == slots) return ::operator new(n, std::align_val_t{alignof(std::max_align_t)});
        auto& s = slot_[pick];
        std::size_t const size = (n + 63) / 64 * 64;
        void* block = nullptr;
        try {
            block = ::operator new(size, std::align_val_t{alignof(std::max_align_t)});
        } catch (...) {
            give_back(pick);
            throw;
        }
        // The slot names its new block before the old one goes back to the
        // heap: a deallocate on another thread of a block the heap hands
        // out again at the old address must not match this slot.
        void* const old = s.block.exchange(block, std::memory_order_acq_rel);
        s.size = size;
        if (old) ::operator delete(old, std::align_val_t{alignof(std::max_align_t)});
        return block;
    }

    void deallocate(void* p) noexcept {
        for (std::size_t i = 0; i < slots; ++i)
            if (slot_[i].block.load(std::memory_order_relaxed) == p) return give_back(i);
        ::operator delete(p, std::align_val_t{alignof(std::max_align_t)});
    }

private:
    struct slot {
        std::atomic<void*> block{nullptr}; // read by deallocate without the busy bit
        std::size_t size = 0;
    };
    bool take(std::size_t i) noexcept {
        auto const bit = std::uint32_t{1} << i;
        return (busy_.fetch_or(bit, std::memory_order_acquire) & bit) == 0;
    }
    void give_back(std::size_t i) noexcept { busy_.fetch_and(~(std::uint32_t{1} << i), std::memory_order_release); }

    // A slot's block and size change only while its busy bit is held.
    std::array<slot, slots> slot_;
    std::atomic<std::uint32_t> busy_{0};
};

// The allocator that hands out a `handler_memory`'s blocks.
template <class T>
class handler_allocator {
public:
    using value_type = T;

    explicit handler_allocator(std::shared_ptr<handler_memory> m) noexcept : m_(std::move(m)) {}
    template <class U>
    handler_allocator(handler_allocator<U> const& other) noexcept : m_(other.m_) {}

    T* allocate(std::size_t n) {
        if constexpr (alignof(T) > alignof(std::max_align_t)) return std::allocator<T>{}.allocate(n);
        else return static_cast<T*>(m_->allocate(sizeof(T) * n));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if constexpr (alignof(T) > alignof(std::max_align_t)) std::allocator<T>{}.deallocate(p, n);
        else m_->deallocate(p);
    }

    template <class U>
    friend bool operator==(handler_allocator const& a, handler_allocator<U> const& b) noexcept {
        return a.m_ == b.m_;
    }

private:
    template <class>
    friend class handler_allocator;
    std::shared_ptr<handler_memory> m_;
};

} // namespace cleori::detail
