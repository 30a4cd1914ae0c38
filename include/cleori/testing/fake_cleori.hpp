#pragma once
/// @file
/// @brief `cleori::testing::fake_cleori` — an in-memory Cleori for tests of a
/// whole agent in virtual time: it answers the three v1 calls (telemetry,
/// polls, confirmations) as the responder of a `cleori::testing::memory_transport`,
/// records what arrived and when (on the `manual_clock`), and can be taken
/// down (`down`) or made to refuse confirmations (`fail_confirms`).
///
/// @code
/// cleori::manual_clock clock;
/// cleori::testing::fake_cleori cleori{clock};
/// cleori.activations.push_back({.id = "a-1", .direction = cleori::mfrr_direction::up, .power = 50.0_kW,
///                               .start_time = clock.wall_now() + 1min, .end_time = clock.wall_now() + 16min});
/// cleori::testing::memory_transport transport{io.get_executor(), std::ref(cleori)};
/// … run an agent with `.token = cleori.token` …
/// assert(cleori.confirmations_of("a-1") == 1);
/// @endcode
///
/// It is deliberately small: for scripted scenarios, faults, compliance
/// verdicts and a whole market day, use the simulator (`tools/sim/`,
/// doc/simulator.md). See doc/testing.md.
#include <cleori/api/json.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/clock/manual_clock.hpp>
#include <cleori/testing/memory_transport.hpp>
#include <cleori/transport/url.hpp>

#include <boost/asio/error.hpp>

#include <string>
#include <vector>

namespace cleori::testing {

struct fake_cleori {
    explicit fake_cleori(manual_clock c) : clock(std::move(c)) {}

    manual_clock clock;
    std::string token = "token-A";
    bool down = false; ///< every request fails with connection_refused
    unsigned fail_confirms = 0; ///< the next N confirmations get 503

    struct arrival {
        telemetry_sample sample;
        mono_time at;
    };
    std::vector<arrival> samples; ///< every sample received, in arrival order
    std::vector<mono_time> telemetry_requests;
    std::vector<mono_time> polls;
    std::vector<activation> activations; ///< served to polls until their end
    struct confirmation_record {
        std::string id;
        confirmation c;
        mono_time at;
    };
    std::vector<confirmation_record> confirmations; ///< acknowledged ones only
    std::vector<std::string> bearer_tokens; ///< as received, for rotation tests

    std::pair<boost::system::error_code, http_response> operator()(http_request const& req) {
        bearer_tokens.emplace_back(req.bearer_token);
        if (down) return {boost::asio::error::connection_refused, {}};
        if (req.bearer_token != token) return {{}, {401, R"({"error":{"code":"unauthenticated","message":"bad token"}})", {}}};
        std::string_view const path = std::string_view(req.target).substr(0, req.target.find('?'));
        auto const now = clock.now();
        if (path == api_profile_v1::telemetry_path) {
            auto got = decode_telemetry(req.body);
            if (!got) return {{}, {422, R"({"error":{"code":"invalid","message":"bad telemetry"}})", {}}};
            telemetry_requests.push_back(now);
            for (auto const& s : *got) samples.push_back({s, now});
            return {{}, {204, {}, {}}};
        }
        if (path == api_profile_v1::activations_path) {
            polls.push_back(now);
            std::string body = R"({"data":[)";
            std::size_t n = 0;
            for (auto const& a : activations) {
                if (a.has_ended(clock.wall_now())) continue;
                if (n++) body += ',';
                encode_activation(a, body);
            }
            body += R"(],"pagination":{"limit":100,"offset":0,"total":)" + std::to_string(n) + "}}";
            return {{}, {200, std::move(body), {}}};
        }
        auto const prefix = api_profile_v1::confirm_path_prefix;
        auto const suffix = api_profile_v1::confirm_path_suffix;
        if (path.starts_with(prefix) && path.ends_with(suffix)) {
            if (fail_confirms > 0) {
                --fail_confirms;
                return {{}, {503, {}, {}}};
            }
            auto id = cleori::detail::percent_decode(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
            auto c = decode_confirmation(req.body);
            if (!c) return {{}, {422, {}, {}}};
            for (auto const& r : confirmations)
                if (r.id == id) return {{}, {409, {}, {}}};
            confirmations.push_back({id, *c, now});
            return {{}, {200, "{}", {}}};
        }
        return {{}, {404, {}, {}}};
    }

    std::size_t confirmations_of(std::string const& id) const {
        std::size_t n = 0;
        for (auto const& r : confirmations) n += r.id == id;
        return n;
    }
};

} // namespace cleori::testing
