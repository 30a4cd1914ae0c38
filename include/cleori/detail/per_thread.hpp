#pragma once
// One object per thread, made on first use, for caches that the agents on a
// thread share (handler blocks, request strings). `get()` returns null once
// the thread's object is destroyed: a thread's thread_local objects go
// before the statics, and a static whose destructor still runs an event
// loop may ask again; its caller then falls back to the heap.

#include <type_traits>

namespace cleori::detail {

template <class T>
class per_thread {
public:
    [[nodiscard]] static T* get() noexcept(std::is_nothrow_default_constructible_v<T>) {
        if (gone()) return nullptr;
        thread_local holder h;
        return &h.value;
    }

private:
    struct holder {
        T value{};
        ~holder() { gone() = true; } // before `value` is destroyed
    };
    // Trivially destructible, so it can be read after the holder is gone.
    static bool& gone() noexcept {
        thread_local bool g = false;
        return g;
    }
};

} // namespace cleori::detail
