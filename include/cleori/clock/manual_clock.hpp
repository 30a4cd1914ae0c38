#pragma once
/// @file
/// @brief `cleori::manual_clock` — virtual time for deterministic tests of a
/// whole agent: time moves only when the test says so, timers fire in order,
/// and an hour of telemetry and activations runs in milliseconds.
///
/// @code
/// asio::io_context io;
/// cleori::manual_clock clock;                       // starts at 2026-01-01T00:00:00Z
/// struct virtual_time : cleori::default_policies { using clock = cleori::manual_clock; };
/// cleori::basic_agent<my_battery, my_transport, virtual_time> agent{…, clock};
/// agent.start();
/// clock.run_for(io, 1h);                            // fires every timer due in the next hour, in order
/// @endcode
///
/// Copies share one time line (the clock is a handle). Not thread-safe: use it
/// from the thread that runs the io_context. A pending wait holds its handler
/// (as an Asio timer's does), so stop what uses the clock and run the clock
/// until `pending_timers()` is 0 before destroying the io_context.

#include <cleori/clock/clock.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

namespace cleori {

namespace detail {
struct manual_time_line {
    mono_time now{std::chrono::hours(24)}; // not zero, so "time_point{}" never looks current
    timestamp wall{};
    std::uint64_t next_seq = 0;
    std::uint64_t next_timer = 0;
    struct waiter {
        std::uint64_t timer;
        boost::asio::any_io_executor ex;
        boost::asio::any_completion_handler<void(boost::system::error_code)> handler;
    };
    std::multimap<std::pair<mono_time, std::uint64_t>, waiter> waiters; // (due, arrival order)

    static void complete(waiter w, boost::system::error_code ec) {
        boost::asio::post(w.ex, [h = std::move(w.handler), ec]() mutable { std::move(h)(ec); });
    }
    void cancel(std::uint64_t timer) {
        for (auto it = waiters.begin(); it != waiters.end();) {
            if (it->second.timer == timer) {
                complete(std::move(it->second), boost::asio::error::operation_aborted);
                it = waiters.erase(it);
            } else {
                ++it;
            }
        }
    }
};
} // namespace detail

/// @brief A timer of a `manual_clock`, with the interface of `asio::steady_timer`
/// that the engine uses.
class manual_timer {
public:
    manual_timer(boost::asio::any_io_executor ex, std::shared_ptr<detail::manual_time_line> line)
        : ex_(std::move(ex)), line_(std::move(line)), id_(line_->next_timer++) {}
    manual_timer(manual_timer&& o) noexcept : ex_(o.ex_), line_(o.line_), id_(o.id_), expiry_(o.expiry_) {
        o.line_.reset();
    }
    manual_timer& operator=(manual_timer&&) = delete;
    ~manual_timer() {
        if (line_) line_->cancel(id_);
    }

    /// @brief Sets the expiry; pending waits complete with `operation_aborted`.
    std::size_t expires_at(mono_time tp) {
        line_->cancel(id_);
        expiry_ = tp;
        return 0;
    }
    std::size_t expires_after(mono_time::duration d) { return expires_at(line_->now + d); }
    [[nodiscard]] mono_time expiry() const noexcept { return expiry_; }
    /// @brief Pending waits complete with `operation_aborted`.
    std::size_t cancel() {
        line_->cancel(id_);
        return 0;
    }

    /// @brief Waits until the clock reaches the expiry (completes at once,
    /// through the executor, if it already has).
    template <class Token>
    auto async_wait(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) {
                detail::manual_time_line::waiter w{id_, ex_, std::move(handler)};
                if (expiry_ <= line_->now) detail::manual_time_line::complete(std::move(w), {});
                else line_->waiters.emplace(std::pair{expiry_, line_->next_seq++}, std::move(w));
            },
            token);
    }

private:
    boost::asio::any_io_executor ex_;
    std::shared_ptr<detail::manual_time_line> line_;
    std::uint64_t id_;
    mono_time expiry_{};
};

/// @brief Virtual time. See the file comment.
class manual_clock {
public:
    /// @param wall_start the wall time at the start of the time line
    explicit manual_clock(timestamp wall_start = timestamp{std::chrono::sys_days{std::chrono::year{2026} /
                                                                                std::chrono::January / 1}})
        : line_(std::make_shared<detail::manual_time_line>()) {
        line_->wall = wall_start;
    }

    [[nodiscard]] mono_time now() const noexcept { return line_->now; }
    [[nodiscard]] timestamp wall_now() const noexcept { return line_->wall; }
    [[nodiscard]] manual_timer make_timer(boost::asio::any_io_executor ex) const { return manual_timer(std::move(ex), line_); }

    /// @brief Moves time forward by `d` without running anything: timers that
    /// fall due are completed (posted to their executors) in due order.
    void advance(mono_time::duration d) { advance_to(line_->now + d); }
    void advance_to(mono_time t) {
        while (!line_->waiters.empty() && line_->waiters.begin()->first.first <= t) {
            auto node = line_->waiters.extract(line_->waiters.begin());
            set(node.key().first);
            detail::manual_time_line::complete(std::move(node.mapped()), {});
        }
        if (t > line_->now) set(t);
    }

    /// @brief Runs `io` in virtual time for `d`: runs everything ready, then
    /// jumps to the next timer due, fires it, runs again… so that work a timer
    /// triggers (and the timers it sets) happen at exactly the right virtual
    /// time. @return the number of handlers run.
    std::size_t run_for(boost::asio::io_context& io, mono_time::duration d) { return run_until(io, line_->now + d); }
    std::size_t run_until(boost::asio::io_context& io, mono_time t) {
        std::size_t n = 0;
        io.restart();
        n += io.poll();
        while (!line_->waiters.empty() && line_->waiters.begin()->first.first <= t) {
            auto const due = line_->waiters.begin()->first.first;
            advance_to(due);
            io.restart();
            n += io.poll();
        }
        if (t > line_->now) set(t);
        io.restart();
        n += io.poll();
        return n;
    }

    /// @brief Timers waiting (for tests that assert nothing is left behind).
    [[nodiscard]] std::size_t pending_timers() const noexcept { return line_->waiters.size(); }

private:
    void set(mono_time t) {
        line_->wall += std::chrono::duration_cast<std::chrono::microseconds>(t - line_->now);
        line_->now = t;
    }
    std::shared_ptr<detail::manual_time_line> line_;
};

static_assert(Clock<manual_clock>);

} // namespace cleori
