// Passing a retry strategy where the client takes its policies bundle (the
// pre-bundle spelling basic_api_client<T, no_retry>) gets one error saying
// what to write instead.
// expect: cleori::api_client: 'Policies' does not model Policies
// expect: shadow what differs \(clock, retry, profile, store\)
// expect-errors: 1
#include <cleori/client/api_client.hpp>

#include <cleori/testing/memory_transport.hpp>

int main() {
    boost::asio::io_context io;
    cleori::testing::memory_transport t{io.get_executor()};
    cleori::basic_api_client<cleori::testing::memory_transport, cleori::no_retry> client{t, cleori::no_retry{}};
    static_cast<void>(client);
}
