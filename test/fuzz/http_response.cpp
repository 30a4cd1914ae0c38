// libFuzzer target: the bytes of an HTTP response, parsed as the Beast
// transport parses them (same parser, same limits), then handed to the API
// client for a poll and for a confirmation. Every outcome is a value or an
// error that says what went wrong; the token never appears in it.
#include <cleori/client/api_client.hpp>
#include <cleori/transport/beast_transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <cstdlib>

namespace {

constexpr std::string_view token = "fuzz-secret-token";

// Answers every request with what the fuzzer's bytes parse to.
struct replay_transport {
    boost::asio::any_io_executor ex;
    std::pair<boost::system::error_code, cleori::http_response> answer;

    template <class Handler>
    void async_request(cleori::http_request, Handler&& handler) {
        boost::asio::post(ex, [h = std::forward<Handler>(handler), a = answer]() mutable {
            std::move(h)(a.first, std::move(a.second));
        });
    }
    boost::asio::any_io_executor get_executor() const { return ex; }
};

std::pair<boost::system::error_code, cleori::http_response> parse(std::string_view bytes) {
    namespace http = boost::beast::http;
    cleori::http_response out;
    cleori::detail::response_reader parser{out, cleori::transport_options{}.max_response_bytes};
    boost::system::error_code ec;
    boost::asio::const_buffer buf(bytes.data(), bytes.size());
    while (!ec && !parser.is_done() && buf.size() > 0) {
        auto const used = parser.put(buf, ec);
        if (ec == http::error::need_more) ec = {};
        if (used == 0 && !ec) break;
        buf += used;
    }
    // The connection closed here (as async_read reports it).
    if (!ec && !parser.is_done()) {
        if (parser.got_some()) parser.put_eof(ec);
        else ec = http::error::end_of_stream;
    }
    if (ec) return {cleori::detail::map_http_error(ec), {}};
    return {{}, std::move(out)};
}

template <class R>
void check(R const& r) {
    if (r) return;
    auto const text = r.error().describe();
    if (text.empty() || !r.error().ec) std::abort();
    if (text.find(token) != std::string::npos) std::abort();
}

} // namespace

struct no_retries : cleori::default_policies {
    using retry = cleori::no_retry;
};

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    boost::asio::io_context io;
    replay_transport t{io.get_executor(), parse({reinterpret_cast<char const*>(data), size})};
    cleori::basic_api_client<replay_transport, no_retries> client{t};
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    cleori::confirmation const c{{}, cleori::confirmation_status::executing, std::nullopt, cleori::kilowatts{-50.0}};
    boost::asio::co_spawn(io, client.get_activations(token, deadline), [](std::exception_ptr e, auto r) {
        if (e) std::abort();
        check(r);
    });
    boost::asio::co_spawn(io, client.confirm(token, "a/1?x", c, deadline), [](std::exception_ptr e, auto r) {
        if (e) std::abort();
        check(r);
    });
    io.run();
    return 0;
}
