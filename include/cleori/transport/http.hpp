#pragma once
/// @file
/// @brief The `Transport` concept: what the API client needs to exchange one
/// HTTP request/response with Cleori, and the request/response types.
///
/// A transport owns connections; the client owns retries and deadlines. One
/// transport serves many assets: every request carries its own bearer token.
///
/// | expression | semantics |
/// |---|---|
/// | `t.async_request(req, h)` | sends `req` (read during the call only), calls the move-only `h(error_code, http_response const&)` once on the transport's executor |
/// | `t.get_executor()` | an Asio executor: the one completions run on; callable from any thread (the same executor every time) |
///
/// Nothing here names Beast: a transport on another HTTP stack depends on
/// Asio's executor concept and `error_code` only.
///
/// See doc/concepts/Transport.md.

#include <cleori/detail/handler_archetype.hpp>

#include <boost/asio/execution/executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace cleori {

/// @brief The HTTP methods of the Cleori API (GET, POST) and of the
/// simulator's control endpoints (PATCH); PUT and DELETE complete the set a
/// REST transport is expected to map.
enum class http_method : std::uint8_t { get, post, put, patch, delete_ };

/// @brief The method's token as it goes on the wire: `"GET"`, `"POST"` …
constexpr std::string_view to_string(http_method m) noexcept {
    switch (m) {
    case http_method::get: return "GET";
    case http_method::post: return "POST";
    case http_method::put: return "PUT";
    case http_method::patch: return "PATCH";
    case http_method::delete_: return "DELETE";
    }
    return "GET";
}

/// @brief One request to the Cleori API, borrowed: its strings belong to the
/// caller and are valid only during the `async_request` call, so a
/// transport copies what it keeps (into buffers it reuses: a warm
/// transport allocates nothing per request). The token is sent as
/// `Authorization: Bearer …` and nowhere else: never logged, never in errors.
struct http_request {
    http_method method = http_method::get;
    std::string_view target{};       ///< path and query, e.g. `/v1/activations?limit=100&offset=0`
    std::string_view body{};         ///< JSON, empty for GET
    std::string_view bearer_token{}; ///< the asset's token
    std::chrono::milliseconds timeout{5000}; ///< for the whole exchange from the call, queueing and connection included
};

/// @brief An `http_request` that owns its strings, for a transport that
/// keeps a request past the call (a recorder such as
/// `testing::memory_transport`, a queue).
struct owned_http_request {
    http_method method = http_method::get;
    std::string target{};
    std::string body{};
    std::string bearer_token{};
    std::chrono::milliseconds timeout{5000};

    owned_http_request() = default;
    explicit owned_http_request(http_request const& r)
        : method(r.method), target(r.target), body(r.body), bearer_token(r.bearer_token), timeout(r.timeout) {}
    /// @brief The borrowed form, valid while this object lives unchanged.
    [[nodiscard]] http_request view() const noexcept { return {method, target, body, bearer_token, timeout}; }
};

/// @brief What came back. A transport lends it to the handler: it is valid
/// during the handler's call only (the handler copies what it keeps), so a
/// transport can read every response into the same buffers.
struct http_response {
    unsigned status = 0;
    std::string body{};
    std::string retry_after{}; ///< the raw `Retry-After` header, empty if absent
};

/// @brief A policy that performs HTTP exchanges for the API client: it takes
/// a move-only handler, called with the response lent, and names an Asio
/// executor.
template <class T>
concept Transport = requires(T& t, http_request req,
                             detail::once_handler_archetype<boost::system::error_code, http_response const&> h) {
    t.async_request(std::move(req), std::move(h));
    { t.get_executor() } -> boost::asio::execution::executor;
};

} // namespace cleori
