#pragma once
// Strings to build one request in, lent by the calling thread. A request's
// target and body are needed only while the transport's `async_request` runs
// (a transport reads a request only during the call that hands it over), so
// the clients on a thread can share a few pairs instead of each keeping its
// own: a fleet of agents then holds buffers for the requests being built at
// once, not two per agent. A nested request (one started from a completion
// that ran inside another's `async_request`) takes another pair. Each pair
// keeps its capacity, so a steady state of requests does not touch the heap.
//
// After the thread's pairs are destroyed (thread exit, or static destructors
// on the main thread), a lease owns a fresh pair of its own.

#include <cleori/detail/per_thread.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace cleori::detail {

struct request_strings {
    std::string target;
    std::string body;
};

class scratch_lease {
public:
    static constexpr std::size_t kept_max = 8; // pairs a thread keeps for reuse

    scratch_lease() : p_(take()) {}
    scratch_lease(scratch_lease const&) = delete;
    scratch_lease& operator=(scratch_lease const&) = delete;
    ~scratch_lease() { give_back(std::move(p_)); }

    [[nodiscard]] std::string& target() noexcept { return p_->target; }
    [[nodiscard]] std::string& body() noexcept { return p_->body; }

private:
    using kept = std::vector<std::unique_ptr<request_strings>>;
    static std::unique_ptr<request_strings> take() {
        if (auto* f = per_thread<kept>::get()) {
            if (!f->empty()) {
                auto p = std::move(f->back());
                f->pop_back();
                return p;
            }
            f->reserve(kept_max); // so that giving back never allocates
        }
        return std::make_unique<request_strings>();
    }
    static void give_back(std::unique_ptr<request_strings> p) noexcept {
        if (auto* f = per_thread<kept>::get(); f && f->size() < kept_max) f->push_back(std::move(p));
    }

    std::unique_ptr<request_strings> p_;
};

} // namespace cleori::detail
