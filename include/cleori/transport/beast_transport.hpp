#pragma once
/// @file
/// @brief `cleori::beast_transport` — the Boost.Beast model of `Transport`:
/// HTTP/1.1 over one keep-alive connection, TLS through OpenSSL with
/// certificate verification, host-name verification and SNI on by default,
/// TCP_NODELAY, a timeout per exchange, a response size limit and automatic
/// reconnection.
///
/// Requests are served in order over the connection; many assets (each with
/// its own token) share it. Plain `http://` is accepted only for loopback
/// hosts unless `allow_insecure_http` is set. TLS below 1.2 is refused.
///
/// @code
/// asio::io_context io;
/// cleori::beast_transport t{io.get_executor(), "https://api.example.test",
///                           {.ca_file = "/etc/cleori/ca.pem"}};
/// t.async_request({.method = cleori::http_method::get, .target = "/v1/activations", .bearer_token = token},
///                 [](boost::system::error_code ec, cleori::http_response const& r) { … });
/// @endcode

#include <cleori/detail/append.hpp>
#include <cleori/detail/byte_set.hpp>
#include <cleori/detail/fifo.hpp>
#include <cleori/detail/handler_pool.hpp>
#include <cleori/error.hpp>
#include <cleori/transport/http.hpp>
#include <cleori/transport/url.hpp>
#include <cleori/version.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <charconv>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cleori {

/// @brief Settings of a `beast_transport`.
struct transport_options {
    std::size_t max_response_bytes = 4 * 1024 * 1024; ///< larger bodies fail with `response_too_large`
    bool allow_insecure_http = false; ///< permit plain http:// to a non-loopback host
    std::string ca_file{};              ///< PEM trust anchors; empty: the system's default paths
    std::string user_agent = "cleori/" CLEORI_VERSION_STRING;
};

namespace detail {

// Beast's read errors in cleori's words (shared with the HTTP fuzz target).
inline boost::system::error_code map_http_error(boost::system::error_code ec) {
    if (ec == boost::beast::error::timeout) return error::timeout;
    if (ec == boost::beast::http::error::body_limit || ec == boost::beast::http::error::buffer_overflow ||
        ec == boost::beast::http::error::header_limit)
        return error::response_too_large;
    if (ec == boost::beast::http::error::end_of_stream || ec == boost::asio::error::eof ||
        ec == boost::beast::http::error::partial_message || ec == boost::asio::ssl::error::stream_truncated)
        return error::connection_closed;
    return ec;
}

// Parses a response straight into an `http_response`: the status, the
// `Retry-After` value and the body are kept, every other field is looked at
// and dropped. Beast's `response_parser` would allocate a node per field and
// the reason phrase; this one allocates only when the body outgrows the
// string's capacity (a 204 or a short body: never).
class response_reader final : public boost::beast::http::basic_parser<false> {
public:
    response_reader(http_response& out, std::size_t body_limit) : out_(out) {
        this->body_limit(body_limit);
        out_.status = 0;
        out_.body.clear();
        out_.retry_after.clear();
    }

private:
    using string_view = boost::beast::string_view;
    void on_request_impl(boost::beast::http::verb, string_view, string_view, int, boost::system::error_code&) override {}
    void on_response_impl(int code, string_view, int, boost::system::error_code&) override {
        out_.status = static_cast<unsigned>(code);
    }
    void on_field_impl(boost::beast::http::field f, string_view, string_view value, boost::system::error_code&) override {
        // The first one counts, as Beast's fields::find would have it.
        if (f == boost::beast::http::field::retry_after && !seen_retry_after_) {
            out_.retry_after.assign(value.data(), value.size());
            seen_retry_after_ = true;
        }
    }
    void on_header_impl(boost::system::error_code&) override {}
    void on_body_init_impl(boost::optional<std::uint64_t> const& length, boost::system::error_code&) override {
        // basic_parser has already refused a length above the body limit.
        if (length) out_.body.reserve(static_cast<std::size_t>(*length));
    }
    std::size_t on_body_impl(string_view body, boost::system::error_code&) override {
        out_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, boost::system::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, boost::system::error_code&) override {
        out_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(boost::system::error_code&) override {}

    http_response& out_;
    bool seen_retry_after_ = false;
};

// A byte that may not appear where it is about to be written: any control
// character, and, in the request-target and the token, the space as well
// (it would end the request line, or the credentials).
constexpr bool forbidden_in_request(unsigned char c, bool space_allowed) noexcept {
    return c < 0x20 ? !(space_allowed && c == '\t') : c == 0x7f || (c == ' ' && !space_allowed);
}
// Every request checks its target and token, byte by byte: a table lookup
// per byte.
template <bool SpaceAllowed>
inline constexpr byte_set forbidden_bytes =
    make_byte_set([](unsigned char c) { return forbidden_in_request(c, SpaceAllowed); });
constexpr bool valid_request_field(std::string_view v, bool space_allowed) noexcept {
    return !contains_any(v, space_allowed ? forbidden_bytes<true> : forbidden_bytes<false>);
}

// Whether `req` can be written as it is: no value in it could split the
// request line or the header. The User-Agent is checked once, when the
// transport is made.
constexpr bool valid_request(http_request const& req) noexcept {
    return valid_request_field(req.target, false) && valid_request_field(req.bearer_token, false);
}

// The request line and header of `req`, into `out` (cleared first; its
// capacity is kept from one request to the next). Precondition:
// `valid_request(req)` and `valid_request_field(user_agent, true)`.
inline void write_request_head(std::string& out, http_request const& req, std::string_view prefix,
                               std::string_view host, std::string_view user_agent) {
    out.clear();
    append_all(out, to_string(req.method), " ", prefix, req.target, " HTTP/1.1\r\nHost: ", host,
               "\r\nUser-Agent: ", user_agent, "\r\nAccept: application/json\r\n");
    if (!req.bearer_token.empty()) append_all(out, "Authorization: Bearer ", req.bearer_token, "\r\n");
    if (req.method != http_method::get) {
        char length[24];
        auto const end = std::to_chars(std::begin(length), std::end(length), req.body.size()).ptr;
        append_all(out, "Content-Type: application/json\r\nContent-Length: ",
                   std::string_view(length, static_cast<std::size_t>(end - length)), "\r\n");
    }
    out.append("\r\n", 2);
}

// Move-only, so Asio's own handlers (use_awaitable, deferred…) fit.
using response_handler = boost::asio::any_completion_handler<void(boost::system::error_code, http_response const&)>;

// The state lives in a shared object that every pending operation's handler
// keeps alive, so destroying the transport mid-exchange cancels instead of
// leaving a handler with a dangling `this`. An exchange is a chain of
// callbacks (resolve, connect, handshake, write, read), one deadline timer
// per exchange; the next queued request starts when the previous handler
// has run.
//
// A template only so that the exchange, Asio's composed operations for both
// the plain and the TLS stream, is instantiated in the translation units that
// send requests, not in every one that includes this header.
template <class Lazy = void>
class basic_beast_transport_impl : public std::enable_shared_from_this<basic_beast_transport_impl<Lazy>> {
public:
    using executor_type = boost::asio::any_io_executor;

    basic_beast_transport_impl(executor_type ex, std::string_view base, transport_options opt)
        : ex_(std::move(ex)), opt_(std::move(opt)), ssl_ctx_(boost::asio::ssl::context::tls_client) {
        auto u = parse_base_url(base);
        if (!u) {
            config_error_ = u.error();
            return;
        }
        url_ = std::move(*u);
        host_header_ = host_header(url_);
        if (!url_.tls && !opt_.allow_insecure_http && !is_loopback_host(url_.host)) {
            config_error_ = error::insecure_url;
            return;
        }
        if (!valid_request_field(opt_.user_agent, true)) {
            config_error_ = error::invalid_request_field;
            return;
        }
        if (url_.tls) configure_tls();
    }

    boost::system::error_code config_error() const noexcept { return config_error_; }
    base_url const& url() const noexcept { return url_; }
    executor_type get_executor() const noexcept { return ex_; }
    std::size_t connections_opened() const noexcept { return connections_opened_; }

    void enqueue(http_request const& req, response_handler handler) {
        // The timeout runs from now: time spent queued behind another
        // exchange counts, so a caller's deadline holds.
        auto const deadline = std::chrono::steady_clock::now() + req.timeout;
        // The request is borrowed for this call only: its bytes are written
        // now, into a buffer that a finished exchange gave back.
        std::string wire;
        if (!spare_wires_.empty()) {
            wire = std::move(spare_wires_.back());
            spare_wires_.pop_back();
        }
        bool const refused = !valid_request(req);
        if (!refused) {
            write_request_head(wire, req, url_.prefix, host_header_, opt_.user_agent);
            if (req.method != http_method::get) wire.append(req.body);
        }
        queue_.push(job{std::move(wire), std::move(handler), deadline, refused});
        if (!current_) {
            struct restore {
                bool& flag;
                bool outer;
                ~restore() { flag = outer; }
            } const r{initiating_, std::exchange(initiating_, true)};
            next();
        }
    }

    void shut_down() {
        stopped_ = true;
        close();
    }

    void close() {
        if (!in_exchange_) {
            drop_connection();
            return;
        }
        // An operation is pending on the stream and uses it (and the buffer)
        // until it completes: closing the socket makes it complete with
        // operation_aborted, and the exchange drops the connection then.
        closing_ = true;
        resolver_.cancel();
        if (connected()) {
            boost::system::error_code ignored;
            tcp().close(ignored);
        }
    }

private:
    struct job {
        std::string wire; // the request head and body, as they go out
        response_handler handler;
        std::chrono::steady_clock::time_point deadline;
        bool refused = false; // a value in it could split the request
    };

    void configure_tls() {
        auto* ctx = ssl_ctx_.native_handle();
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        ssl_ctx_.set_verify_mode(boost::asio::ssl::verify_peer);
        boost::system::error_code ec;
        if (opt_.ca_file.empty()) ssl_ctx_.set_default_verify_paths(ec);
        else ssl_ctx_.load_verify_file(opt_.ca_file, ec);
        if (ec) config_error_ = ec;
    }

    // Starts the oldest queued exchange, or finishes at once those that
    // cannot start, until one is under way or the queue is empty.
    void next() {
        while (!current_) {
            auto j = queue_.pop();
            if (!j) return;
            current_.emplace(std::move(*j));
            if (stopped_) finish(boost::asio::error::operation_aborted);
            else if (config_error_) finish(config_error_);
            // Refused before any I/O: a bad value is no reason to open, or drop, a connection.
            else if (current_->refused) finish(error::invalid_request_field);
            // Expired while queued (behind a stalled exchange, say): each is
            // finished here, in this loop, however many there are.
            else if (std::chrono::steady_clock::now() >= current_->deadline) finish(error::timeout);
            else {
                reused_ = connected(); // kept alive from an earlier exchange
                begin();
            }
        }
    }

    // Completes the current exchange; the caller goes on with the queue.
    // The handler never runs inside the `async_request` that queued it, and
    // handlers run in the order their requests were queued.
    void finish(boost::system::error_code ec) {
        if (stopped_ && !ec) ec = boost::asio::error::operation_aborted;
        job j = std::move(*current_);
        current_.reset();
        in_exchange_ = false;
        timed_out_ = false;
        deadline_timer_.cancel();
        if (spare_wires_.size() < max_spare_wires) {
            j.wire.clear();
            spare_wires_.push_back(std::move(j.wire));
        }
        if (initiating_) {
            http_response r = ec ? http_response{} : std::move(response_);
            boost::asio::post(ex_, [h = std::move(j.handler), ec, r = std::move(r)]() mutable {
                std::move(h)(ec, std::as_const(r));
            });
            return;
        }
        if (ec) return std::move(j.handler)(ec, http_response{});
        // Lent: the next exchange, which the handler may start, reads into
        // the other buffer.
        std::swap(lent_, response_);
        std::move(j.handler)(ec, std::as_const(lent_));
    }

    // The current exchange is over: its handler first, then the next one,
    // even when the handler throws (the other requests queued on this
    // connection are not its to stall).
    void finish_and_go_on(boost::system::error_code ec) {
        try {
            finish(ec);
        } catch (...) {
            next();
            throw;
        }
        next();
    }

    // What every handler of the transport's own operations carries: the
    // transport, kept alive, and two associations. It names the transport's
    // executor, so that Beast's operations, which otherwise associate a
    // work-tracking copy of it, complete without a dispatch (and its
    // allocation) through the polymorphic executor; its operations' memory
    // comes from the thread's handler pool.
    struct bound_handler {
        using executor_type = boost::asio::any_io_executor;
        using allocator_type = pooled_allocator<void>;
        std::shared_ptr<basic_beast_transport_impl> self;
        executor_type get_executor() const noexcept { return self->ex_; }
        allocator_type get_allocator() const noexcept { return {}; }
    };

    // The handler for one step of the current exchange; a close() voids even
    // a success already queued.
    template <class... Args>
    struct step_handler : bound_handler {
        void (basic_beast_transport_impl::*on)(boost::system::error_code, Args...);
        void operator()(boost::system::error_code ec, Args... args) {
            auto& t = *this->self;
            // A success that was already queued when the deadline passed
            // stands; a failure caused by the deadline's cancel is a timeout.
            if (t.closing_) ec = boost::asio::error::operation_aborted;
            else if (t.timed_out_ && ec) ec = error::timeout;
            (t.*on)(ec, std::forward<Args>(args)...);
        }
    };
    template <class... Args>
    step_handler<Args...> step(void (basic_beast_transport_impl::*on)(boost::system::error_code, Args...)) {
        return {{this->shared_from_this()}, on};
    }

    // When the deadline passes, the pending operation is cancelled (the
    // connection or the resolver closed) and fails with `timeout`.
    struct deadline_handler : bound_handler {
        std::uint64_t exchange;
        void operator()(boost::system::error_code ec) {
            auto& t = *this->self;
            if (ec || exchange != t.exchange_ || !t.in_exchange_) return; // re-armed or cancelled
            t.timed_out_ = true;
            t.resolver_.cancel();
            if (t.connected()) {
                boost::system::error_code ignored;
                t.tcp().close(ignored);
            }
        }
    };

    void begin() {
        in_exchange_ = true;
        timed_out_ = false;
        deadline_timer_.expires_at(current_->deadline);
        deadline_timer_.async_wait(deadline_handler{{this->shared_from_this()}, ++exchange_});
        if (connected()) return write();
        resolver_.async_resolve(url_.host, url_.port, step(&basic_beast_transport_impl::on_resolved));
    }

    void on_resolved(boost::system::error_code ec, boost::asio::ip::tcp::resolver::results_type endpoints) {
        if (ec) return failed(ec);
        // The stream is a member from the start, so that close() reaches the connect too.
        if (url_.tls) {
            tls_.emplace(ex_, ssl_ctx_);
            // Asio frees OpenSSL's record buffers whenever a connection is
            // idle, so every request would allocate them again; a client
            // that keeps one connection keeps its buffers too.
            SSL_clear_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
        } else plain_.emplace(ex_);
        boost::asio::async_connect(tcp(), endpoints, step(&basic_beast_transport_impl::on_connected));
    }

    void on_connected(boost::system::error_code ec, boost::asio::ip::tcp::endpoint const&) {
        if (ec) return failed(ec);
        ++connections_opened_;
        boost::system::error_code ignored;
        tcp().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
        if (!url_.tls) return write();
        // SNI, unless the host is an IP literal (RFC 6066 forbids those)
        boost::system::error_code addr_ec;
        boost::asio::ip::make_address(url_.host, addr_ec);
        if (addr_ec && !SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str()))
            return failed(boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                                    boost::asio::error::get_ssl_category()));
        // OpenSSL's own host check (not a verify callback), so that a
        // mismatch is reported as such by SSL_get_verify_result.
        X509_VERIFY_PARAM* param = SSL_get0_param(tls_->native_handle());
        int const host_ok = addr_ec ? X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0)
                                    : X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
        if (host_ok != 1) return failed(error::invalid_url);
        tls_->async_handshake(boost::asio::ssl::stream_base::client, step(&basic_beast_transport_impl::on_handshake));
    }

    void on_handshake(boost::system::error_code ec) {
        if (ec) return failed(tls_error(ec, SSL_get_verify_result(tls_->native_handle())));
        write();
    }

    void write() {
        auto const request = boost::asio::buffer(current_->wire);
        parser_.emplace(response_, opt_.max_response_bytes);
        if (tls_) boost::asio::async_write(*tls_, request, step(&basic_beast_transport_impl::on_written));
        else boost::asio::async_write(*plain_, request, step(&basic_beast_transport_impl::on_written));
    }

    void on_written(boost::system::error_code ec, std::size_t) {
        if (ec) return failed(ec);
        if (tls_) boost::beast::http::async_read(*tls_, buffer_, *parser_, step(&basic_beast_transport_impl::on_read));
        else boost::beast::http::async_read(*plain_, buffer_, *parser_, step(&basic_beast_transport_impl::on_read));
    }

    void on_read(boost::system::error_code ec, std::size_t) {
        if (ec) return failed(ec);
        bool const keep = parser_->keep_alive();
        parser_.reset();
        if (!keep || timed_out_) drop_connection(); // the deadline closed the socket
        finish_and_go_on({});
    }

    // A step failed: the connection goes. A keep-alive connection the server
    // closed while idle fails on first use; that is no failure of the
    // request, so it is tried once more on a new connection. An exchange
    // aborted by close(), timed out or refused as too large stays failed.
    void failed(boost::system::error_code raw) {
        parser_.reset();
        drop_connection();
        auto const ec = map_http_error(raw);
        if (reused_ && !stopped_ && ec != error::timeout && ec != error::response_too_large &&
            ec != boost::asio::error::operation_aborted) {
            reused_ = false;
            if (std::chrono::steady_clock::now() >= current_->deadline) return finish_and_go_on(error::timeout);
            return begin();
        }
        finish_and_go_on(ec);
    }

    bool connected() const noexcept { return tls_.has_value() || plain_.has_value(); }

    // Only when no operation is pending on the connection.
    void drop_connection() {
        closing_ = false;
        buffer_.clear(); // bytes of a broken exchange must not prefix the next response
        if (tls_) {
            boost::system::error_code ignored;
            boost::beast::get_lowest_layer(*tls_).close(ignored);
            tls_.reset();
        }
        if (plain_) {
            boost::system::error_code ignored;
            plain_->close(ignored);
            plain_.reset();
        }
    }

    boost::asio::ip::tcp::socket& tcp() { return tls_ ? boost::beast::get_lowest_layer(*tls_) : *plain_; }

    // A handshake failure, named by what the certificate check found.
    static boost::system::error_code tls_error(boost::system::error_code ec, long verify_result) {
        if (ec.category() != boost::asio::error::get_ssl_category()) return ec;
        switch (verify_result) {
        case X509_V_OK: return error::tls_handshake_failed;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID: return error::tls_certificate_expired;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH: return error::tls_host_name_mismatch;
        default: return error::tls_untrusted_certificate;
        }
    }

    executor_type ex_;
    transport_options opt_;
    boost::asio::ssl::context ssl_ctx_;
    base_url url_;
    std::string host_header_; // host[:port], as the Host header wants it
    boost::system::error_code config_error_;
    boost::asio::ip::tcp::resolver resolver_{ex_};
    std::optional<boost::asio::ip::tcp::socket> plain_;
    std::optional<boost::beast::ssl_stream<boost::asio::ip::tcp::socket>> tls_;
    // The current exchange's deadline, one wait per exchange. (Beast's
    // tcp_stream would arm a timer per read and write, each wait allocated
    // outside the handler pool.)
    boost::asio::steady_timer deadline_timer_{ex_};
    std::uint64_t exchange_ = 0; // numbers the deadline waits: an old one is ignored
    bool timed_out_ = false;     // the deadline passed: the pending operation was cancelled for it
    boost::beast::flat_buffer buffer_;
    // Request buffers of finished exchanges, for the next ones to write into.
    static constexpr std::size_t max_spare_wires = 16;
    std::vector<std::string> spare_wires_;
    fifo<job> queue_;
    std::optional<job> current_;                  // the exchange under way
    std::optional<response_reader> parser_;       // of the current response
    http_response response_;                      // the current response, read into
    http_response lent_;                          // the last one, lent to its handler
    bool initiating_ = false;  // inside async_request: a handler that completes now is posted
    bool reused_ = false;      // the current attempt runs on a connection kept alive from an earlier exchange
    bool in_exchange_ = false; // an operation of the current exchange is pending, on the connection or the resolver
    bool closing_ = false;     // close() came during the exchange: it fails and drops the connection
    bool stopped_ = false;
    std::size_t connections_opened_ = 0;
};

} // namespace detail

/// @brief HTTP/1.1 (+TLS) transport on Boost.Beast. Not thread-safe: use it
/// from the thread running its executor (or through a strand); only
/// `get_executor()` may be called from any thread.
///
/// Destroying it cancels the exchange in progress; queued handlers are then
/// called with `asio::error::operation_aborted`.
///
/// Name it as `cleori::beast_transport`. A class template only so that its
/// connection and TLS code is compiled where a transport is made, not in
/// every translation unit that includes the header; `Lazy` has no other role.
template <class Lazy = void>
class basic_beast_transport {
public:
    using executor_type = boost::asio::any_io_executor;

    /// @param base the Cleori base URL, e.g. `https://host[:port][/prefix]`
    /// (problems are reported by `config_error()` and by every request).
    basic_beast_transport(executor_type ex, std::string_view base, transport_options opt = {})
        : impl_(std::make_shared<impl>(std::move(ex), base, std::move(opt))) {}
    basic_beast_transport(basic_beast_transport const&) = delete;
    basic_beast_transport& operator=(basic_beast_transport const&) = delete;
    ~basic_beast_transport() { impl_->shut_down(); }

    /// @brief The configuration problem (`invalid_url`, `insecure_url`, an
    /// unreadable CA file), if any.
    [[nodiscard]] boost::system::error_code config_error() const noexcept { return impl_->config_error(); }
    /// @brief The parsed base URL.
    [[nodiscard]] base_url const& url() const noexcept { return impl_->url(); }
    [[nodiscard]] executor_type get_executor() const noexcept { return impl_->get_executor(); }
    /// @brief Connections opened so far (1 for a healthy keep-alive session).
    [[nodiscard]] std::size_t connections_opened() const noexcept { return impl_->connections_opened(); }

    /// @brief Queues a copy of `req`; calls `handler(error_code, http_response const&)`
    /// exactly once, on the executor, the response lent for the call. Errors: `timeout`, `connection_closed`,
    /// `response_too_large`, Asio socket errors, `asio.ssl` errors for TLS
    /// verification failures.
    template <class Handler>
    void async_request(http_request req, Handler&& handler) {
        impl_->enqueue(std::move(req), detail::response_handler(
                                           std::forward<Handler>(handler)));
    }

    /// @brief Closes the current connection (the next request opens a new one).
    /// An exchange in progress fails with `asio::error::operation_aborted`.
    void close() { impl_->close(); }

private:
    using impl = detail::basic_beast_transport_impl<Lazy>;
    std::shared_ptr<impl> impl_;
};

using beast_transport = basic_beast_transport<>;

// test/static/policies.cpp checks that beast_transport models Transport, once,
// instead of every translation unit that includes this header (the check
// instantiates the transport's request path).

} // namespace cleori
