#pragma once
/// @file
/// @brief `cleori::testing::memory_transport` — a `Transport` without sockets,
/// for testing your own policies (a device, a store, a retry strategy, a
/// profile) against a whole agent, as `beast::test::stream` lets you test
/// code written for a socket.
///
/// Every request is recorded and answered by a function you supply; the
/// answer completes through `asio::post` on the transport's executor, never
/// inline, as a real transport's would. With `cleori::manual_clock` and a
/// responder such as `cleori::testing::fake_cleori`
/// (`<cleori/testing/fake_cleori.hpp>`) an hour of an agent's life runs in
/// milliseconds, deterministically.
///
/// @code
/// asio::io_context io;
/// cleori::manual_clock clock;
/// cleori::testing::fake_cleori cleori{clock};                  // token "token-A"
/// cleori::testing::memory_transport transport{io.get_executor(), std::ref(cleori)};
/// my_battery battery;
/// struct virtual_time : cleori::default_policies { using clock = cleori::manual_clock; };
/// cleori::basic_agent<my_battery, cleori::testing::memory_transport, virtual_time> agent{
///     battery, transport, {.token = "token-A"}, clock};
/// agent.start();
/// clock.run_for(io, std::chrono::minutes(10));
/// assert(cleori.polls.size() >= 100);                           // every 5 s
/// @endcode
///
/// The responder returns `{error_code, http_response}`: a non-zero error code
/// is a failed exchange (e.g. `asio::error::connection_refused`), otherwise
/// the response is delivered whatever its status. No responder: every request
/// gets 204. See doc/testing.md.

#include <cleori/transport/http.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <utility>
#include <vector>

namespace cleori::testing {

/// @brief The in-memory transport. Not thread-safe: use it on its executor's thread
/// (`get_executor()` excepted, as the `Transport` concept asks).
class memory_transport {
public:
    using executor_type = boost::asio::any_io_executor;
    /// @brief Answers one request.
    using responder = std::function<std::pair<boost::system::error_code, http_response>(http_request const&)>;

    explicit memory_transport(executor_type ex, responder r = {}) : ex_(std::move(ex)), respond_(std::move(r)) {}

    /// @brief Records a copy of `req`, asks the responder, and completes
    /// `handler` through the executor (the response lent for the call).
    template <class Handler>
    void async_request(http_request req, Handler&& handler) {
        requests.emplace_back(req);
        auto answer = respond_ ? respond_(req) : std::pair{boost::system::error_code{}, http_response{204, {}, {}}};
        boost::asio::post(ex_, [h = std::forward<Handler>(handler), a = std::move(answer)]() mutable {
            std::move(h)(a.first, std::as_const(a.second));
        });
    }
    [[nodiscard]] executor_type get_executor() const { return ex_; }
    /// @brief Replaces the responder (for the requests that follow).
    void respond_with(responder r) { respond_ = std::move(r); }

    /// @brief Every request, in order, copied (tokens included: keep them out of test output).
    std::vector<owned_http_request> requests;

private:
    executor_type ex_;
    responder respond_;
};

static_assert(Transport<memory_transport>);

} // namespace cleori::testing
