// A retry strategy whose next_delay returns a bare duration gets one error.
// expect: cleori::api_client: 'Policies::retry' does not model RetryStrategy
// expect: See doc/concepts/RetryStrategy.md
// expect-errors: 1
#include <cleori/client/api_client.hpp>

#include <cleori/testing/memory_transport.hpp>

struct bad_retry {
    std::chrono::milliseconds next_delay(cleori::retry_context const&) { return {}; }
    void on_success(std::chrono::steady_clock::time_point) {}
};

struct bad_retry_policies : cleori::default_policies {
    using retry = bad_retry;
};

int main() {
    boost::asio::io_context io;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_api_client<cleori::testing::memory_transport, bad_retry_policies> client{t};
    static_cast<void>(client);
}
