#pragma once
// Replaces every form of the global operator new and delete in the
// executable whose one translation unit includes this. Each operator new
// calls `counted_allocate(size, alignment)` — alignment 0 for the plain
// forms — which that translation unit defines, and which returns nullptr when
// out of memory; each operator delete calls free(). Used to count heap
// allocations (test/engine/allocations.cpp, benchmark/allocations.cpp).

#include <cstddef>
#include <cstdlib>
#include <new>

void* counted_allocate(std::size_t n, std::size_t alignment) noexcept;

#if defined(__GNUC__) && !defined(__clang__)
// GCC pairs free() with the malloc() it can see, not with the replaced new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace cleori_test_replaced_new {
inline void* allocate_or_throw(std::size_t n, std::size_t alignment) {
    if (void* p = counted_allocate(n, alignment)) return p;
    throw std::bad_alloc();
}
inline std::size_t of(std::align_val_t a) noexcept { return static_cast<std::size_t>(a); }
} // namespace cleori_test_replaced_new

void* operator new(std::size_t n) { return cleori_test_replaced_new::allocate_or_throw(n, 0); }
void* operator new[](std::size_t n) { return cleori_test_replaced_new::allocate_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
    return cleori_test_replaced_new::allocate_or_throw(n, cleori_test_replaced_new::of(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return cleori_test_replaced_new::allocate_or_throw(n, cleori_test_replaced_new::of(a));
}
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { return counted_allocate(n, 0); }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { return counted_allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept {
    return counted_allocate(n, cleori_test_replaced_new::of(a));
}
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept {
    return counted_allocate(n, cleori_test_replaced_new::of(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept { std::free(p); }
