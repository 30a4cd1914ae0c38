// Reference client a user might write by hand: libcurl (one reused easy handle,
// keep-alive) + nlohmann/json. Polls, "commands the device" for each new
// activation, confirms. Prints "set <id> <CLOCK_MONOTONIC ns>" per activation.
//   curl_client <base-url> <ca-file|-> <poll-ms> <activations>
#include "easy_session.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {
std::int64_t mono_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double device_setpoint = 0; // the "device"
} // namespace

int main(int argc, char** argv) {
    if (argc != 5) return 2;
    std::string const base = argv[1], ca = argv[2];
    auto const poll = std::chrono::milliseconds(std::atoi(argv[3]));
    std::size_t const want = static_cast<std::size_t>(std::atol(argv[4]));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    baseline::easy_session session;
    CURL* const h = session.h;
    std::string& body = session.body;
    if (ca != "-") curl_easy_setopt(h, CURLOPT_CAINFO, ca.c_str());
    std::set<std::string> seen;
    std::vector<std::pair<std::string, std::int64_t>> sets;
    std::string const poll_url = base + "/v1/activations?limit=100&offset=0";
    while (sets.size() < want) {
        body.clear();
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_URL, poll_url.c_str());
        if (curl_easy_perform(h) == CURLE_OK) {
            auto const doc = nlohmann::json::parse(body, nullptr, false);
            if (!doc.is_discarded())
                for (auto const& a : doc["data"]) {
                    std::string id = a["id"];
                    if (!seen.insert(id).second) continue;
                    double const kw = a["power"].get<double>() * (a["direction"] == "up" ? -1.0 : 1.0);
                    device_setpoint = kw;
                    sets.emplace_back(id, mono_ns());
                    nlohmann::json c{{"time", "2026-11-26T12:00:00.000Z"}, {"status", "executing"}, {"setpoint", kw}};
                    std::string const payload = c.dump();
                    std::string const url = base + "/v1/activations/" + id + "/confirm";
                    body.clear();
                    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
                    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
                    curl_easy_perform(h);
                }
        }
        std::this_thread::sleep_for(poll);
    }
    for (auto const& [id, ns] : sets) std::printf("set %s %lld\n", id.c_str(), static_cast<long long>(ns));
    return 0;
}
