#pragma once
// Shared by the examples: reading options, the token, printing what the
// agent does as it happens, and running until a signal or a time limit.
#include <cleori/engine/agent.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

namespace example {

[[noreturn]] inline void fail(std::string const& program, std::string const& why) {
    std::cerr << program << ": " << why << "\n";
    std::exit(2);
}

// A number from the command line, checked against [lo, hi].
inline double number(std::string const& program, std::string const& flag, char const* text, double lo, double hi) {
    char* end = nullptr;
    double const v = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
        std::ostringstream os;
        os << flag << ": expected a number in [" << lo << ", " << hi << "], got '" << text << "'";
        fail(program, os.str());
    }
    return v;
}

// Seconds from the command line, checked against [lo, hi].
inline std::chrono::milliseconds seconds(std::string const& program, std::string const& flag, char const* text,
                                         double lo, double hi) {
    return std::chrono::milliseconds(static_cast<long long>(number(program, flag, text, lo, hi) * 1000.0));
}

// The token: from a file if given, else from CLEORI_TOKEN. Never from an argument.
inline std::string load_token(std::string const& program, std::optional<std::string> const& file) {
    std::string token;
    if (file) {
        std::ifstream in(*file);
        if (!in) fail(program, "cannot read token file '" + *file + "'");
        std::getline(in, token);
    } else if (char const* env = std::getenv("CLEORI_TOKEN")) {
        token = env;
    }
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) fail(program, "no token: set CLEORI_TOKEN or pass --token-file F");
    return token;
}

inline std::string clock_text() {
    auto const now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    return cleori::to_rfc3339(now).substr(11, 12);
}

// Prints the agent's events on one line each, prefixed by `who`.
template <class Agent>
void narrate(Agent& agent, std::string who) {
    auto line = [who](auto&&... parts) {
        std::ostringstream os;
        os << clock_text() << " " << who << ": ";
        (os << ... << parts);
        std::cout << os.str() << std::endl;
    };
    auto& h = agent.hooks();
    h.on_activation_received = [line](cleori::activation const& a) {
        line("activation ", a.id, " received: ", a.direction == cleori::mfrr_direction::up ? "up " : "down ", a.power,
             " from ", cleori::to_rfc3339(a.start_time));
    };
    h.on_activation_refused = [line](cleori::activation const& a, std::string_view why) {
        line("activation ", a.id, " REFUSED: ", why);
    };
    h.on_activation_applied = [line](cleori::activation const& a, cleori::kilowatts p) {
        line("activation ", a.id, " executing: setpoint ", p);
    };
    h.on_activation_confirmed = [line](cleori::activation const& a, cleori::confirmation const& c) {
        line("activation ", a.id, " confirmation acknowledged (",
             c.status == cleori::confirmation_status::executing ? "executing" : "unavailable", ")");
    };
    h.on_activation_ended = [line](cleori::activation const& a, cleori::end_reason r) {
        line("activation ", a.id, " ended: ", cleori::to_string(r));
    };
    h.on_setpoint = [line](cleori::kilowatts p) { line("battery setpoint ", p); };
    h.on_telemetry_dropped = [line](std::size_t n) { line(n, " sample(s) dropped: outbox full"); };
    agent.set_logger([line](cleori::log_level l, std::string_view text) {
        if (l >= cleori::log_level::warning) line(text);
    });
}

// Runs `io` until the agent has stopped: on SIGINT/SIGTERM or after
// `duration` (0: no limit) it stops the agent, which returns the battery to
// baseline first.
template <class Agent>
void run_until_stopped(boost::asio::io_context& io, Agent& agent, std::chrono::milliseconds duration) {
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer timer(io);
    auto stop = [&] {
        signals.cancel();
        timer.cancel();
        agent.stop();
    };
    signals.async_wait([&](boost::system::error_code ec, int) { if (!ec) stop(); });
    if (duration.count() > 0) {
        timer.expires_after(duration);
        timer.async_wait([&](boost::system::error_code ec) { if (!ec) stop(); });
    }
    while (!agent.stopped() && io.run_one()) {}
}

} // namespace example
