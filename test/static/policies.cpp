// Positive and negative checks of the Transport, RetryStrategy, Profile and Policies concepts.
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/transport/http.hpp>

#include <cleori/api/profile.hpp>
#include <cleori/client/api_client.hpp>
#include <cleori/policies.hpp>

#include <cleori/testing/memory_transport.hpp>

#include <cleori/transport/beast_transport.hpp>

#include <functional>
#include <type_traits>

namespace {
using cleori::http_request;
using cleori::http_response;
using cleori::retry_context;
using steady = std::chrono::steady_clock;

// Transport
static_assert(cleori::Transport<cleori::beast_transport>);
static_assert(cleori::Transport<cleori::testing::memory_transport>);
struct no_request {
    boost::asio::any_io_executor get_executor() { return {}; }
};
struct no_executor {
    void async_request(http_request, auto) {}
};
struct wrong_handler_signature { // would call the handler without the response
    void async_request(http_request, std::function<void(boost::system::error_code)>) {}
    boost::asio::any_io_executor get_executor() { return {}; }
};
static_assert(!cleori::Transport<no_request>);
static_assert(!cleori::Transport<no_executor>);
static_assert(!cleori::Transport<wrong_handler_signature>);
static_assert(!cleori::Transport<int>);

// RetryStrategy
static_assert(cleori::RetryStrategy<cleori::no_retry>);
static_assert(cleori::RetryStrategy<cleori::exponential_backoff>);
static_assert(cleori::RetryStrategy<cleori::default_retry>);
static_assert(cleori::RetryStrategy<cleori::retry_budget<cleori::no_retry>>);
struct fixed_delay { // the minimal model, as in doc/concepts/RetryStrategy.md
    cleori::result<std::chrono::milliseconds> next_delay(retry_context const& c) {
        if (c.attempt > 3) return cleori::error::attempts_exhausted;
        return std::chrono::milliseconds(100);
    }
    void on_success(steady::time_point) {}
};
static_assert(cleori::RetryStrategy<fixed_delay>);
struct bare_duration {
    std::chrono::milliseconds next_delay(retry_context const&) { return {}; }
    void on_success(steady::time_point) {}
};
struct no_on_success {
    cleori::result<std::chrono::milliseconds> next_delay(retry_context const&) { return std::chrono::milliseconds(1); }
};
static_assert(!cleori::RetryStrategy<bare_duration>);
static_assert(!cleori::RetryStrategy<no_on_success>);

// Profile: the shipped one, one derived from it, and ones that miss a member
// or give it an unusable type.
static_assert(cleori::Profile<cleori::api_profile_v1>);
struct staging_profile : cleori::api_profile_v1 { // as in doc/concepts/Profile.md
    static constexpr std::string_view telemetry_path = "/v1/assets/telemetry";
    static constexpr std::size_t max_telemetry_batch = 50;
};
static_assert(cleori::Profile<staging_profile>);
struct paths_only {
    static constexpr std::string_view telemetry_path = "/v1/telemetry";
};
static_assert(!cleori::Profile<paths_only>);
struct numeric_path : cleori::api_profile_v1 {
    static constexpr int telemetry_path = 3;
};
static_assert(!cleori::Profile<numeric_path>);

// Transport and Clock: the handler is move-only and called once as an rvalue.
struct function_transport {
    boost::asio::any_io_executor get_executor() { return {}; }
    void async_request(cleori::http_request, std::function<void(boost::system::error_code, cleori::http_response const&)>) {}
};
static_assert(!cleori::Transport<function_transport>);
struct int_executor_transport {
    int get_executor() { return 0; }
    template <class H>
    void async_request(cleori::http_request, H&&) {}
};
static_assert(!cleori::Transport<int_executor_transport>);

// Policies: the defaults, a bundle that shadows one member (the agent and the
// client read the rest from the defaults), and ones that are not bundles.
static_assert(cleori::Policies<cleori::default_policies>);
struct staging_policies : cleori::default_policies { // as in doc/concepts/Profile.md
    using profile = staging_profile;
};
static_assert(cleori::Policies<staging_policies>);
static_assert(std::is_same_v<cleori::basic_api_client<cleori::testing::memory_transport, staging_policies>::profile_type,
                             staging_profile>);
static_assert(std::is_same_v<cleori::basic_api_client<cleori::testing::memory_transport, staging_policies>::retry_type,
                             cleori::default_retry>);
static_assert(std::is_same_v<cleori::basic_api_client<cleori::testing::memory_transport>::clock_type, cleori::real_clock>);
struct no_store {
    using clock = cleori::real_clock;
    using retry = cleori::default_retry;
    using profile = cleori::api_profile_v1;
};
static_assert(!cleori::Policies<no_store>);
static_assert(!cleori::Policies<cleori::no_retry>);
static_assert(!cleori::Policies<int>);
} // namespace
