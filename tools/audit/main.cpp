// cleori-audit: a summary per activation of the audit trail that
// cleori::audit_log writes (requested and delivered energy, verdict,
// confirmation, end). See doc/audit.md.
#include <cleori/engine/audit_log.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr const char* usage =
    "usage: cleori-audit [--json] FILE...\n"
    "Summarises the audit trail of a cleori agent (JSON Lines written by cleori::audit_log):\n"
    "one row per activation with the requested power and window, the verdict, Cleori's answer\n"
    "to the confirmation, the energy requested and delivered (kWh, - export, + import), their\n"
    "ratio and the end reason; then totals per direction. Rotated files (audit.jsonl.1, .2 ...)\n"
    "may be given in any order: they are read oldest first. --json prints the same as JSON.\n"
    "Malformed lines are reported as FILE:LINE on stderr, counted, and skipped.\n"
    "Exit status: 0 read, 1 a file cannot be read, 2 usage error.\n";

struct summary {
    std::string id;
    std::optional<cleori::audit_request> received;
    std::optional<cleori::audit_request> latest; // after the last modification
    std::string verdict = "-";
    std::vector<std::string> confirmations; // one per confirmation: its final answer
    bool confirmation_open = false;         // the last one failed and is being retried
    std::string reason; // why it was refused or reported unavailable
    double requested_kwh = 0;
    double delivered_kwh = 0;
    std::uint64_t samples = 0;
    bool has_energy = false;
    bool refused = false;
    std::string end = "-";
};

struct malformed_line {
    std::string file;
    std::size_t line;
    std::string why;
};

// audit.jsonl.3 is older than audit.jsonl.1, which is older than audit.jsonl.
unsigned rotation_of(std::string const& path) {
    auto const dot = path.find_last_of('.');
    if (dot == std::string::npos || dot + 1 == path.size()) return 0;
    auto const tail = path.substr(dot + 1);
    if (!std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; }) || tail.size() > 6) return 0;
    return static_cast<unsigned>(std::stoul(tail));
}

std::string kw(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}
std::string kwh(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}
std::optional<double> ratio_of(double delivered, double requested) {
    if (std::abs(requested) < 1e-9) return std::nullopt;
    return delivered / requested;
}
std::string percent_text(std::optional<double> r) {
    if (!r) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %%", *r * 100);
    return buf;
}
double signed_kw(cleori::audit_request const& r) {
    return r.direction == cleori::mfrr_direction::up ? -r.power.in_kw() : r.power.in_kw();
}
std::string window_text(cleori::audit_request const& r) {
    return cleori::to_rfc3339(r.start) + " - " + (r.end ? cleori::to_rfc3339(*r.end) : std::string("open"));
}
std::string confirmed_text(summary const& s) {
    std::string out;
    for (auto const& c : s.confirmations) out += (out.empty() ? "" : ", ") + c;
    return out.empty() ? "-" : out;
}
std::string requested_text(summary const& s) {
    if (!s.received && !s.latest) return "?";
    auto const& first = s.received ? *s.received : *s.latest;
    std::string out = kw(signed_kw(first));
    if (s.latest && signed_kw(*s.latest) != signed_kw(first)) out += " -> " + kw(signed_kw(*s.latest));
    return out;
}

class collector {
public:
    void add(cleori::audit_record const& r) {
        auto& s = at(r.activation);
        std::visit([&](auto const& d) { apply(s, d); }, r.data);
    }
    std::vector<summary> const& all() const noexcept { return list_; }

private:
    summary& at(std::string const& id) {
        auto [it, fresh] = index_.try_emplace(id, list_.size());
        if (fresh) {
            list_.emplace_back();
            list_.back().id = id;
        }
        return list_[it->second];
    }
    static void apply(summary& s, cleori::audit_received const& d) {
        s.received = d;
        s.latest = d;
    }
    static void apply(summary& s, cleori::audit_modified const& d) { s.latest = d; }
    static void apply(summary& s, cleori::audit_assessed const& d) {
        s.verdict = d.feasible ? "accepted " + kw(d.share.in_kw()) : "refused";
        if (!d.feasible) s.reason = d.reason;
    }
    static void apply(summary&, cleori::audit_commanded const&) {}
    static void apply(summary& s, cleori::audit_confirmed const& d) {
        std::string answer(cleori::to_string(d.answer));
        if (d.http_status) answer += " " + std::to_string(d.http_status);
        std::string item = std::string(cleori::detail::audit_name(d.sent.status)) + " " + answer;
        // A failed attempt is replaced by the next answer to the same confirmation.
        if (s.confirmation_open && !s.confirmations.empty()) s.confirmations.back() = std::move(item);
        else s.confirmations.push_back(std::move(item));
        s.confirmation_open = d.answer == cleori::confirmation_answer::failed;
        if (d.sent.reason && s.reason.empty()) s.reason = *d.sent.reason;
    }
    static void apply(summary& s, cleori::audit_ended const& d) {
        s.requested_kwh += d.requested_kwh.in_kwh();
        s.delivered_kwh += d.delivered_kwh.in_kwh();
        s.samples += d.samples;
        s.has_energy = true;
        s.refused = d.refused;
        std::string const reason{cleori::detail::audit_name(d.reason)};
        s.end = d.refused ? "refused (" + reason + ")" : reason;
        if (!d.why.empty() && s.reason.empty()) s.reason = d.why;
    }

    std::map<std::string, std::size_t> index_;
    std::vector<summary> list_;
};

} // namespace

int main(int argc, char** argv) {
    bool json = false;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            return 0;
        }
        if (a == "--json") json = true;
        else if (a.size() > 1 && a[0] == '-') {
            std::cerr << "cleori-audit: unknown option '" << a << "'\n" << usage;
            return 2;
        } else files.push_back(a);
    }
    if (files.empty()) {
        std::cerr << "cleori-audit: no file given\n" << usage;
        return 2;
    }
    std::stable_sort(files.begin(), files.end(),
                     [](std::string const& x, std::string const& y) { return rotation_of(x) > rotation_of(y); });

    collector c;
    std::vector<malformed_line> malformed;
    std::size_t records = 0;
    int status = 0;
    for (auto const& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
            std::cerr << "cleori-audit: cannot read '" << f << "': " << std::strerror(errno) << "\n";
            status = 1;
            continue;
        }
        std::string line;
        for (std::size_t n = 1; std::getline(in, line); ++n) {
            if (line.empty() || line == "\r") continue;
            std::string why;
            auto r = cleori::decode_audit_record(line, &why);
            if (!r) {
                std::cerr << f << ":" << n << ": malformed audit record: " << why << "\n";
                malformed.push_back({f, n, why});
                continue;
            }
            ++records;
            c.add(*r);
        }
        if (in.bad()) {
            std::cerr << "cleori-audit: cannot read '" << f << "': " << std::strerror(errno) << "\n";
            status = 1;
        }
    }

    struct direction_total {
        double requested = 0, delivered = 0;
        std::size_t count = 0;
    } up, down;
    std::size_t refused = 0;
    for (auto const& s : c.all()) {
        refused += s.refused;
        auto const* r = s.latest ? &*s.latest : nullptr;
        if (!r) continue;
        auto& t = r->direction == cleori::mfrr_direction::up ? up : down;
        ++t.count;
        t.requested += s.requested_kwh;
        t.delivered += s.delivered_kwh;
    }

    if (json) {
        using namespace cleori::detail;
        std::string out = "{\"activations\":[";
        bool first = true;
        for (auto const& s : c.all()) {
            if (!first) out += ',';
            first = false;
            out += "{\"id\":";
            append_json_string(out, s.id);
            auto const* r = s.latest ? &*s.latest : nullptr;
            out += ",\"direction\":";
            if (r) append_json_string(out, r->direction == cleori::mfrr_direction::up ? "up" : "down");
            else out += "null";
            out += ",\"requested_kw\":";
            if (s.received) append_json_number(out, signed_kw(*s.received));
            else out += "null";
            out += ",\"latest_kw\":";
            if (r) append_json_number(out, signed_kw(*r));
            else out += "null";
            out += ",\"start\":";
            if (r) append_json_timestamp(out, r->start);
            else out += "null";
            out += ",\"end\":";
            if (r && r->end) append_json_timestamp(out, *r->end);
            else out += "null";
            out += ",\"assessed\":";
            append_json_string(out, s.verdict);
            out += ",\"confirmed\":";
            append_json_string(out, confirmed_text(s));
            out += ",\"requested_kwh\":";
            if (s.has_energy) append_json_number(out, s.requested_kwh);
            else out += "null";
            out += ",\"delivered_kwh\":";
            if (s.has_energy) append_json_number(out, s.delivered_kwh);
            else out += "null";
            out += ",\"ratio\":";
            if (auto q = s.has_energy ? ratio_of(s.delivered_kwh, s.requested_kwh) : std::nullopt) append_json_number(out, *q);
            else out += "null";
            out += ",\"samples\":" + std::to_string(s.samples);
            out += ",\"end_reason\":";
            append_json_string(out, s.end);
            out += ",\"reason\":";
            if (s.reason.empty()) out += "null";
            else append_json_string(out, s.reason);
            out += '}';
        }
        out += "],\"totals\":{";
        auto total = [&](char const* name, direction_total const& t) {
            out += '"';
            out += name;
            out += "\":{\"activations\":" + std::to_string(t.count) + ",\"requested_kwh\":";
            append_json_number(out, t.requested);
            out += ",\"delivered_kwh\":";
            append_json_number(out, t.delivered);
            out += ",\"ratio\":";
            if (auto q = ratio_of(t.delivered, t.requested)) append_json_number(out, *q);
            else out += "null";
            out += '}';
        };
        total("up", up);
        out += ',';
        total("down", down);
        out += ",\"activations\":" + std::to_string(c.all().size()) + ",\"refused\":" + std::to_string(refused) +
               ",\"records\":" + std::to_string(records) + ",\"malformed\":" + std::to_string(malformed.size()) + "}";
        out += ",\"malformed\":[";
        for (std::size_t i = 0; i < malformed.size(); ++i) {
            if (i) out += ',';
            out += "{\"file\":";
            append_json_string(out, malformed[i].file);
            out += ",\"line\":" + std::to_string(malformed[i].line) + ",\"error\":";
            append_json_string(out, malformed[i].why);
            out += '}';
        }
        out += "]}\n";
        std::cout << out;
        return status;
    }

    // Ids and reasons come from the server: control characters are shown
    // escaped, so a hostile one cannot drive the operator's terminal.
    auto shown = [](std::string_view text) {
        std::string out;
        for (char const byte : text) {
            auto const ch = static_cast<unsigned char>(byte);
            if (ch < 0x20 || ch == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", ch);
                out += buf;
            } else {
                out += static_cast<char>(ch);
            }
        }
        return out;
    };
    std::vector<std::vector<std::string>> rows{{"activation", "dir", "requested kW", "window", "assessed", "confirmed",
                                                "req kWh", "del kWh", "ratio", "end"}};
    for (auto const& s : c.all()) {
        auto const* r = s.latest ? &*s.latest : nullptr;
        rows.push_back({shown(s.id), r ? (r->direction == cleori::mfrr_direction::up ? "up" : "down") : "?",
                        requested_text(s), r ? window_text(*r) : "?", s.verdict,
                        confirmed_text(s), s.has_energy ? kwh(s.requested_kwh) : "-",
                        s.has_energy ? kwh(s.delivered_kwh) : "-",
                        s.has_energy ? percent_text(ratio_of(s.delivered_kwh, s.requested_kwh)) : "-", s.end});
    }
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (auto const& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    for (auto const& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) line += "  ";
            bool const numeric = i >= 6 && i <= 8; // kWh and ratio: right-aligned
            if (numeric) line.append(width[i] - row[i].size(), ' ');
            line += row[i];
            if (!numeric && i + 1 < row.size()) line.append(width[i] - row[i].size(), ' ');
        }
        std::cout << line << "\n";
    }
    std::cout << "\n";
    for (auto const& [name, t] : {std::pair<char const*, direction_total const&>{"up", up}, {"down", down}})
        std::cout << "total " << name << ": " << t.count << " activations, requested " << kwh(t.requested)
                  << " kWh, delivered " << kwh(t.delivered) << " kWh, ratio "
                  << percent_text(ratio_of(t.delivered, t.requested)) << "\n";
    std::cout << c.all().size() << " activations (" << refused << " refused), " << records << " records, "
              << malformed.size() << " malformed lines\n";
    bool heading = false;
    for (auto const& s : c.all()) {
        if (s.reason.empty()) continue;
        if (!heading) std::cout << "\nreasons:\n";
        heading = true;
        std::cout << "  " << shown(s.id) << ": " << shown(s.reason) << "\n";
    }
    return status;
}
