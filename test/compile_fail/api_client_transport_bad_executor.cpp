// A transport whose get_executor() is not an Asio executor: one error naming the concept.
// expect: cleori::api_client: 'Transport' does not model Transport
// expect: returning an Asio executor
// expect-errors: 1
#include <cleori/client/api_client.hpp>

#include <boost/asio/io_context.hpp>

struct numbered_transport {
    int get_executor() { return 0; }
    template <class Handler>
    void async_request(cleori::http_request, Handler&&) {}
};

int main() {
    numbered_transport t;
    cleori::basic_api_client<numbered_transport> client{t};
    static_cast<void>(client);
}
