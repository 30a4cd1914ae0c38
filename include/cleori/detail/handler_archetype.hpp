#pragma once
// The handler the concepts try a policy's asynchronous operations with:
// move-only and callable once as an rvalue, as the engine's and Asio's
// handlers are. A policy that takes its handler as a std::function (which
// copies, and calls as an lvalue) cannot take this one, so it fails at the
// concept instead of deep inside the engine.
namespace cleori::detail {

template <class... Args>
struct once_handler_archetype {
    once_handler_archetype() = default;
    once_handler_archetype(once_handler_archetype&&) = default;
    once_handler_archetype& operator=(once_handler_archetype&&) = default;
    once_handler_archetype(once_handler_archetype const&) = delete;
    once_handler_archetype& operator=(once_handler_archetype const&) = delete;
    void operator()(Args...) && {}
};

} // namespace cleori::detail
