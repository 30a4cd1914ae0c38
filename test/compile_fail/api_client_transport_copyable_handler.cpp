// A transport that takes its handler as a copyable std::function cannot hold
// the client's move-only handlers: one error naming the concept.
// expect: cleori::api_client: 'Transport' does not model Transport
// expect: move-only handler
// expect-errors: 1
#include <cleori/client/api_client.hpp>

#include <boost/asio/io_context.hpp>

#include <functional>

struct copying_transport {
    boost::asio::any_io_executor get_executor() { return {}; }
    void async_request(cleori::http_request, std::function<void(boost::system::error_code, cleori::http_response const&)>) {}
};

int main() {
    copying_transport t;
    cleori::basic_api_client<copying_transport> client{t};
    static_cast<void>(client);
}
