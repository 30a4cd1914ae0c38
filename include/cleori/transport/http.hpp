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
/// | `t.async_request(req, h)` | sends `req`, calls the move-only `h(error_code, http_response)` once on the transport's executor |
/// | `t.get_executor()` | an Asio executor: the one completions run on |
///
/// See doc/concepts/Transport.md.

#include <cleori/detail/handler_archetype.hpp>

#include <boost/asio/execution/executor.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <concepts>
#include <string>
#include <utility>

namespace cleori {

/// @brief One request to the Cleori API. The token is sent as
/// `Authorization: Bearer …` and nowhere else: never logged, never in errors.
struct http_request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string target{};       ///< path and query, e.g. `/v1/activations?limit=100&offset=0`
    std::string body{};         ///< JSON, empty for GET
    std::string bearer_token{}; ///< the asset's token
    std::chrono::milliseconds timeout{5000}; ///< for the whole exchange from the call, queueing and connection included
};

/// @brief What came back.
struct http_response {
    unsigned status = 0;
    std::string body{};
    std::string retry_after{}; ///< the raw `Retry-After` header, empty if absent
};

/// @brief A policy that performs HTTP exchanges for the API client: it takes
/// a move-only handler and names an Asio executor.
template <class T>
concept Transport = requires(T& t, http_request req,
                             detail::once_handler_archetype<boost::system::error_code, http_response> h) {
    t.async_request(std::move(req), std::move(h));
    { t.get_executor() } -> boost::asio::execution::executor;
};

} // namespace cleori
