// A transport without async_request gets one error naming the concept.
// expect: cleori::api_client: 'Transport' does not model Transport
// expect: See doc/concepts/Transport.md
// expect-errors: 1
#include <cleori/client/api_client.hpp>

#include <boost/asio/io_context.hpp>

struct not_a_transport {
    boost::asio::any_io_executor get_executor() { return {}; }
};

int main() {
    not_a_transport t;
    cleori::basic_api_client<not_a_transport> client{t};
    static_cast<void>(client);
}
