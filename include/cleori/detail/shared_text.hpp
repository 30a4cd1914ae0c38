#pragma once
// Immutable text shared by reference count, in one heap block: the count,
// the size and the characters. An agent holds its token this way, and each
// request in flight holds the token it started with, so that a rotation
// replaces the agent's without touching theirs. A fleet holds one per
// asset: `std::shared_ptr<char[]>` costs a separate control block header
// (a 43-byte token took a 112-byte heap chunk and 16 bytes in the agent;
// this takes 64 and 8). The count is atomic because a request's handler may
// be destroyed on another thread than the one that made it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace cleori::detail {

class shared_text {
public:
    shared_text() noexcept = default;
    explicit shared_text(std::string_view s) {
        if (s.size() > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("cleori: text too long");
        void* const raw = ::operator new(sizeof(block) + s.size());
        b_ = ::new (raw) block{{1}, static_cast<std::uint32_t>(s.size())};
        if (!s.empty()) std::memcpy(b_->chars(), s.data(), s.size());
    }
    shared_text(shared_text const& o) noexcept : b_(o.b_) {
        if (b_) b_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    shared_text(shared_text&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
    shared_text& operator=(shared_text o) noexcept {
        std::swap(b_, o.b_);
        return *this;
    }
    ~shared_text() {
        if (b_ && b_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            b_->~block();
            ::operator delete(static_cast<void*>(b_));
        }
    }

    [[nodiscard]] std::string_view view() const noexcept {
        return b_ ? std::string_view(b_->chars(), b_->size) : std::string_view();
    }
    // Holders of this block, this one included (0 when empty); for tests.
    [[nodiscard]] std::uint32_t use_count() const noexcept {
        return b_ ? b_->refs.load(std::memory_order_relaxed) : 0;
    }

private:
    struct block {
        std::atomic<std::uint32_t> refs;
        std::uint32_t size;
        char* chars() noexcept { return reinterpret_cast<char*>(this + 1); }
    };
    static_assert(sizeof(block) == 8);
    block* b_ = nullptr;
};

} // namespace cleori::detail
