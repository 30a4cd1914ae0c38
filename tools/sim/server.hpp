#pragma once
/// @file
/// @brief `cleori::sim::server` — the simulated Cleori (`sim/market.hpp`) over
/// loopback sockets, plain or TLS, on the real clocks.
///
/// @code
/// asio::io_context io;
/// cleori::sim::server sim{io.get_executor(), {.tokens = {"tok-1"}}};
/// auto port = sim.start().value();                    // ephemeral port on 127.0.0.1
/// sim.add_activation("asset-1", activation);          // or sim.apply(json), POST /sim/activations
/// sim.load_scenario(text);                              // {"actions": [ … ]}, see doc/simulator.md
/// sim.inject({.kind = cleori::sim::fault_kind::status, .status = 503, .retry_after = "1"});
/// std::thread t{[&] { io.run(); }};
/// … run an agent against http://127.0.0.1:<port> …
/// auto report = sim.report();                          // boost::json::value
/// @endcode

#include "sim/market.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <sstream>
#include <string>

namespace cleori::sim {

/// @brief The simulator on sockets. Runs on the executor given; `start()` binds and listens.
class server : public basic_market<real_clock> {
public:
    server(boost::asio::any_io_executor ex, server_options opt)
        : basic_market<real_clock>(ex, opt),
          net_(std::make_shared<net>(ex, std::move(opt), shared_state())) {}
    ~server() { stop(); }

    /// @brief Binds and starts accepting. @return the port, or the bind error.
    result<unsigned short> start() {
        boost::system::error_code ec;
        auto addr = boost::asio::ip::make_address(net_->opt.address, ec);
        if (ec) return ec;
        boost::asio::ip::tcp::endpoint ep{addr, net_->opt.port};
        auto& acc = net_->acceptor;
        acc.open(ep.protocol(), ec);
        if (!ec) acc.set_option(boost::asio::socket_base::reuse_address(true), ec);
        if (!ec) acc.bind(ep, ec);
        if (!ec) acc.listen(boost::asio::socket_base::max_listen_connections, ec);
        if (ec) return ec;
        boost::asio::co_spawn(net_->ex, accept_loop(net_), boost::asio::detached);
        return acc.local_endpoint().port();
    }

    /// @brief Stops as a killed server would: no new connections, and each
    /// open one is dropped, unanswered, at its next request. A new server on
    /// the same port (`server_options::port`) is a restart.
    void stop() {
        boost::asio::post(net_->ex, [s = net_] {
            boost::system::error_code ignored;
            s->acceptor.close(ignored);
            s->stopped = true;
        });
    }

private:
    using market_state = typename basic_market<real_clock>::state;
    struct net {
        net(boost::asio::any_io_executor e, server_options o, std::shared_ptr<market_state> m)
            : ex(std::move(e)), opt(std::move(o)), market(std::move(m)), acceptor(ex) {}
        boost::asio::any_io_executor ex;
        server_options opt;
        std::shared_ptr<market_state> market;
        boost::asio::ip::tcp::acceptor acceptor;
        bool stopped = false;
    };

    static boost::asio::awaitable<void> accept_loop(std::shared_ptr<net> s) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        for (;;) {
            auto [ec, sock] = co_await s->acceptor.async_accept(as_tuple(use_awaitable));
            if (ec) {
                if (s->stopped || ec == boost::asio::error::operation_aborted) co_return;
                continue;
            }
            boost::system::error_code ignored;
            sock.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
            boost::asio::co_spawn(s->ex, session(s, std::move(sock)), boost::asio::detached);
        }
    }

    static boost::asio::awaitable<void> session(std::shared_ptr<net> s, boost::asio::ip::tcp::socket sock) {
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        boost::beast::tcp_stream stream(std::move(sock));
        if (s->opt.tls) {
            boost::beast::ssl_stream<boost::beast::tcp_stream> tls(std::move(stream), *s->opt.tls);
            boost::beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(10));
            auto [ec] = co_await tls.async_handshake(boost::asio::ssl::stream_base::server, as_tuple(use_awaitable));
            if (ec) co_return;
            co_await serve(s, tls);
        } else {
            co_await serve(s, stream);
        }
    }

    template <class Stream>
    static boost::asio::awaitable<void> serve(std::shared_ptr<net> s, Stream& stream) {
        namespace http = boost::beast::http;
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(s->opt.max_request_bytes);
            boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
            if (rec || s->stopped) co_return;
            auto const& req = parser.get();
            auto const auth = req.find(http::field::authorization);
            market_request mreq{std::string_view(req.method_string().data(), req.method_string().size()),
                                std::string_view(req.target().data(), req.target().size()),
                                auth == req.end() ? std::nullopt
                                                  : std::optional<std::string_view>(std::string_view(
                                                        auth->value().data(), auth->value().size())),
                                std::string_view(req.body())};
            market_reply r = s->market->handle(mreq);
            if (r.delay.count() > 0) {
                boost::asio::steady_timer t(s->ex, r.delay);
                co_await t.async_wait(as_tuple(use_awaitable));
            }
            if (r.drop) co_return;
            http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
            if (!r.body.empty()) res.set(http::field::content_type, "application/json");
            if (!r.retry_after.empty()) res.set(http::field::retry_after, r.retry_after);
            res.body() = std::move(r.body);
            res.keep_alive(req.keep_alive() && !r.truncate);
            res.prepare_payload();
            if (r.truncate) {
                // Announce the full length, deliver half, hang up.
                http::response<http::string_body> copy = res;
                copy.body().resize(copy.body().size() / 2);
                copy.set(http::field::content_length, std::to_string(res.body().size()));
                std::ostringstream os;
                os << copy.base() << copy.body();
                std::string const head_and_half = os.str();
                co_await boost::asio::async_write(stream, boost::asio::buffer(head_and_half), as_tuple(use_awaitable));
                co_return;
            }
            auto [wec, wn] = co_await http::async_write(stream, res, as_tuple(use_awaitable));
            if (wec || !res.keep_alive()) co_return;
        }
    }

    std::shared_ptr<net> net_;
};

} // namespace cleori::sim
