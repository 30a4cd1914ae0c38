#pragma once
// cleori-agentd's /metrics: the agents' status() in the Prometheus text
// format, served by a small Beast HTTP server on a loopback address.
#include <cleori/engine/agent_core.hpp>
#include <cleori/version.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace agentd {

struct asset_metrics {
    std::string id;
    cleori::agent_status status;
};

namespace detail {

inline void line(std::string& out, char const* name, std::string const& asset, double v, char const* extra = nullptr) {
    char buf[64];
    if (std::isnan(v)) std::snprintf(buf, sizeof buf, "NaN");
    else std::snprintf(buf, sizeof buf, "%.17g", v);
    out += name;
    out += "{asset=\"";
    out += asset; // ids are [A-Za-z0-9._-] (checked in the configuration): nothing to escape
    out += '"';
    if (extra) {
        out += ',';
        out += extra;
    }
    out += "} ";
    out += buf;
    out += '\n';
}

inline void help(std::string& out, char const* name, char const* type, char const* text) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += text;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

} // namespace detail

// The exposition text for `assets` at wall time `now`.
inline std::string render_metrics(std::vector<asset_metrics> const& assets, cleori::timestamp now) {
    using detail::help;
    using detail::line;
    std::string out;
    out.reserve(4096 + assets.size() * 2048);
    help(out, "cleori_build_info", "gauge", "cleori-agentd's version");
    out += "cleori_build_info{version=\"" CLEORI_VERSION_STRING "\"} 1\n";
    auto since = [&](std::optional<cleori::timestamp> t) {
        return t ? std::chrono::duration<double>(now - *t).count() : std::nan("");
    };
    struct gauge {
        char const* name;
        char const* text;
        std::function<double(cleori::agent_status const&)> value;
    };
    std::vector<gauge> const gauges{
        {"cleori_seconds_since_telemetry_ack",
         "Seconds since Cleori last acknowledged telemetry (Cleori's rule: a sample at least every 10 s); NaN before the first",
         [&](auto const& s) { return since(s.last_telemetry_ack); }},
        {"cleori_seconds_since_poll_ok",
         "Seconds since the last successful activation poll (Cleori's rule: at least once a minute); NaN before the first",
         [&](auto const& s) { return since(s.last_poll_ok); }},
        {"cleori_seconds_since_reading", "Seconds since the last device reading with a value; NaN before the first",
         [&](auto const& s) { return since(s.last_reading); }},
        {"cleori_outbox_samples", "Telemetry samples waiting to be sent", [](auto const& s) { return static_cast<double>(s.outbox_depth); }},
        {"cleori_samples_evicted_in_flight",
         "Samples evicted from the full outbox while their request is in flight; counted as sent or evicted when it ends",
         [](auto const& s) { return static_cast<double>(s.evicted_in_flight); }},
        {"cleori_commanded_power_kw", "Setpoint the device last accepted, kW (+ charge, - discharge)",
         [](auto const& s) { return s.commanded.in_kw(); }},
        {"cleori_measured_power_kw", "Power the device last reported, kW (+ charge, - discharge); NaN if never",
         [](auto const& s) { return s.measured_power ? s.measured_power->in_kw() : std::nan(""); }},
        {"cleori_soc_percent", "State of charge the device last reported, %; NaN if never",
         [](auto const& s) { return s.soc ? s.soc->in_pct() : std::nan(""); }},
        {"cleori_consecutive_auth_failures", "401/403 answers in a row to polls and telemetry",
         [](auto const& s) { return static_cast<double>(s.consecutive_auth_failures); }},
        {"cleori_agent_running", "1 while the asset's agent runs (started, not stopping)",
         [](auto const& s) { return s.started && !s.stopping ? 1.0 : 0.0; }},
    };
    for (auto const& g : gauges) {
        help(out, g.name, "gauge", g.text);
        for (auto const& a : assets) line(out, g.name, a.id, g.value(a.status));
    }
    help(out, "cleori_activations", "gauge", "Activations the agent knows, by phase");
    static constexpr char const* phases[] = {"phase=\"scheduled\"", "phase=\"starting\"", "phase=\"executing\"",
                                             "phase=\"ended\"", "phase=\"refused\""};
    for (auto const& a : assets)
        for (std::size_t p = 0; p < 5; ++p) line(out, "cleori_activations", a.id, static_cast<double>(a.status.activations[p]), phases[p]);
    struct counter {
        char const* name;
        char const* text;
        std::uint64_t cleori::agent_counters::*member;
    };
    using k = cleori::agent_counters;
    static constexpr counter counters[] = {
        {"cleori_samples_taken_total", "Device readings turned into samples", &k::samples_taken},
        {"cleori_sample_read_failures_total", "Device readings that failed or timed out", &k::sample_read_failures},
        {"cleori_samples_sent_total", "Samples acknowledged by Cleori", &k::samples_sent},
        {"cleori_samples_evicted_total", "Samples dropped because the outbox was full", &k::samples_evicted},
        {"cleori_telemetry_requests_total", "Telemetry requests acknowledged", &k::telemetry_requests},
        {"cleori_telemetry_failures_total", "Telemetry requests that failed after retries", &k::telemetry_failures},
        {"cleori_polls_total", "Successful activation polls", &k::polls},
        {"cleori_poll_failures_total", "Activation polls that failed after retries", &k::poll_failures},
        {"cleori_activations_received_total", "Distinct activations received", &k::activations_received},
        {"cleori_activations_refused_total", "Activations reported unavailable before they ran", &k::activations_refused},
        {"cleori_activations_applied_total", "Activations the device started executing", &k::activations_applied},
        {"cleori_activations_ended_total", "Activations ended (any reason)", &k::activations_ended},
        {"cleori_confirmations_sent_total", "Confirmations acknowledged by Cleori", &k::confirmations_sent},
        {"cleori_confirmation_failures_total", "Confirmation attempts that failed", &k::confirmation_failures},
        {"cleori_setpoints_applied_total", "Setpoints the device accepted", &k::setpoints_applied},
        {"cleori_setpoint_failures_total", "Setpoints the device refused or did not answer in time", &k::setpoint_failures},
        {"cleori_device_timeouts_total", "Device operations that missed their deadline", &k::device_timeouts},
        {"cleori_soc_limit_stops_total", "Times a direction went to 0 kW at a SoC limit", &k::soc_limit_stops},
        {"cleori_store_failures_total", "Events the journal could not keep", &k::store_failures},
        {"cleori_samples_abandoned_total", "Samples still unsent when the agent stopped", &k::samples_abandoned},
        {"cleori_activations_invalid_total", "Activations a poll carried that could not be read", &k::activations_invalid},
        {"cleori_activations_resumed_total", "Activations ended for lost contact, then served again and resumed", &k::activations_resumed},
        {"cleori_device_late_answers_total", "Device answers that came after their deadline", &k::device_late_answers},
        {"cleori_commands_withdrawn_total", "Setpoint commands not sent because an activation in them had ended by then", &k::commands_withdrawn},
        {"cleori_samples_restored_total", "Unsent samples read back from the journal at start", &k::samples_restored},
        {"cleori_activations_restored_total", "Activations read back from the journal at start", &k::activations_restored},
        {"cleori_confirmations_restored_total", "Owed confirmations read back from the journal at start", &k::confirmations_restored},
    };
    for (auto const& c : counters) {
        help(out, c.name, "counter", c.text);
        for (auto const& a : assets) line(out, c.name, a.id, static_cast<double>(a.status.counters.*c.member));
    }
    return out;
}

// Serves GET /metrics (and 404 for anything else), one request per
// connection, on the executor it is given.
class metrics_server : public std::enable_shared_from_this<metrics_server> {
public:
    using source = std::function<std::string()>;

    metrics_server(boost::asio::any_io_executor ex, source s) : acceptor_(ex), source_(std::move(s)) {}

    boost::system::error_code listen(std::string const& address, unsigned short port) {
        boost::system::error_code ec;
        auto const addr = boost::asio::ip::make_address(address, ec);
        if (ec) return ec;
        boost::asio::ip::tcp::endpoint const ep(addr, port);
        acceptor_.open(ep.protocol(), ec);
        if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(ep, ec);
        if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
        if (!ec) accept();
        return ec;
    }
    unsigned short port() const {
        boost::system::error_code ec;
        return acceptor_.local_endpoint(ec).port();
    }
    void close() {
        boost::system::error_code ec;
        acceptor_.close(ec);
    }

private:
    void accept() {
        acceptor_.async_accept([self = shared_from_this()](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
            if (ec == boost::asio::error::operation_aborted || !self->acceptor_.is_open()) return;
            if (!ec) serve(self, std::make_shared<boost::beast::tcp_stream>(std::move(s)));
            self->accept();
        });
    }

    struct exchange {
        boost::beast::flat_buffer buffer;
        boost::beast::http::request<boost::beast::http::string_body> req;
        boost::beast::http::response<boost::beast::http::string_body> res;
    };

    static void serve(std::shared_ptr<metrics_server> self, std::shared_ptr<boost::beast::tcp_stream> stream) {
        auto x = std::make_shared<exchange>();
        stream->expires_after(std::chrono::seconds(10)); // a scraper that stalls cannot hold a connection
        boost::beast::http::async_read(*stream, x->buffer, x->req, [self, stream, x](boost::system::error_code ec, std::size_t) {
            if (ec) return;
            namespace http = boost::beast::http;
            x->res.version(x->req.version());
            x->res.keep_alive(false);
            if (x->req.method() == http::verb::get && x->req.target() == "/metrics") {
                x->res.result(http::status::ok);
                x->res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
                x->res.body() = self->source_();
            } else {
                x->res.result(http::status::not_found);
                x->res.set(http::field::content_type, "text/plain");
                x->res.body() = "cleori-agentd serves GET /metrics only\n";
            }
            x->res.prepare_payload();
            http::async_write(*stream, x->res, [stream, x](boost::system::error_code, std::size_t) {
                boost::system::error_code ignored;
                stream->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
            });
        });
    }

    boost::asio::ip::tcp::acceptor acceptor_;
    source source_;
};

} // namespace agentd
