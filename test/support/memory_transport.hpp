#pragma once
// An in-memory Transport for unit tests of pure logic: every request is
// recorded and answered by a handler the test supplies, completing through
// asio::post like a real transport. The exemplar of doc/concepts/Transport.md.
#include <cleori/transport/http.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <utility>
#include <vector>

namespace cleori::test {

class memory_transport {
public:
    using executor_type = boost::asio::any_io_executor;
    using responder = std::function<std::pair<boost::system::error_code, http_response>(http_request const&)>;

    explicit memory_transport(executor_type ex, responder r = {}) : ex_(std::move(ex)), respond_(std::move(r)) {}

    template <class Handler>
    void async_request(http_request req, Handler&& handler) {
        requests.push_back(req);
        auto answer = respond_ ? respond_(req) : std::pair{boost::system::error_code{}, http_response{204, {}, {}}};
        boost::asio::post(ex_, [h = std::forward<Handler>(handler), a = std::move(answer)]() mutable {
            std::move(h)(a.first, std::move(a.second));
        });
    }
    executor_type get_executor() const { return ex_; }
    void respond_with(responder r) { respond_ = std::move(r); }

    std::vector<http_request> requests; // every request, in order

private:
    executor_type ex_;
    responder respond_;
};

static_assert(Transport<memory_transport>);

} // namespace cleori::test
