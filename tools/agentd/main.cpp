// cleori-agentd: the site daemon. One process runs the agents of one site's
// batteries from a TOML file, serves Prometheus metrics on loopback, tells
// systemd when it is ready and alive, and on SIGTERM returns every battery to
// baseline before it exits. Configuration and operation: doc/deploy.md.
//
// Exit codes: 0 stopped on SIGTERM/SIGINT with every battery at baseline;
// 2 bad command line or configuration; 3 Cleori refuses the token of every
// asset for good (401/403; one refused asset alone stops, the others go on);
// 1 anything else (a journal that cannot be opened, a metrics port
// in use, baseline not reached within stop_timeout_s).
#include "config.hpp"
#include "metrics.hpp"

#include <cleori/cleori.hpp>
#include <cleori/engine/audit_log.hpp>
#include <cleori/device/simulated_battery.hpp>
#include <cleori/modbus.hpp>
#include <cleori/version.hpp>

#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#if CLEORI_AGENTD_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

enum exit_code : int { clean = 0, other = 1, bad_config = 2, auth = 3 };

// One line per event, logfmt: level=info asset=battery-1 msg="...". Under
// systemd (JOURNAL_STREAM set) each line starts with its syslog priority,
// which journald turns into the entry's level.
class logger {
public:
    explicit logger(cleori::log_level min) : min_(min) {
        char const* j = std::getenv("JOURNAL_STREAM");
        journal_ = j != nullptr && *j != '\0';
    }

    void operator()(cleori::log_level level, std::string_view asset, std::string_view msg) const {
        if (level < min_) return;
        static constexpr char const* names[] = {"debug", "info", "warning", "error"};
        static constexpr char const* priorities[] = {"<7>", "<6>", "<4>", "<3>"};
        auto const i = static_cast<std::size_t>(level);
        std::string line;
        line.reserve(msg.size() + 64);
        if (journal_) line += priorities[i];
        line += "level=";
        line += names[i];
        if (!asset.empty()) {
            line += " asset=";
            line += asset;
        }
        line += " msg=\"";
        for (char c : msg) {
            if (c == '"' || c == '\\') line += '\\';
            if (c == '\n') line += "\\n";
            else line += c;
        }
        line += "\"\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }

private:
    cleori::log_level min_;
    bool journal_;
};

void notify(char const* state) {
#if CLEORI_AGENTD_SYSTEMD
    sd_notify(0, state);
#else
    static_cast<void>(state);
#endif
}

// One asset, whatever its device and store.
struct asset {
    virtual ~asset() = default;
    virtual cleori::result<void> start() = 0;
    virtual void stop() = 0;
    [[nodiscard]] virtual bool stopped() const = 0;
    [[nodiscard]] virtual cleori::agent_status status() const = 0;
    virtual void set_token(std::string token) = 0;
    virtual void set_logger(std::function<void(cleori::log_level, std::string_view)> sink) = 0;
    virtual void set_audit(std::function<void(cleori::audit_record const&)> sink) = 0;
    agentd::asset_config const* config = nullptr;
    std::unique_ptr<cleori::audit_log> audit; // the settlement audit trail, when there is a state directory
    std::string token;         // the one in use (never logged)
    unsigned auth_counted = 0; // 401/403s in a row already answered by a token reload
    bool refused = false;      // Cleori refuses its token for good: stopped, the others go on
};

template <class Device, class Store>
struct asset_of final : asset {
    struct policies : cleori::default_policies {
        using store = Store;
    };
    using agent_type = cleori::basic_agent<Device, cleori::beast_transport, policies>;
    template <class... DeviceArgs>
    asset_of(cleori::beast_transport& t, cleori::agent_config c, Store s, DeviceArgs&&... args)
        : device(std::forward<DeviceArgs>(args)...),
          agent(device, t, std::move(c), cleori::real_clock{}, cleori::default_retry{}, std::move(s)) {}
    cleori::result<void> start() override { return agent.start(); }
    void stop() override { agent.stop(); }
    bool stopped() const override { return agent.stopped(); }
    cleori::agent_status status() const override { return agent.status(); }
    void set_token(std::string t) override { agent.set_token(std::move(t)); }
    void set_logger(std::function<void(cleori::log_level, std::string_view)> sink) override {
        agent.set_logger(std::move(sink));
    }
    void set_audit(std::function<void(cleori::audit_record const&)> sink) override { agent.hooks().on_audit = std::move(sink); }

    Device device;
    agent_type agent;
};

std::string read_token(std::filesystem::path const& p) {
    std::string why;
    return agentd::detail::read_token_file(p, why);
}

template <class Device, class... DeviceArgs>
std::unique_ptr<asset> make_asset(agentd::daemon_config const& c, agentd::asset_config const& a, cleori::beast_transport& t,
                                  cleori::agent_config ac, std::string& failure, DeviceArgs&&... args) {
    std::unique_ptr<asset> out;
    if (c.state_directory.empty()) {
        out = std::make_unique<asset_of<Device, cleori::memory_store>>(t, std::move(ac), cleori::memory_store{},
                                                                      std::forward<DeviceArgs>(args)...);
    } else {
        auto const path = c.state_directory / (a.id + ".journal");
        auto store = cleori::file_store::open(path);
        if (!store) {
            failure = "journal " + path.string() + ": " + store.error().message();
            return nullptr;
        }
        out = std::make_unique<asset_of<Device, cleori::file_store>>(t, std::move(ac), std::move(*store),
                                                                    std::forward<DeviceArgs>(args)...);
    }
    out->config = &a;
    out->token = a.token;
    if (!c.state_directory.empty() && c.audit) {
        // One file per asset (records carry no asset name), rotated by size.
        auto const path = c.state_directory / (a.id + ".audit.jsonl");
        out->audit = std::make_unique<cleori::audit_log>(path, c.audit_max_bytes, c.audit_keep);
        if (auto r = out->audit->open(); !r) {
            failure = "audit trail " + path.string() + ": " + r.error().message();
            return nullptr;
        }
        out->set_audit(std::ref(*out->audit));
    }
    return out;
}

int run(agentd::daemon_config const& c) {
    logger log(c.log_level);
    boost::asio::io_context io;
    cleori::transport_options topt;
    topt.ca_file = c.ca_file;
    topt.allow_insecure_http = c.allow_insecure_http;
    topt.user_agent = "cleori-agentd/" CLEORI_VERSION_STRING;
    cleori::beast_transport transport{io.get_executor(), c.base_url, topt};
    if (auto ec = transport.config_error()) {
        log(cleori::log_level::error, "", "[cleori].base_url: " + ec.message());
        return bad_config;
    }
    // Batteries behind one gateway share its connection.
    std::map<std::string, std::unique_ptr<cleori::modbus::client>> plcs;
    std::vector<std::unique_ptr<asset>> assets;
    for (auto const& a : c.assets) {
        cleori::agent_config ac;
        ac.token = a.token;
        ac.telemetry_interval = c.telemetry_interval;
        ac.poll_interval = c.poll_interval;
        std::string failure;
        std::unique_ptr<asset> made;
        if (a.kind == agentd::device_kind::simulated) {
            made = make_asset<cleori::simulated_battery>(c, a, transport, std::move(ac), failure, cleori::real_clock{},
                                                         cleori::percent{a.initial_soc_pct});
        } else {
            auto& plc = plcs[a.modbus.host + ":" + a.modbus.port];
            if (!plc)
                plc = std::make_unique<cleori::modbus::client>(io.get_executor(), a.modbus.host, a.modbus.port,
                                                               cleori::modbus::client_options{.request_timeout = a.modbus.timeout});
            made = make_asset<cleori::modbus_battery>(c, a, transport, std::move(ac), failure, *plc, a.modbus.map, a.ratings);
        }
        if (!made) {
            log(cleori::log_level::error, a.id, failure);
            return other;
        }
        assets.push_back(std::move(made));
    }
    for (auto& a : assets)
        a->set_logger([&log, id = a->config->id](cleori::log_level l, std::string_view m) { log(l, id, m); });

    std::shared_ptr<agentd::metrics_server> metrics;
    if (c.metrics) {
        metrics = std::make_shared<agentd::metrics_server>(io.get_executor(), [&] {
            std::vector<agentd::asset_metrics> m;
            for (auto const& a : assets) m.push_back({a->config->id, a->status()});
            return agentd::render_metrics(m, cleori::real_clock{}.wall_now());
        });
        if (auto ec = metrics->listen(c.metrics_address, c.metrics_port)) {
            log(cleori::log_level::error, "",
                "metrics on " + c.metrics_address + ":" + std::to_string(c.metrics_port) + ": " + ec.message() +
                    " (set [daemon].metrics_listen to a free port, or \"\" to turn it off)");
            return other;
        }
        log(cleori::log_level::info, "",
            "metrics on http://" + c.metrics_address + ":" + std::to_string(metrics->port()) + "/metrics");
    }

    for (auto& a : assets) {
        if (auto r = a->start(); !r) {
            log(cleori::log_level::error, a->config->id, "cannot start: " + r.error().message());
            for (auto& b : assets) b->stop();
            return other;
        }
    }
    log(cleori::log_level::info, "",
        "cleori-agentd " CLEORI_VERSION_STRING " started " + std::to_string(assets.size()) + " asset(s) against " + c.base_url);

    int code = clean;
    bool stopping = false;
    bool ready = false;
    auto stop_deadline = std::chrono::steady_clock::time_point::max();
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer tick(io);
    auto begin_stop = [&](int why) {
        if (stopping) return;
        stopping = true;
        code = why;
        notify("STOPPING=1");
        signals.cancel();
        if (metrics) metrics->close();
        stop_deadline = std::chrono::steady_clock::now() + c.stop_timeout;
        for (auto& a : assets) a->stop();
    };
    {
        sigset_t held;
        sigemptyset(&held);
        sigaddset(&held, SIGTERM);
        sigaddset(&held, SIGINT);
        sigprocmask(SIG_UNBLOCK, &held, nullptr); // one that came while starting is delivered now
    }
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log(cleori::log_level::info, "", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                                             ": returning every battery to baseline");
        begin_stop(clean);
    });

    std::uint64_t watchdog_usec = 0;
#if CLEORI_AGENTD_SYSTEMD
    if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
#endif
    auto last_ping = std::chrono::steady_clock::now();
    std::function<void()> supervise = [&] {
        tick.expires_after(std::chrono::milliseconds(250));
        tick.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            auto const now_wall = cleori::real_clock{}.wall_now();
            bool all_polled = true, all_recent = true;
            std::size_t refused = 0;
            for (auto& a : assets) {
                auto const s = a->status();
                if (a->refused) {
                    ++refused;
                    continue;
                }
                all_polled = all_polled && s.last_poll_ok.has_value();
                all_recent = all_recent && s.last_poll_ok && now_wall - *s.last_poll_ok <= std::chrono::seconds(60);
                if (s.consecutive_auth_failures < a->auth_counted) a->auth_counted = 0; // a success came between
                if (stopping || s.consecutive_auth_failures < a->auth_counted + c.auth_failures_to_exit) continue;
                // A token file rewritten since (a rotation) heals it; anything else is for good.
                if (auto fresh = read_token(a->config->token_path); !fresh.empty() && fresh != a->token) {
                    log(cleori::log_level::warning, a->config->id,
                        "Cleori refused the token; " + a->config->token_path.string() + " has a new one: using it");
                    a->set_token(fresh);
                    a->token = std::move(fresh);
                    a->auth_counted = s.consecutive_auth_failures;
                    continue;
                }
                // Only this asset stops: one revoked token must not take the
                // site's other batteries out of the market.
                log(cleori::log_level::error, a->config->id,
                    "Cleori answered " + std::to_string(s.last_auth_status) + " to " +
                        std::to_string(s.consecutive_auth_failures) +
                        " requests in a row: the token is wrong, expired or revoked. This asset stops; fix " +
                        a->config->token_path.string() + " and restart");
                a->refused = true;
                a->stop();
                ++refused;
                notify(("STATUS=running " + std::to_string(assets.size() - refused) + " asset(s), " +
                        std::to_string(refused) + " refused by Cleori").c_str());
            }
            if (!stopping && refused == assets.size()) begin_stop(auth);
            if (!ready && all_polled && !stopping) {
                ready = true;
                notify(("READY=1\nSTATUS=running " + std::to_string(assets.size() - refused) + " asset(s)" +
                        (refused ? ", " + std::to_string(refused) + " refused by Cleori" : std::string()))
                           .c_str());
                log(cleori::log_level::info, "", "ready: every running asset has polled Cleori");
            }
            // The watchdog is fed only while every asset polls: a daemon that
            // cannot reach Cleori for a minute is restarted by systemd.
            if (watchdog_usec && all_recent && !stopping &&
                std::chrono::steady_clock::now() - last_ping >= std::chrono::microseconds(watchdog_usec / 2)) {
                notify("WATCHDOG=1");
                last_ping = std::chrono::steady_clock::now();
            }
            bool all_stopped = true;
            for (auto& a : assets) all_stopped = all_stopped && a->stopped();
            if (stopping && (all_stopped || std::chrono::steady_clock::now() >= stop_deadline)) return;
            supervise();
        });
    };
    supervise();

    for (;;) {
        io.run_for(std::chrono::milliseconds(100));
        if (!stopping) continue;
        bool all_stopped = true;
        for (auto& a : assets) all_stopped = all_stopped && a->stopped();
        if (all_stopped) break;
        if (std::chrono::steady_clock::now() >= stop_deadline) {
            for (auto& a : assets)
                if (!a->stopped())
                    log(cleori::log_level::error, a->config->id,
                        "did not reach baseline within stop_timeout_s; the battery may still hold its last setpoint");
            if (code == clean) code = other;
            break;
        }
    }
    for (auto& a : assets) {
        auto const s = a->status();
        if (s.stopped)
            log(cleori::log_level::info, a->config->id,
                "stopped at baseline: " + std::to_string(s.counters.samples_sent) + " samples sent, " +
                    std::to_string(s.counters.activations_applied) + " activations executed");
    }
    tick.cancel();
    signals.cancel();
    for (auto& [where, plc] : plcs) plc->close();
    io.run_for(std::chrono::milliseconds(200)); // let the last completions run
    log(cleori::log_level::info, "", "exit " + std::to_string(code));
    return code;
}

} // namespace

int main(int argc, char** argv) {
    // SIGTERM while starting (journals, metrics, agents) must still end in
    // baseline: hold the signals until the handler exists.
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGINT);
    sigprocmask(SIG_BLOCK, &held, nullptr);
    CLI::App app{"cleori-agentd " CLEORI_VERSION_STRING
                 ": runs a site's batteries in Cleori's mFRR market (doc/deploy.md).\n"
                 "Exit codes: 0 clean stop (SIGTERM/SIGINT, batteries at baseline), 1 other failure,\n"
                 "2 bad command line or configuration, 3 Cleori refuses every asset's token (401/403) for good.",
                 "cleori-agentd"};
    std::string config_path, check_path;
    app.add_option("-c,--config", config_path, "the site's TOML configuration")->option_text("FILE");
    app.add_option("--check-config", check_path, "check FILE, print every error with its line and fix, and exit")
        ->option_text("FILE");
    app.set_version_flag("--version", "cleori-agentd " CLEORI_VERSION_STRING);
    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        int const rc = app.exit(e);
        return rc == 0 ? 0 : bad_config;
    }
    if (config_path.empty() == check_path.empty()) {
        std::cerr << "cleori-agentd: give --config FILE to run, or --check-config FILE to check (--help for more)\n";
        return bad_config;
    }
    std::vector<agentd::config_error> errors;
    auto const path = check_path.empty() ? config_path : check_path;
    auto config = agentd::load_config(path, agentd::environment::from_process(), errors);
    for (auto const& e : errors) std::cerr << e.where << ": " << e.what << " (fix: " << e.fix << ")\n";
    if (!errors.empty()) {
        std::cerr << "cleori-agentd: " << errors.size() << " error(s) in " << path << "\n";
        return bad_config;
    }
    if (!check_path.empty()) {
        std::cout << path << ": OK: " << config.assets.size() << " asset(s):";
        for (auto const& a : config.assets) std::cout << ' ' << a.id;
        std::cout << "\n";
        return clean;
    }
    return run(config);
}
