#pragma once
// The server every activation-latency client talks to: the same responses
// and the same timing points for cleori and for each baseline.
//
// It serves one activation at a time. T0 is when the server hands the first
// poll response that carries activation i to the kernel (one send; on
// loopback its last byte reaches the client a few microseconds later, the
// same for every client); Tconf is when it has read the whole confirmation
// of i. Clients report when they commanded the
// device (Tset). All three are CLOCK_MONOTONIC, shared by every process.
#include <cleori/api/json.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bench {

inline std::int64_t mono_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

class latency_server {
public:
    struct sample {
        std::int64_t served_ns = 0;    // T0
        std::int64_t confirmed_ns = 0; // Tconf
    };

    explicit latency_server(boost::asio::ssl::context* tls = nullptr)
        : tls_(tls), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        boost::asio::co_spawn(io_, accept_loop(), boost::asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~latency_server() {
        io_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    // Starts a run of n activations, `gap` apart.
    void reset(std::size_t n, std::chrono::milliseconds gap = std::chrono::milliseconds(25)) {
        std::lock_guard lock(m_);
        samples_.assign(n, {});
        next_ = 0;
        due_ns_ = mono_ns();
        gap_ = gap;
    }
    bool done() const {
        std::lock_guard lock(m_);
        return next_ >= samples_.size();
    }
    std::vector<sample> samples() const {
        std::lock_guard lock(m_);
        return samples_;
    }
    std::size_t requests() const {
        std::lock_guard lock(m_);
        return requests_;
    }

private:
    using request = boost::beast::http::request<boost::beast::http::string_body>;
    using response = boost::beast::http::response<boost::beast::http::string_body>;

    boost::asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, s] = co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
            if (ec) co_return;
            s.set_option(boost::asio::ip::tcp::no_delay(true));
            boost::asio::co_spawn(io_, session(std::move(s)), boost::asio::detached);
        }
    }
    boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket s) {
        boost::beast::tcp_stream stream(std::move(s));
        if (tls_) {
            boost::beast::ssl_stream<boost::beast::tcp_stream> t(std::move(stream), *tls_);
            auto [ec] = co_await t.async_handshake(boost::asio::ssl::stream_base::server,
                                                   boost::asio::as_tuple(boost::asio::use_awaitable));
            if (!ec) co_await serve(t);
        } else {
            co_await serve(stream);
        }
    }
    template <class Stream>
    boost::asio::awaitable<void> serve(Stream& stream) {
        namespace http = boost::beast::http;
        using boost::asio::as_tuple;
        using boost::asio::use_awaitable;
        boost::beast::flat_buffer buf;
        for (;;) {
            request req;
            auto [rec, rn] = co_await http::async_read(stream, buf, req, as_tuple(use_awaitable));
            if (rec) co_return;
            auto const read_ns = mono_ns();
            std::optional<std::size_t> carried;
            response res = handle(req, read_ns, carried);
            res.version(11);
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            if (carried) { // T0: the response is handed to the kernel now
                std::lock_guard lock(m_);
                if (samples_[*carried].served_ns == 0) samples_[*carried].served_ns = mono_ns();
            }
            auto [wec, wn] = co_await http::async_write(stream, res, as_tuple(use_awaitable));
            if (wec) co_return;
            if (!req.keep_alive()) co_return;
        }
    }

    static std::string id_of(std::size_t i) { return "act-" + std::to_string(i); }

    response handle(request const& req, std::int64_t now_ns, std::optional<std::size_t>& carried) {
        namespace http = boost::beast::http;
        std::string_view const target(req.target().data(), req.target().size());
        std::lock_guard lock(m_);
        ++requests_;
        response res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        if (target.starts_with("/v1/activations?")) {
            std::string body = R"({"data":[)";
            std::size_t total = 0;
            if (next_ < samples_.size() && now_ns >= due_ns_) {
                // Already started, ends 20 ms later: the client executes at once.
                auto const wall =
                    std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
                cleori::activation a{.id = id_of(next_),
                                     .direction = next_ % 2 ? cleori::mfrr_direction::down : cleori::mfrr_direction::up,
                                     .power = cleori::kilowatts{50.0 + static_cast<double>(next_ % 40)},
                                     .start_time = wall - std::chrono::milliseconds(1),
                                     .end_time = wall + std::chrono::milliseconds(20),
                                     .status = cleori::activation_status::pending};
                cleori::encode_activation(a, body);
                carried = next_;
                total = 1;
            }
            body += R"(],"pagination":{"limit":100,"offset":0,"total":)" + std::to_string(total) + "}}";
            res.body() = std::move(body);
        } else if (target.starts_with("/v1/activations/") && target.ends_with("/confirm")) {
            std::string_view id = target.substr(16, target.size() - 16 - 8);
            if (next_ < samples_.size() && id == id_of(next_)) {
                samples_[next_].confirmed_ns = now_ns;
                ++next_;
                due_ns_ = now_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(gap_).count();
            }
            res.body() = "{}";
        } else {
            res.result(http::status::no_content);
        }
        return res;
    }

    boost::asio::ssl::context* tls_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    mutable std::mutex m_;
    std::vector<sample> samples_;
    std::size_t next_ = 0;
    std::int64_t due_ns_ = 0;
    std::chrono::milliseconds gap_{25};
    std::size_t requests_ = 0;
};

} // namespace bench
