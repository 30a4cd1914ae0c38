#pragma once
// A simulator on an ephemeral loopback port with a transport and an API client
// pointed at it, and helpers that run the io_context until a result arrives.
#include <cleori/client/api_client.hpp>
#include "sim/server.hpp"
#include <cleori/transport/beast_transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace cleori::test {

inline constexpr const char* token = "secret-token-asset-1";
inline constexpr const char* token2 = "secret-token-asset-2";

inline timestamp wall_now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// A number from the simulator's JSON report.
inline double number(boost::json::value const& v) { return v.to_number<double>(); }

// Runs `io` until `done()`; bounded, so a hang fails instead of blocking.
template <class Done>
void drive(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    io.restart();
    auto const until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) io.run_one_for(std::chrono::milliseconds(100));
}

// Runs `io` for `d` of real time (agents on the real clock).
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
    auto const until = std::chrono::steady_clock::now() + d;
    io.restart();
    while (std::chrono::steady_clock::now() < until) io.run_one_until(until);
}

struct sim_fixture {
    boost::asio::io_context io;
    sim::server sim{io.get_executor(), {.tokens = {token, token2}}};
    unsigned short port = sim.start().value();
    beast_transport transport{io.get_executor(), "http://127.0.0.1:" + std::to_string(port)};
    // fast retries so the suite stays quick; the strategies are tested in test/retry
    basic_api_client<beast_transport> client{
        transport, default_retry{exponential_backoff{{.base = std::chrono::milliseconds(10),
                                                      .cap = std::chrono::milliseconds(50),
                                                      .max_attempts = 4}}}};

    template <class Done>
    void drive(Done done, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
        test::drive(io, std::move(done), limit);
    }
    // Runs an awaitable to completion and returns its result.
    template <class Awaitable>
    auto await(Awaitable a) {
        using value = typename Awaitable::value_type;
        std::optional<value> out;
        boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, value v) {
            if (e) std::rethrow_exception(e);
            out.emplace(std::move(v));
        });
        drive([&] { return out.has_value(); });
        if (!out) throw std::runtime_error("timed out waiting for a result");
        return std::move(*out);
    }
    // One raw exchange through `t` (default: the fixture's transport).
    std::pair<boost::system::error_code, http_response> exchange(http_request req, beast_transport* t = nullptr) {
        std::optional<std::pair<boost::system::error_code, http_response>> out;
        (t ? *t : transport).async_request(std::move(req), [&](boost::system::error_code ec, http_response const& r) {
            out.emplace(ec, r);
        });
        drive([&] { return out.has_value(); });
        if (!out) throw std::runtime_error("timed out waiting for a response");
        return std::move(*out);
    }
    void run_for(std::chrono::milliseconds d) { test::run_for(io, d); }
    static auto deadline(std::chrono::milliseconds d = std::chrono::seconds(5)) {
        return std::chrono::steady_clock::now() + d;
    }
};

} // namespace cleori::test
