#pragma once
// Memory for the completion handlers of agents' and transports' operations
// (requests, device calls, timer waits, reads, writes and deadlines), shared
// by everything that runs on a thread. Asio
// allocates each pending operation through its handler's associated
// allocator; this one keeps freed blocks on the freeing thread, one list per
// 64-byte size class, and hands them out again. A thread that serves a fleet
// therefore holds blocks for the operations pending at once across its
// agents, not three per agent: a fleet's agents mostly wait on their timer,
// with a poll or a telemetry request in flight for a few milliseconds now and
// then. Once warm, a steady state of operations does not touch the heap.
//
// Asio's own recycling cache holds two blocks per thread, which a fleet of
// agents, or one agent with a timer, a device call and a request pending on
// its transport, outgrows at once.
//
// The allocator is stateless: any copy frees what any other allocated, so a
// handler may outlive the agent that made it. A block freed on another thread
// (a device that completes on its own thread) joins that thread's lists;
// what a thread keeps is capped (`retained_bytes_max`), so a thread that only
// frees does not grow without bound. After a thread's lists are destroyed
// (thread exit, or static destructors on the main thread), its blocks go
// straight back to the heap.

#include <cleori/detail/per_thread.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <new>

namespace cleori::detail {

class handler_pool {
public:
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t classes = 16; // blocks of 64 … 1024 bytes
    static constexpr std::size_t retained_bytes_max = std::size_t{4} << 20;

    [[nodiscard]] static void* allocate(std::size_t n) {
        std::size_t const c = class_of(n);
        if (c >= classes) return ::operator new(n, std::align_val_t{alignof(std::max_align_t)});
        if (auto* l = per_thread<free_lists>::get())
            if (void* b = l->pop(c)) return b;
        // The class's full size, whatever the thread: the block may be freed
        // onto another thread's list and handed out there for the largest
        // size of its class.
        return ::operator new((c + 1) * granule, std::align_val_t{alignof(std::max_align_t)});
    }

    static void deallocate(void* p, std::size_t n) noexcept {
        std::size_t const c = class_of(n);
        if (c < classes)
            if (auto* l = per_thread<free_lists>::get(); l && l->push(c, p)) return;
        ::operator delete(p, std::align_val_t{alignof(std::max_align_t)});
    }

    // Bytes this thread keeps for reuse (for tests and diagnostics).
    [[nodiscard]] static std::size_t retained_bytes() noexcept {
        auto const* l = per_thread<free_lists>::get();
        return l ? l->retained() : 0;
    }

private:
    static constexpr std::size_t class_of(std::size_t n) noexcept { return n == 0 ? 0 : (n - 1) / granule; }

    struct node {
        node* next;
    };

    class free_lists {
    public:
        free_lists() = default;
        free_lists(free_lists const&) = delete;
        free_lists& operator=(free_lists const&) = delete;
        ~free_lists() {
            for (node* head : head_)
                while (head) {
                    node* const next = head->next;
                    ::operator delete(static_cast<void*>(head), std::align_val_t{alignof(std::max_align_t)});
                    head = next;
                }
        }
        void* pop(std::size_t c) noexcept {
            node* const b = head_[c];
            if (!b) return nullptr;
            head_[c] = b->next;
            retained_ -= (c + 1) * granule;
            return b;
        }
        bool push(std::size_t c, void* p) noexcept {
            std::size_t const size = (c + 1) * granule;
            if (retained_ + size > retained_bytes_max) return false;
            head_[c] = ::new (p) node{head_[c]};
            retained_ += size;
            return true;
        }
        [[nodiscard]] std::size_t retained() const noexcept { return retained_; }

    private:
        std::array<node*, classes> head_{};
        std::size_t retained_ = 0;
    };
};

// The allocator that draws on the calling thread's `handler_pool`.
template <class T>
class pooled_allocator {
public:
    using value_type = T;

    pooled_allocator() noexcept = default;
    template <class U>
    pooled_allocator(pooled_allocator<U> const&) noexcept {}

    T* allocate(std::size_t n) {
        if constexpr (alignof(T) > alignof(std::max_align_t)) return std::allocator<T>{}.allocate(n);
        else return static_cast<T*>(handler_pool::allocate(sizeof(T) * n));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if constexpr (alignof(T) > alignof(std::max_align_t)) std::allocator<T>{}.deallocate(p, n);
        else handler_pool::deallocate(p, sizeof(T) * n);
    }

    template <class U>
    friend bool operator==(pooled_allocator const&, pooled_allocator<U> const&) noexcept {
        return true;
    }
};

} // namespace cleori::detail
