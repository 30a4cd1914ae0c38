#pragma once
/// @file
/// @brief `cleori::modbus::client` — an asynchronous Modbus TCP client on Asio:
/// MBAP framing, function codes 3, 4, 6 and 16, exception responses as
/// `cleori::modbus::errc`, transaction ids, a timeout per request, reconnection,
/// and one connection shared by every device behind a gateway (one unit id each).
///
/// @code
/// boost::asio::io_context io;
/// cleori::modbus::client plc{io.get_executor(), "192.168.1.20", "502"};
/// plc.async_read_input_registers(1, 0, 3, [](boost::system::error_code ec, cleori::modbus::register_block b) {
///     if (!ec) std::printf("SoC %.1f %%\n", b[2] / 10.0);
/// });
/// auto [ec] = co_await plc.async_write_single_register(1, 102, 7, boost::asio::as_tuple(boost::asio::use_awaitable));
/// @endcode
///
/// Operations take any Asio completion token (a callback, `use_future`,
/// `use_awaitable`, `deferred`, `as_tuple(…)`), with the signatures
/// `void(error_code, register_block)` for reads and `void(error_code)` for
/// writes. Completions are posted, never invoked inside the initiating call.
///
/// Behaviour:
/// - Requests are sent one at a time in the order they were made, each with a
///   new transaction id: Modbus gateways and most PCS controllers serve one
///   request per connection at a time. A frame whose transaction id is not the
///   awaited one (a late answer, a confused server) is skipped and counted in
///   `client_stats::stale_frames`.
/// - `client_options::request_timeout` counts from the call, so time spent
///   waiting behind other requests counts too; a request that times out
///   closes the connection (its answer could still arrive and desynchronise
///   the stream) and the next request connects again.
/// - The connection is opened by the first request and again by the first one
///   after it broke. A request that meets a connection the server has closed
///   since the last answer (no byte of its answer received) is sent once more
///   on a new connection: functions 3, 4, 6 and 16 write absolute values, so
///   sending one twice does no harm.
/// - Not thread-safe: start operations on the thread that runs the executor
///   (as with the agent). Destroying the client aborts what is pending with
///   `boost::asio::error::operation_aborted`.
///
/// Why not libmodbus: its calls block, so a fleet would need a thread per
/// device; this client serves any number of connections on one thread.

#include <cleori/modbus/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>

namespace cleori::modbus {

/// @brief Up to 125 registers as read, by value (no allocation, safe to keep).
struct register_block {
    static constexpr std::size_t capacity = 125;
    std::array<std::uint16_t, capacity> words{};
    std::uint16_t count = 0;

    [[nodiscard]] std::span<std::uint16_t const> span() const noexcept { return {words.data(), count}; }
    [[nodiscard]] std::size_t size() const noexcept { return count; }
    [[nodiscard]] std::uint16_t operator[](std::size_t i) const noexcept { return words[i]; }
};

/// @brief Which register table a point lives in.
enum class register_kind {
    holding, ///< read with function 3, written with 6 or 16
    input,   ///< read-only, function 4
};

/// @brief Settings of a client.
struct client_options {
    /// Time from the call to the complete answer, connecting included.
    std::chrono::milliseconds request_timeout{1000};
    /// Requests waiting behind the one on the wire; more fail with `errc::queue_full`.
    std::size_t max_queue = 1024;
};

/// @brief What a client has done since it was made.
struct client_stats {
    std::uint64_t requests = 0;         ///< operations started
    std::uint64_t answered = 0;         ///< completed with a valid answer (exceptions included)
    std::uint64_t exceptions = 0;       ///< exception responses
    std::uint64_t timeouts = 0;         ///< requests that timed out
    std::uint64_t connects = 0;         ///< connections opened
    std::uint64_t connect_failures = 0; ///< resolves or connects that failed
    std::uint64_t resent = 0;           ///< requests sent again on a new connection
    std::uint64_t stale_frames = 0;     ///< frames skipped for a transaction id not awaited
};

/// @brief An asynchronous Modbus TCP client for one server (a PCS, a BMS or a gateway).
class client {
public:
    using executor_type = boost::asio::any_io_executor;

    /// @brief A client for `host`:`port` (a name or an address; port usually "502").
    /// Nothing is connected until the first request.
    client(executor_type ex, std::string host, std::string port, client_options options = {})
        : impl_(std::make_shared<impl>(std::move(ex), std::move(host), std::move(port), options)) {}
    client(client const&) = delete;
    client& operator=(client const&) = delete;
    ~client() { impl_->close(); }

    [[nodiscard]] executor_type get_executor() const noexcept { return impl_->executor; }
    [[nodiscard]] client_stats const& stats() const noexcept { return impl_->stats; }
    /// @brief Counts connections opened: a device that must set something up
    /// once per connection compares it with the value it last saw.
    [[nodiscard]] std::uint64_t connection_generation() const noexcept { return impl_->stats.connects; }
    [[nodiscard]] std::string const& host() const noexcept { return impl_->host; }
    [[nodiscard]] std::string const& port() const noexcept { return impl_->port; }

    /// @brief Closes the connection and aborts every pending request; later
    /// requests fail with `operation_aborted` (a closed client stays closed).
    void close() { impl_->close(); }

    /// @brief Function 3: reads `count` (1–125) holding registers from `address` of `unit`.
    template <class Token>
    auto async_read_holding_registers(std::uint8_t unit, std::uint16_t address, std::uint16_t count, Token&& token) {
        return async_read(register_kind::holding, unit, address, count, std::forward<Token>(token));
    }
    /// @brief Function 4: reads `count` (1–125) input registers from `address` of `unit`.
    template <class Token>
    auto async_read_input_registers(std::uint8_t unit, std::uint16_t address, std::uint16_t count, Token&& token) {
        return async_read(register_kind::input, unit, address, count, std::forward<Token>(token));
    }
    /// @brief Function 3 or 4, by `kind`.
    template <class Token>
    auto async_read(register_kind kind, std::uint8_t unit, std::uint16_t address, std::uint16_t count, Token&& token) {
        return initiate_read(impl_, impl_->executor, kind, unit, address, count, std::forward<Token>(token));
    }
    /// @brief Function 6: writes one holding register.
    template <class Token>
    auto async_write_single_register(std::uint8_t unit, std::uint16_t address, std::uint16_t value, Token&& token) {
        return initiate_write_single(impl_, impl_->executor, unit, address, value, std::forward<Token>(token));
    }
    /// @brief Function 16: writes 1–123 holding registers from `address` (the
    /// values are copied before this returns).
    template <class Token>
    auto async_write_multiple_registers(std::uint8_t unit, std::uint16_t address, std::span<std::uint16_t const> values,
                                        Token&& token) {
        return initiate_write_multiple(impl_, impl_->executor, unit, address, values, std::forward<Token>(token));
    }

    /// @brief A reference that does not keep this client alive (see `client_ref`).
    [[nodiscard]] class client_ref ref() const;

private:
    friend class client_ref;
    struct impl;

    // Each operation with the client's state, or none (the client is gone:
    // the operation completes with operation_aborted on `ex`).
    template <class Token>
    static auto initiate_read(std::shared_ptr<impl> i, executor_type const& ex, register_kind kind, std::uint8_t unit,
                              std::uint16_t address, std::uint16_t count, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, register_block)>(
            [](auto handler, std::shared_ptr<impl> const& im, executor_type const& e, std::uint8_t fc, std::uint8_t u,
               std::uint16_t a, std::uint16_t n) {
                if (!im)
                    return boost::asio::post(e, boost::asio::append(std::move(handler),
                                                                    make_error_code(boost::asio::error::operation_aborted),
                                                                    register_block{}));
                im->read(fc, u, a, n, read_handler(std::move(handler)));
            },
            token, std::move(i), ex, static_cast<std::uint8_t>(kind == register_kind::holding ? 3 : 4), unit, address,
            count);
    }
    template <class Token>
    static auto initiate_write_single(std::shared_ptr<impl> i, executor_type const& ex, std::uint8_t unit,
                                      std::uint16_t address, std::uint16_t value, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [](auto handler, std::shared_ptr<impl> const& im, executor_type const& e, std::uint8_t u, std::uint16_t a,
               std::uint16_t v) {
                if (!im)
                    return boost::asio::post(
                        e, boost::asio::append(std::move(handler), make_error_code(boost::asio::error::operation_aborted)));
                im->write_single(u, a, v, write_handler(std::move(handler)));
            },
            token, std::move(i), ex, unit, address, value);
    }
    template <class Token>
    static auto initiate_write_multiple(std::shared_ptr<impl> i, executor_type const& ex, std::uint8_t unit,
                                        std::uint16_t address, std::span<std::uint16_t const> values, Token&& token) {
        register_block copy{};
        bool const ok = !values.empty() && values.size() <= 123 && address + values.size() - 1 <= 0xffff;
        if (ok) {
            std::copy(values.begin(), values.end(), copy.words.begin());
            copy.count = static_cast<std::uint16_t>(values.size());
        }
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [](auto handler, std::shared_ptr<impl> const& im, executor_type const& e, std::uint8_t u, std::uint16_t a,
               register_block const& v, bool valid) {
                if (!im)
                    return boost::asio::post(
                        e, boost::asio::append(std::move(handler), make_error_code(boost::asio::error::operation_aborted)));
                pending p{write_handler(std::move(handler))};
                if (valid) impl::frame_write_multiple(p, u, a, v.span());
                im->submit(std::move(p), valid);
            },
            token, std::move(i), ex, unit, address, copy, ok);
    }

    using read_handler = boost::asio::any_completion_handler<void(boost::system::error_code, register_block)>;
    using write_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

    struct pending {
        std::array<std::uint8_t, 260> adu{};
        std::size_t adu_size = 0;
        std::uint8_t unit = 0;
        std::uint8_t function = 0;
        std::uint16_t address = 0;
        std::uint16_t quantity = 0; // registers read or written; the value for function 6
        std::chrono::steady_clock::time_point deadline{};
        bool resent = false;
        // Constructed, never assigned: Boost 1.81's any_completion_handler
        // move assignment copies itself into a new wrapper without end.
        std::variant<read_handler, write_handler> handler;

        explicit pending(read_handler h) : handler(std::in_place_type<read_handler>, std::move(h)) {}
        explicit pending(write_handler h) : handler(std::in_place_type<write_handler>, std::move(h)) {}
    };

    struct impl : std::enable_shared_from_this<impl> {
        impl(executor_type ex, std::string h, std::string p, client_options o)
            : executor(std::move(ex)), host(std::move(h)), port(std::move(p)), options(o), socket(executor),
              resolver(executor), timer(executor) {}

        executor_type executor;
        std::string host;
        std::string port;
        client_options options;
        boost::asio::ip::tcp::socket socket;
        boost::asio::ip::tcp::resolver resolver;
        boost::asio::steady_timer timer;
        std::deque<pending> queue;
        client_stats stats;
        std::array<std::uint8_t, 260> rx{};
        std::uint64_t attempt = 0; // handlers of an older attempt find it changed and do nothing
        std::uint16_t next_tid = 1;
        std::uint16_t awaited_tid = 0;
        bool busy = false;
        bool closed = false;

        static void put16(std::uint8_t* p, std::uint16_t v) noexcept {
            p[0] = static_cast<std::uint8_t>(v >> 8);
            p[1] = static_cast<std::uint8_t>(v & 0xff);
        }
        static std::uint16_t get16(std::uint8_t const* p) noexcept {
            return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
        }
        static void frame(pending& p, std::uint8_t unit, std::uint8_t fc, std::uint16_t a, std::uint16_t q) {
            p.unit = unit;
            p.function = fc;
            p.address = a;
            p.quantity = q;
            put16(&p.adu[4], 6);
            p.adu[6] = unit;
            p.adu[7] = fc;
            put16(&p.adu[8], a);
            put16(&p.adu[10], q);
            p.adu_size = 12;
        }
        static void frame_write_multiple(pending& p, std::uint8_t unit, std::uint16_t a, std::span<std::uint16_t const> v) {
            frame(p, unit, 16, a, static_cast<std::uint16_t>(v.size()));
            p.adu[12] = static_cast<std::uint8_t>(2 * v.size());
            for (std::size_t k = 0; k < v.size(); ++k) put16(&p.adu[13 + 2 * k], v[k]);
            p.adu_size = 13 + 2 * v.size();
            put16(&p.adu[4], static_cast<std::uint16_t>(p.adu_size - 6));
        }

        void read(std::uint8_t fc, std::uint8_t unit, std::uint16_t a, std::uint16_t n, read_handler h) {
            pending p{std::move(h)};
            frame(p, unit, fc, a, n);
            submit(std::move(p), n >= 1 && n <= register_block::capacity && a + n - 1 <= 0xffff);
        }
        void write_single(std::uint8_t unit, std::uint16_t a, std::uint16_t v, write_handler h) {
            pending p{std::move(h)};
            frame(p, unit, 6, a, v);
            submit(std::move(p), true);
        }

        void submit(pending p, bool valid) {
            ++stats.requests;
            p.deadline = std::chrono::steady_clock::now() + options.request_timeout;
            if (closed) return complete(p, boost::asio::error::operation_aborted);
            if (!valid) return complete(p, errc::invalid_request);
            if (queue.size() > options.max_queue) return complete(p, errc::queue_full);
            queue.push_back(std::move(p));
            if (!busy) start_next();
        }

        void start_next() {
            while (!queue.empty() && !busy) {
                if (std::chrono::steady_clock::now() >= queue.front().deadline) {
                    ++stats.timeouts;
                    auto p = std::move(queue.front());
                    queue.pop_front();
                    complete(p, errc::timeout);
                    continue;
                }
                busy = true;
                ++attempt;
                timer.expires_at(queue.front().deadline);
                timer.async_wait([self = shared_from_this(), a = attempt](boost::system::error_code ec) {
                    if (!ec && a == self->attempt) self->timed_out();
                });
                if (socket.is_open()) send(true);
                else connect();
            }
        }

        void connect() {
            // A numeric address needs no resolver (whose Asio implementation
            // runs on a thread of its own).
            boost::system::error_code parse;
            auto const ip = boost::asio::ip::make_address(host, parse);
            char* end = nullptr;
            unsigned long const number = std::strtoul(port.c_str(), &end, 10);
            if (!parse && !port.empty() && *end == '\0' && number <= 65535) {
                boost::asio::ip::tcp::endpoint const ep(ip, static_cast<unsigned short>(number));
                return socket.async_connect(ep, [self = shared_from_this(), a = attempt](boost::system::error_code ec) {
                    if (a != self->attempt) return;
                    self->connected(ec);
                });
            }
            resolver.async_resolve(host, port, [self = shared_from_this(), a = attempt](
                                                   boost::system::error_code ec,
                                                   boost::asio::ip::tcp::resolver::results_type results) {
                if (a != self->attempt) return;
                if (ec) return self->connect_failed(ec);
                boost::asio::async_connect(self->socket, results,
                                           [self, a](boost::system::error_code ec2, boost::asio::ip::tcp::endpoint const&) {
                                               if (a != self->attempt) return;
                                               self->connected(ec2);
                                           });
            });
        }

        void connected(boost::system::error_code ec) {
            if (ec) return connect_failed(ec);
            ++stats.connects;
            boost::system::error_code ignored;
            socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
            send(false);
        }

        void connect_failed(boost::system::error_code ec) {
            ++stats.connect_failures;
            drop_connection();
            finish(ec);
        }

        void send(bool reused) {
            auto& p = queue.front();
            awaited_tid = next_tid++;
            if (next_tid == 0) next_tid = 1;
            put16(&p.adu[0], awaited_tid);
            put16(&p.adu[2], 0);
            boost::asio::async_write(socket, boost::asio::buffer(p.adu.data(), p.adu_size),
                                     [self = shared_from_this(), a = attempt, reused](boost::system::error_code ec, std::size_t) {
                                         if (a != self->attempt) return;
                                         if (ec) return self->io_failed(ec, reused, 0);
                                         self->read_header(reused);
                                     });
        }

        void read_header(bool reused) {
            boost::asio::async_read(socket, boost::asio::buffer(rx.data(), 7),
                                    [self = shared_from_this(), a = attempt, reused](boost::system::error_code ec, std::size_t n) {
                                        if (a != self->attempt) return;
                                        if (ec) return self->io_failed(ec, reused, n);
                                        self->read_body();
                                    });
        }

        void read_body() {
            std::uint16_t const length = get16(&rx[4]);
            if (get16(&rx[2]) != 0 || length < 2 || length > 254) {
                drop_connection();
                return finish(errc::bad_frame);
            }
            boost::asio::async_read(socket, boost::asio::buffer(rx.data() + 7, length - 1u),
                                    [self = shared_from_this(), a = attempt](boost::system::error_code ec, std::size_t n) {
                                        if (a != self->attempt) return;
                                        if (ec) return self->io_failed(ec, false, 7 + n);
                                        self->answer();
                                    });
        }

        void answer() {
            if (get16(&rx[0]) != awaited_tid) {
                ++stats.stale_frames;
                return read_header(false);
            }
            auto const& p = queue.front();
            std::size_t const pdu = get16(&rx[4]) - 1u; // function code and data
            std::uint8_t const fc = rx[7];
            if (rx[6] != p.unit && p.unit != 0) return finish(errc::unexpected_response);
            if (fc == (p.function | 0x80)) {
                // Exception code 0 does not exist; as an error_code it would read as success.
                if (pdu != 2 || rx[8] == 0) return finish(errc::unexpected_response);
                ++stats.answered;
                ++stats.exceptions;
                return finish(boost::system::error_code(rx[8], modbus_category()));
            }
            if (fc != p.function) return finish(errc::unexpected_response);
            register_block block{};
            if (fc == 3 || fc == 4) {
                if (pdu != 2u + 2u * p.quantity || rx[8] != 2 * p.quantity) return finish(errc::unexpected_response);
                block.count = p.quantity;
                for (std::size_t k = 0; k < p.quantity; ++k) block.words[k] = get16(&rx[9 + 2 * k]);
            } else if (pdu != 5 || get16(&rx[8]) != p.address || get16(&rx[10]) != p.quantity) {
                return finish(errc::unexpected_response);
            }
            ++stats.answered;
            finish({}, block);
        }

        void io_failed(boost::system::error_code ec, bool reused, std::size_t received) {
            namespace ae = boost::asio::error;
            bool const gone = ec == ae::eof || ec == ae::connection_reset || ec == ae::broken_pipe ||
                              ec == ae::connection_aborted;
            drop_connection();
            if (gone && reused && received == 0 && !queue.front().resent) {
                // The server closed this idle connection (a restart, an idle
                // timeout) before our request reached it: try a new one.
                queue.front().resent = true;
                ++stats.resent;
                ++attempt;
                timer.expires_at(queue.front().deadline);
                timer.async_wait([self = shared_from_this(), a = attempt](boost::system::error_code e) {
                    if (!e && a == self->attempt) self->timed_out();
                });
                return connect();
            }
            finish(gone ? make_error_code(errc::connection_closed) : ec);
        }

        void timed_out() {
            ++stats.timeouts;
            drop_connection();
            finish(errc::timeout);
        }

        void drop_connection() {
            boost::system::error_code ignored;
            resolver.cancel();
            socket.close(ignored);
        }

        void finish(boost::system::error_code ec, register_block const& block = {}) {
            ++attempt;
            timer.cancel();
            auto p = std::move(queue.front());
            queue.pop_front();
            busy = false;
            complete(p, ec, block);
            start_next();
        }

        void complete(pending& p, boost::system::error_code ec, register_block const& block = {}) {
            if (auto* r = std::get_if<read_handler>(&p.handler))
                boost::asio::post(executor, boost::asio::append(std::move(*r), ec, block));
            else
                boost::asio::post(executor, boost::asio::append(std::move(std::get<write_handler>(p.handler)), ec));
        }

        void close() {
            closed = true;
            ++attempt;
            drop_connection();
            timer.cancel();
            busy = false;
            while (!queue.empty()) {
                auto p = std::move(queue.front());
                queue.pop_front();
                complete(p, boost::asio::error::operation_aborted);
            }
        }
    };

    std::shared_ptr<impl> impl_;
};

/// @brief A reference to a `client` that does not keep it alive, with the
/// same operations. A device holds one: an operation started after the client
/// is gone completes with `operation_aborted` (on the executor the client had)
/// instead of touching freed memory.
class client_ref {
public:
    using executor_type = client::executor_type;

    explicit client_ref(client const& c) : impl_(c.impl_), executor_(c.impl_->executor) {}

    [[nodiscard]] executor_type get_executor() const noexcept { return executor_; }
    /// @brief The client's connection generation, 0 once it is gone.
    [[nodiscard]] std::uint64_t connection_generation() const noexcept {
        auto i = impl_.lock();
        return i ? i->stats.connects : 0;
    }
    template <class Token>
    auto async_read(register_kind kind, std::uint8_t unit, std::uint16_t address, std::uint16_t count, Token&& token) {
        return client::initiate_read(impl_.lock(), executor_, kind, unit, address, count, std::forward<Token>(token));
    }
    template <class Token>
    auto async_read_holding_registers(std::uint8_t unit, std::uint16_t address, std::uint16_t count, Token&& token) {
        return async_read(register_kind::holding, unit, address, count, std::forward<Token>(token));
    }
    template <class Token>
    auto async_write_single_register(std::uint8_t unit, std::uint16_t address, std::uint16_t value, Token&& token) {
        return client::initiate_write_single(impl_.lock(), executor_, unit, address, value, std::forward<Token>(token));
    }
    template <class Token>
    auto async_write_multiple_registers(std::uint8_t unit, std::uint16_t address, std::span<std::uint16_t const> values,
                                        Token&& token) {
        return client::initiate_write_multiple(impl_.lock(), executor_, unit, address, values, std::forward<Token>(token));
    }

private:
    std::weak_ptr<client::impl> impl_;
    executor_type executor_;
};

inline client_ref client::ref() const { return client_ref(*this); }

} // namespace cleori::modbus
