// Fleet baseline a user might write by hand: libcurl multi (one thread, shared
// connection cache limited to K connections per host) + nlohmann/json. Each
// asset sends telemetry and polls on its own schedule and confirms new
// activations. Same arguments and result line as fleet_client. Like an
// agent, an asset has at most one telemetry request and one poll in flight:
// one that is due while the last is still running is skipped, so a harness
// that falls behind does less work (which fleet_scale.py reports) instead of
// queueing requests without end. Requests wait in the harness's own queue
// until a connection is free: libcurl's multi handle walks every handle it
// holds on each call, so handing it tens of thousands of requests that wait
// for one of K connections makes each call cost O(assets) and the harness
// fall behind from 20,000 assets. With --tick-ms, what falls due is done on
// a grid of that many ms (rounded up), as cleori::coalescing_clock does.
#include "support/fleet_common.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <deque>
#include <queue>
#include <set>
#include <utility>
#include <vector>

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string rfc3339_now() {
    auto const t = std::chrono::system_clock::now();
    std::time_t const s = std::chrono::system_clock::to_time_t(t);
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms));
    return out;
}

enum class kind { telemetry, poll, confirm };
struct request {
    CURL* h = nullptr;
    std::size_t asset = 0;
    kind k = kind::poll;
    std::string out, in;
};
struct asset_state {
    curl_slist* headers = nullptr;
    std::set<std::string> seen;
    bool telemetry_in_flight = false, poll_in_flight = false;
};

size_t collect(char* p, size_t size, size_t n, void* r) {
    static_cast<request*>(r)->in.append(p, size * n);
    return size * n;
}

} // namespace

int main(int argc, char** argv) {
    auto const o = bench::parse_fleet_args(argc, argv);
    auto const rss_before = bench::rss();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(o.connections));
    std::vector<asset_state> assets(o.assets);
    for (std::size_t i = 0; i < o.assets; ++i) {
        assets[i].headers = curl_slist_append(nullptr, ("Authorization: Bearer " + bench::fleet_token(i)).c_str());
        assets[i].headers = curl_slist_append(assets[i].headers, "Content-Type: application/json");
    }
    std::vector<CURL*> free_handles;
    // At most one request per connection is in libcurl's hands; the rest wait here.
    struct waiting_request {
        std::size_t asset;
        kind k;
        std::string target, body;
    };
    std::deque<waiting_request> waiting;
    std::size_t in_curl = 0;
    auto launch = [&](std::size_t a, kind k, std::string const& target, std::string body) {
        CURL* h = nullptr;
        if (free_handles.empty()) h = curl_easy_init();
        else {
            h = free_handles.back();
            free_handles.pop_back();
            curl_easy_reset(h);
        }
        auto* r = new request{h, a, k, std::move(body), {}};
        std::string const url = o.url + target;
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, assets[a].headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_PRIVATE, r);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        if (!o.ca.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o.ca.c_str());
        if (k != kind::poll) curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->out.c_str());
        curl_multi_add_handle(multi, h);
        ++in_curl;
    };
    auto start = [&](std::size_t a, kind k, std::string target, std::string body) {
        waiting.push_back({a, k, std::move(target), std::move(body)});
    };
    auto hand_over = [&] {
        bool any = false;
        for (; in_curl < o.connections && !waiting.empty(); waiting.pop_front(), any = true)
            launch(waiting.front().asset, waiting.front().k, waiting.front().target, std::move(waiting.front().body));
        return any;
    };
    // (due, asset, kind) — a min-heap of what is due next.
    using due = std::tuple<std::int64_t, std::size_t, kind>;
    std::priority_queue<due, std::vector<due>, std::greater<>> schedule;
    auto const tick_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(o.tick).count();
    auto const on_grid = [tick_ns](std::int64_t t) { return tick_ns > 0 ? (t + tick_ns - 1) / tick_ns * tick_ns : t; };
    auto const t0 = now_ns();
    auto const tel_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(o.telemetry).count();
    auto const poll_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(o.poll).count();
    for (std::size_t i = 0; i < o.assets; ++i) {
        auto const offset = std::chrono::duration_cast<std::chrono::nanoseconds>(bench::start_offset(i, o)).count();
        schedule.emplace(t0 + offset, i, kind::telemetry);
        schedule.emplace(t0 + offset, i, kind::poll);
    }
    auto const cpu_before = bench::cpu_seconds();
    auto const end = t0 + std::chrono::duration_cast<std::chrono::nanoseconds>(o.duration).count();
    bench::fleet_work w;
    int running = 0;
    while (now_ns() < end || in_curl > 0 || !waiting.empty()) {
        auto const now = now_ns();
        while (now < end && !schedule.empty() && on_grid(std::get<0>(schedule.top())) <= now) {
            auto [when, a, k] = schedule.top();
            schedule.pop();
            if (k == kind::telemetry) {
                if (!std::exchange(assets[a].telemetry_in_flight, true))
                    start(a, k, "/v1/telemetry", R"({"time":")" + rfc3339_now() + R"(","power":0.0,"soc":50.0})");
                schedule.emplace(when + tel_ns, a, k);
            } else {
                if (!std::exchange(assets[a].poll_in_flight, true))
                    start(a, k, "/v1/activations?limit=100&offset=0", {});
                schedule.emplace(when + poll_ns, a, k);
            }
        }
        hand_over();
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            request* r = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            bool const ok = m->data.result == CURLE_OK && status >= 200 && status < 300;
            if (!ok) ++w.failures;
            if (r->k == kind::telemetry) assets[r->asset].telemetry_in_flight = false;
            if (r->k == kind::poll) assets[r->asset].poll_in_flight = false;
            if (ok && r->k == kind::telemetry) ++w.samples_sent;
            if (ok && r->k == kind::poll) {
                ++w.polls;
                auto const doc = nlohmann::json::parse(r->in, nullptr, false);
                if (!doc.is_discarded() && doc.contains("data"))
                    for (auto const& act : doc["data"]) {
                        std::string id = act["id"];
                        if (!assets[r->asset].seen.insert(id).second) continue;
                        double const kw = act["power"].get<double>() * (act["direction"] == "up" ? -1.0 : 1.0);
                        nlohmann::json c{{"time", rfc3339_now()}, {"status", "executing"}, {"setpoint", kw}};
                        start(r->asset, kind::confirm, "/v1/activations/" + id + "/confirm", c.dump());
                    }
            }
            curl_multi_remove_handle(multi, m->easy_handle);
            free_handles.push_back(m->easy_handle);
            --in_curl;
            delete r;
        }
        if (hand_over()) continue; // a freed connection takes the next request now
        std::int64_t wait_ms = 100;
        if (!schedule.empty()) // round up: waking early would spin until the deadline
            wait_ms = std::max<std::int64_t>(0, (on_grid(std::get<0>(schedule.top())) - now_ns() + 999999) / 1000000);
        if (now_ns() >= end) wait_ms = 10;
        curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::min<std::int64_t>(wait_ms, 100)), nullptr);
    }
    bench::print_fleet_result(bench::cpu_seconds() - cpu_before, rss_before, bench::rss(), w);
    for (auto* h : free_handles) curl_easy_cleanup(h);
    curl_multi_cleanup(multi);
    return 0;
}
