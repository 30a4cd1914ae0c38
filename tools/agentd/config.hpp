#pragma once
// cleori-agentd's configuration: one TOML file for one site. Every mistake is
// reported, all at once, as "file:line: what is wrong (fix: what to do)";
// unknown keys are mistakes too. The reference is doc/deploy.md.
#include <cleori/device/ratings.hpp>
#include <cleori/engine/agent_core.hpp>
#include <cleori/modbus/register_map.hpp>
#include <cleori/transport/url.hpp>

#include <toml++/toml.h>

#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace agentd {

enum class device_kind { simulated, modbus };

struct modbus_device {
    std::string host;
    std::string port = "502";
    std::string map_path;
    cleori::modbus::register_map map;
    std::chrono::milliseconds timeout{1000};
};

struct asset_config {
    std::string id;
    std::filesystem::path token_path;
    std::string token; // never printed
    device_kind kind = device_kind::simulated;
    cleori::battery_ratings ratings{};
    double initial_soc_pct = 50;
    modbus_device modbus;
};

struct daemon_config {
    std::filesystem::path file;
    std::string base_url;
    std::string ca_file;
    bool allow_insecure_http = false;
    std::chrono::milliseconds telemetry_interval{5000};
    std::chrono::milliseconds poll_interval{5000};
    std::filesystem::path state_directory; // empty: no journal, no audit trail
    bool audit = true;                     // the settlement audit trail, <asset>.audit.jsonl in the state directory
    std::uint64_t audit_max_bytes = 64ull * 1024 * 1024;
    unsigned audit_keep = 5;
    std::string metrics_address = "127.0.0.1";
    unsigned short metrics_port = 9464;
    bool metrics = true;
    std::chrono::milliseconds stop_timeout{20000};
    unsigned auth_failures_to_exit = 6;
    cleori::log_level log_level = cleori::log_level::info;
    std::vector<asset_config> assets;
};

struct config_error {
    std::string where; // file:line
    std::string what;
    std::string fix;
};

// Where relative token files are looked up: systemd's credentials directory
// (LoadCredential=) when there is one, else the config file's directory.
struct environment {
    std::optional<std::filesystem::path> credentials_directory;
    std::optional<std::filesystem::path> state_directory;

    static environment from_process() {
        environment e;
        if (char const* c = std::getenv("CREDENTIALS_DIRECTORY"); c && *c) e.credentials_directory = c;
        // STATE_DIRECTORY may list several, colon-separated: the first is ours.
        if (char const* s = std::getenv("STATE_DIRECTORY"); s && *s) {
            std::string const all = s;
            e.state_directory = all.substr(0, all.find(':'));
        }
        return e;
    }
};

namespace detail {

class reader {
public:
    reader(std::filesystem::path file, std::vector<config_error>& errors) : file_(std::move(file)), errors_(errors) {}

    void error(toml::source_region const& at, std::string what, std::string fix) {
        errors_.push_back({file_.string() + ":" + std::to_string(at.begin.line), std::move(what), std::move(fix)});
    }
    void error_file(std::string what, std::string fix) { errors_.push_back({file_.string(), std::move(what), std::move(fix)}); }

    // Reports keys of `t` that are not in `allowed`.
    void only(toml::table const& t, std::string_view where, std::initializer_list<std::string_view> allowed) {
        for (auto const& [k, v] : t) {
            bool ok = false;
            for (auto a : allowed) ok = ok || k.str() == a;
            if (ok) continue;
            std::string list;
            for (auto a : allowed) list += std::string(list.empty() ? "" : ", ") + std::string(a);
            error(v.source(), "unknown key '" + std::string(k.str()) + "' in " + std::string(where),
                  "remove it, or use one of: " + list);
        }
    }

    std::optional<std::string> string(toml::table const& t, std::string_view key, std::string_view where, bool required) {
        auto const* n = t.get(key);
        if (!n) {
            if (required)
                error(t.source(), "missing key '" + std::string(key) + "' in " + std::string(where),
                      "add " + std::string(key) + " = \"...\"");
            return std::nullopt;
        }
        if (!n->is_string()) {
            error(n->source(), std::string(where) + "." + std::string(key) + " must be a string", "quote it: \"...\"");
            return std::nullopt;
        }
        return n->as_string()->get();
    }

    std::optional<double> number(toml::table const& t, std::string_view key, std::string_view where, double lo, double hi,
                                 bool required, std::string_view unit = "", bool integer = false) {
        auto const* n = t.get(key);
        if (!n) {
            if (required)
                error(t.source(), "missing key '" + std::string(key) + "' in " + std::string(where),
                      "add " + std::string(key) + " = <number" + (unit.empty() ? "" : " in " + std::string(unit)) + ">");
            return std::nullopt;
        }
        std::optional<double> v;
        if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
        else if (n->is_floating_point()) v = n->as_floating_point()->get();
        if (!v) {
            error(n->source(), std::string(where) + "." + std::string(key) + " must be a number", "write a number without quotes");
            return std::nullopt;
        }
        if (integer && std::isfinite(*v) && std::nearbyint(*v) != *v) {
            error(n->source(), std::string(where) + "." + std::string(key) + " must be a whole number", "drop the fraction");
            return std::nullopt;
        }
        if (!std::isfinite(*v) || *v < lo || *v > hi) {
            char buf[128];
            std::snprintf(buf, sizeof buf, "%g to %g", lo, hi);
            error(n->source(), std::string(where) + "." + std::string(key) + " is out of range",
                  std::string("use a value from ") + buf + (unit.empty() ? "" : " " + std::string(unit)));
            return std::nullopt;
        }
        return v;
    }

    std::optional<bool> boolean(toml::table const& t, std::string_view key, std::string_view where) {
        auto const* n = t.get(key);
        if (!n) return std::nullopt;
        if (!n->is_boolean()) {
            error(n->source(), std::string(where) + "." + std::string(key) + " must be true or false", "write true or false");
            return std::nullopt;
        }
        return n->as_boolean()->get();
    }

    toml::table const* table(toml::table const& t, std::string_view key, std::string_view where, bool required) {
        auto const* n = t.get(key);
        if (!n) {
            if (required)
                error(t.source(), "missing table [" + std::string(where) + "]", "add a [" + std::string(where) + "] table");
            return nullptr;
        }
        if (!n->is_table()) {
            error(n->source(), std::string(where) + " must be a table", "write it as [" + std::string(where) + "]");
            return nullptr;
        }
        return n->as_table();
    }

    std::filesystem::path const& file() const { return file_; }

private:
    std::filesystem::path file_;
    std::vector<config_error>& errors_;
};

// Reads a token file: at most 4 KiB, a UTF-8 byte-order mark and surrounding
// white space dropped, the first line only. Empty on failure, with `why`
// saying what is wrong, never quoting the content.
inline std::string read_token_file(std::filesystem::path const& p, std::string& why) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        why = "cannot be read";
        return {};
    }
    std::string text(4097, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > 4096) {
        why = "is larger than 4 KiB: not a token";
        return {};
    }
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    auto const nl = text.find('\n');
    if (nl != std::string::npos) text.resize(nl);
    auto const first = text.find_first_not_of(" \t\r");
    auto const last = text.find_last_not_of(" \t\r");
    text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
    if (text.empty()) {
        why = "is empty";
        return {};
    }
    // A bearer token (RFC 6750 b64token): anything else would break the header.
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-._~+/=").find(c) != std::string_view::npos)) {
            why = "holds a character a bearer token cannot have (letters, digits and -._~+/= only)";
            return {};
        }
    return text;
}

// Where a relative token_file is. systemd's LoadCredential= of a directory
// names each file's credential "<id>_<file>" ("tokens_battery-1.token");
// a credential given one by one keeps its own name. Both are looked for.
inline std::filesystem::path token_path(std::string const& name, std::filesystem::path const& config_dir,
                                        std::optional<std::filesystem::path> const& credentials) {
    std::filesystem::path p = name;
    if (p.is_absolute()) return p;
    if (!credentials) return config_dir / p;
    if (name.find('/') == std::string::npos) {
        auto const prefixed = *credentials / ("tokens_" + name);
        if (std::filesystem::exists(prefixed)) return prefixed;
    }
    return *credentials / p;
}

inline std::chrono::milliseconds ms_of(double seconds) {
    return std::chrono::milliseconds{static_cast<long long>(std::llround(seconds * 1000.0))};
}

} // namespace detail

// Reads, checks and completes the configuration (token files read, register
// maps loaded, ratings checked against the mFRR minimum). Errors: all of them.
inline daemon_config load_config(std::filesystem::path const& path, environment const& env,
                                 std::vector<config_error>& errors) {
    daemon_config c;
    c.file = path;
    detail::reader rd(path, errors);
    toml::table doc;
    try {
        doc = toml::parse_file(path.string());
    } catch (toml::parse_error const& e) {
        if (e.source().begin.line == 0) rd.error_file(std::string(e.description()), "check that the file exists and is readable");
        else rd.error(e.source(), "TOML syntax: " + std::string(e.description()), "see https://toml.io for the syntax");
        return c;
    }
    rd.only(doc, "the file", {"cleori", "daemon", "asset"});

    if (auto const* t = rd.table(doc, "cleori", "cleori", true)) {
        rd.only(*t, "[cleori]", {"base_url", "ca_file", "allow_insecure_http", "telemetry_interval_s", "poll_interval_s"});
        if (auto v = rd.string(*t, "base_url", "[cleori]", true)) c.base_url = *v;
        if (auto v = rd.string(*t, "ca_file", "[cleori]", false)) c.ca_file = *v;
        if (auto v = rd.boolean(*t, "allow_insecure_http", "[cleori]")) c.allow_insecure_http = *v;
        if (auto v = rd.number(*t, "telemetry_interval_s", "[cleori]", 0.1, 10, false, "seconds (Cleori requires at most 10)"))
            c.telemetry_interval = detail::ms_of(*v);
        if (auto v = rd.number(*t, "poll_interval_s", "[cleori]", 0.1, 60, false, "seconds (Cleori requires at most 60)"))
            c.poll_interval = detail::ms_of(*v);
        if (!c.base_url.empty()) {
            auto const* n = t->get("base_url");
            if (auto u = cleori::parse_base_url(c.base_url); !u)
                rd.error(n->source(), "[cleori].base_url: " + u.error().message(), "write e.g. \"https://api.cleori.example\"");
            else if (!u->tls && !c.allow_insecure_http && !cleori::is_loopback_host(u->host))
                rd.error(n->source(), "[cleori].base_url: plain http:// to a host that is not loopback would send the token in clear",
                         "use https://, or set allow_insecure_http = true for a trusted network");
        }
        if (!c.ca_file.empty() && (!std::filesystem::is_regular_file(c.ca_file) || !std::ifstream(c.ca_file)))
            rd.error(t->get("ca_file")->source(), "[cleori].ca_file " + c.ca_file + " is not a readable file",
                     "point it at a PEM file of trusted CAs readable by the daemon's user, or remove it to use the system's");
    }

    if (env.state_directory) c.state_directory = *env.state_directory;
    if (auto const* t = rd.table(doc, "daemon", "daemon", false)) {
        rd.only(*t, "[daemon]", {"state_directory", "metrics_listen", "stop_timeout_s", "auth_failures_to_exit", "log_level",
                                 "audit", "audit_max_mb", "audit_keep"});
        if (auto v = rd.string(*t, "state_directory", "[daemon]", false)) c.state_directory = *v;
        if (auto v = rd.boolean(*t, "audit", "[daemon]")) c.audit = *v;
        if (auto v = rd.number(*t, "audit_max_mb", "[daemon]", 1, 4096, false, "MiB per audit file before it rotates", true))
            c.audit_max_bytes = static_cast<std::uint64_t>(*v) * 1024 * 1024;
        if (auto v = rd.number(*t, "audit_keep", "[daemon]", 0, 100, false, "rotated audit files kept per asset", true))
            c.audit_keep = static_cast<unsigned>(*v);
        if (auto v = rd.string(*t, "metrics_listen", "[daemon]", false)) {
            auto const* n = t->get("metrics_listen");
            if (v->empty()) {
                c.metrics = false;
            } else {
                auto const colon = v->rfind(':');
                boost::system::error_code ec;
                auto const host = colon == std::string::npos ? std::string() : v->substr(0, colon);
                auto const addr = boost::asio::ip::make_address(host.size() > 1 && host.front() == '[' ? host.substr(1, host.size() - 2) : host, ec);
                char* end = nullptr;
                long const port = colon == std::string::npos ? -1 : std::strtol(v->c_str() + colon + 1, &end, 10);
                if (ec || port < 0 || port > 65535 || (end && *end != '\0'))
                    rd.error(n->source(), "[daemon].metrics_listen \"" + *v + "\" is not ADDRESS:PORT",
                             "write e.g. \"127.0.0.1:9464\", or \"\" to turn the endpoint off");
                else if (!addr.is_loopback())
                    rd.error(n->source(), "[daemon].metrics_listen must be a loopback address: the endpoint has no authentication",
                             "use 127.0.0.1 or [::1] and let a local Prometheus agent (or a reverse proxy) expose it");
                else {
                    c.metrics_address = addr.to_string();
                    c.metrics_port = static_cast<unsigned short>(port);
                }
            }
        }
        // Below the unit's TimeoutStopSec=60, or systemd kills it before baseline.
        if (auto v = rd.number(*t, "stop_timeout_s", "[daemon]", 1, 50, false, "seconds (the unit's TimeoutStopSec is 60)"))
            c.stop_timeout = detail::ms_of(*v);
        if (auto v = rd.number(*t, "auth_failures_to_exit", "[daemon]", 1, 1000, false, "", true))
            c.auth_failures_to_exit = static_cast<unsigned>(*v);
        if (auto v = rd.string(*t, "log_level", "[daemon]", false)) {
            if (*v == "debug") c.log_level = cleori::log_level::debug;
            else if (*v == "info") c.log_level = cleori::log_level::info;
            else if (*v == "warning") c.log_level = cleori::log_level::warning;
            else if (*v == "error") c.log_level = cleori::log_level::error;
            else rd.error(t->get("log_level")->source(), "[daemon].log_level \"" + *v + "\" is not a level", "use debug, info, warning or error");
        }
    }

    auto const* assets = doc.get("asset");
    if (!assets) {
        rd.error(doc.source(), "no [[asset]] table", "add one [[asset]] per battery, with id, token_file and device");
        return c;
    }
    if (!assets->is_array_of_tables()) {
        rd.error(assets->source(), "asset must be an array of tables", "write each asset as [[asset]]");
        return c;
    }
    std::set<std::string> ids;
    auto const dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    for (auto const& node : *assets->as_array()) {
        auto const& t = *node.as_table();
        asset_config a;
        rd.only(t, "[[asset]]", {"id", "token_file", "device", "ratings", "simulated", "modbus"});
        auto const id = rd.string(t, "id", "[[asset]]", true);
        std::string const where = "[[asset]] '" + id.value_or("?") + "'";
        if (id) {
            bool const valid = !id->empty() && id->size() <= 64 &&
                               id->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
                                   std::string::npos;
            if (!valid)
                rd.error(t.get("id")->source(), where + ": the id must be 1-64 letters, digits, '-', '_' or '.'",
                         "it names the journal file and the metrics label; pick a plain name");
            else if (!ids.insert(*id).second)
                rd.error(t.get("id")->source(), where + ": the id is used twice", "give each asset its own id");
            a.id = *id;
        }
        if (auto tf = rd.string(t, "token_file", where, true)) {
            auto const p = detail::token_path(*tf, dir, env.credentials_directory);
            a.token_path = p;
            std::string why;
            a.token = detail::read_token_file(p, why);
            // The path is printed, never the content; a token pasted in place
            // of a file name is not printed either.
            bool const looks_like_a_path = tf->size() <= 64 || tf->find('/') != std::string::npos;
            if (a.token.empty())
                rd.error(t.get("token_file")->source(),
                         where + ": token file " + (looks_like_a_path ? p.string() : std::string("(the name given)")) + " " + why,
                         "put the asset token on the first line of a file readable by the daemon only; under systemd the unit's "
                         "LoadCredential= delivers /etc/cleori/tokens/<token_file>");
        }
        auto const device = rd.string(t, "device", where, true);
        if (device && *device == "simulated") a.kind = device_kind::simulated;
        else if (device && *device == "modbus") a.kind = device_kind::modbus;
        else if (device)
            rd.error(t.get("device")->source(), where + ": device \"" + *device + "\" is not known",
                     "use \"modbus\" (a PCS over Modbus TCP) or \"simulated\" (a plant model, for trials)");

        if (a.kind == device_kind::simulated) {
            if (auto const* r = t.get("ratings"))
                rd.error(r->source(), where + ": the simulated battery has fixed ratings (200 kWh, 100 kW, 500 ms, 90 %)",
                         "remove [asset.ratings], or use device = \"modbus\"");
            if (auto const* m = t.get("modbus"))
                rd.error(m->source(), where + ": [asset.modbus] is for device = \"modbus\"", "remove it, or set device = \"modbus\"");
            if (auto const* s = rd.table(t, "simulated", "asset.simulated", false)) {
                rd.only(*s, "[asset.simulated]", {"initial_soc_pct"});
                if (auto v = rd.number(*s, "initial_soc_pct", "[asset.simulated]", 0, 100, false, "%")) a.initial_soc_pct = *v;
            }
        } else if (device) {
            if (auto const* s = t.get("simulated"))
                rd.error(s->source(), where + ": [asset.simulated] is for device = \"simulated\"", "remove it");
            if (auto const* r = rd.table(t, "ratings", "asset.ratings", true)) {
                rd.only(*r, "[asset.ratings]", {"capacity_kwh", "max_charge_kw", "max_discharge_kw", "response_time_ms",
                                                "round_trip_efficiency_pct", "chemistry", "min_soc_pct", "max_soc_pct"});
                auto num = [&](std::string_view k, double lo, double hi, bool req, std::string_view unit) {
                    return rd.number(*r, k, "[asset.ratings]", lo, hi, req, unit);
                };
                auto cap = num("capacity_kwh", 0.001, 1e7, true, "kWh");
                auto chg = num("max_charge_kw", 0.001, 1e7, true, "kW");
                auto dis = num("max_discharge_kw", 0.001, 1e7, true, "kW");
                auto rsp = num("response_time_ms", 1, 600000, true, "ms");
                auto eff = num("round_trip_efficiency_pct", 1, 100, true, "%");
                auto lo = num("min_soc_pct", 0, 100, false, "%");
                auto hi = num("max_soc_pct", 0, 100, false, "%");
                if (cap) a.ratings.capacity = cleori::kilowatt_hours{*cap};
                if (chg) a.ratings.max_charge = cleori::kilowatts{*chg};
                if (dis) a.ratings.max_discharge = cleori::kilowatts{*dis};
                if (rsp) a.ratings.response_time = std::chrono::milliseconds{static_cast<long long>(std::llround(*rsp))};
                if (eff) a.ratings.round_trip_efficiency = cleori::percent{*eff};
                if (lo) a.ratings.min_soc = cleori::percent{*lo};
                if (hi) a.ratings.max_soc = cleori::percent{*hi};
                if (auto chem = rd.string(*r, "chemistry", "[asset.ratings]", true)) {
                    bool known = false;
                    for (auto ch : {cleori::chemistry::li_ion, cleori::chemistry::lifepo4, cleori::chemistry::flow,
                                    cleori::chemistry::sodium_ion, cleori::chemistry::other})
                        if (cleori::to_string(ch) == *chem) {
                            a.ratings.chemistry = ch;
                            known = true;
                        }
                    if (!known)
                        rd.error(r->get("chemistry")->source(), "[asset.ratings].chemistry \"" + *chem + "\" is not known",
                                 "use li-ion, lifepo4, flow, sodium-ion or other");
                }
                if (cap && chg && dis && rsp && eff && (!lo || !hi || *lo < *hi))
                    for (auto const& v : cleori::check_mfrr_minimum(a.ratings))
                        rd.error(r->source(), where + ": " + v.message, "Cleori's mFRR minimum cannot be configured away; this battery cannot take part");
                if (lo && hi && *lo >= *hi)
                    rd.error(r->source(), where + ": min_soc_pct must be below max_soc_pct", "e.g. min_soc_pct = 5, max_soc_pct = 95");
            }
            if (auto const* m = rd.table(t, "modbus", "asset.modbus", true)) {
                rd.only(*m, "[asset.modbus]", {"host", "port", "map", "unit_id", "timeout_ms"});
                if (auto v = rd.string(*m, "host", "[asset.modbus]", true)) a.modbus.host = *v;
                if (auto v = rd.number(*m, "port", "[asset.modbus]", 1, 65535, false, "", true)) a.modbus.port = std::to_string(static_cast<int>(*v));
                if (auto v = rd.number(*m, "timeout_ms", "[asset.modbus]", 50, 60000, false, "ms", true))
                    a.modbus.timeout = std::chrono::milliseconds{static_cast<long long>(*v)};
                if (auto v = rd.string(*m, "map", "[asset.modbus]", true)) {
                    std::filesystem::path mp = *v;
                    if (mp.is_relative()) mp = dir / mp;
                    a.modbus.map_path = mp.string();
                    std::string why;
                    if (auto map = cleori::modbus::load_register_map(mp.string(), &why)) a.modbus.map = std::move(*map);
                    else rd.error(m->get("map")->source(), why, "fix the map file (doc/devices.md has the reference)");
                }
                if (auto v = rd.number(*m, "unit_id", "[asset.modbus]", 0, 255, false, "", true))
                    a.modbus.map.unit_id = static_cast<std::uint8_t>(*v);
            }
        }
        c.assets.push_back(std::move(a));
    }
    if (!c.state_directory.empty()) {
        if (!std::filesystem::is_directory(c.state_directory))
            rd.error_file("state directory " + c.state_directory.string() + " does not exist",
                          "create it (systemd: StateDirectory=cleori-agentd does), or remove [daemon].state_directory");
        else if (::access(c.state_directory.c_str(), W_OK | X_OK) != 0)
            rd.error_file("state directory " + c.state_directory.string() + " is not writable by this user",
                          "under systemd keep the default ($STATE_DIRECTORY); ProtectSystem=strict makes other paths read-only");
    }
    return c;
}

} // namespace agentd
