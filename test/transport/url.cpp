// The base URL as configured: what it parses to, what it refuses, and the
// Host header it gives.
#include <cleori/transport/url.hpp>

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(transport_url)

BOOST_AUTO_TEST_CASE(parses_scheme_host_port_and_prefix) {
    auto const u = cleori::parse_base_url("https://api.example.test:8443/cleori/").value();
    BOOST_TEST(u.tls);
    BOOST_TEST(u.host == "api.example.test");
    BOOST_TEST(u.port == "8443");
    BOOST_TEST(u.prefix == "/cleori");
    auto const v6 = cleori::parse_base_url("http://[::1]").value();
    BOOST_TEST(!v6.tls);
    BOOST_TEST(v6.host == "::1");
    BOOST_TEST(v6.port == "80");
    BOOST_TEST(v6.prefix == "");
}

BOOST_AUTO_TEST_CASE(refuses_what_would_break_a_request_line) {
    for (std::string_view bad : {"https://api.example.test/v1 ", "https://api.example.test /v1", " https://a.test",
                                 "https://a.test/v1\r\nX-Injected: 1", "https://a.test/v\t1", "https://a.test/\x7f",
                                 "https://user@a.test", "https://a.test/?q=1", "https://a.test:0", "https://a.test:65536",
                                 "ftp://a.test", "https://"}) {
        auto const r = cleori::parse_base_url(bad);
        BOOST_TEST(!r.has_value(), bad);
        if (!r) BOOST_TEST(r.error() == make_error_code(cleori::error::invalid_url));
    }
}

BOOST_AUTO_TEST_CASE(host_header_has_the_port_unless_default_and_brackets_for_ipv6) {
    auto host = [](std::string_view url) { return cleori::host_header(cleori::parse_base_url(url).value()); };
    BOOST_TEST(host("https://api.example.test") == "api.example.test");
    BOOST_TEST(host("https://api.example.test:443") == "api.example.test");
    BOOST_TEST(host("https://api.example.test:8443") == "api.example.test:8443");
    BOOST_TEST(host("http://127.0.0.1:80") == "127.0.0.1");
    BOOST_TEST(host("http://127.0.0.1:443") == "127.0.0.1:443");
    BOOST_TEST(host("http://[::1]:8080/x") == "[::1]:8080");
    BOOST_TEST(host("https://[2001:db8::1]") == "[2001:db8::1]");
}

// An activation id travels as a path segment: unreserved characters as they
// are, every other byte as %XX, and the simulator's decoding gives it back.
BOOST_AUTO_TEST_CASE(a_path_segment_is_percent_encoded_and_decodes_back) {
    std::string out = "/v1/activations/";
    cleori::detail::append_percent_encoded(out, "act-2026_12.03~1");
    BOOST_TEST(out == "/v1/activations/act-2026_12.03~1");
    out.clear();
    cleori::detail::append_percent_encoded(out, "a b/c?d%\xff");
    BOOST_TEST(out == "a%20b%2Fc%3Fd%25%FF");
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
    out.clear();
    cleori::detail::append_percent_encoded(out, every_byte);
    BOOST_TEST(out.size() == 66u + 190u * 3u); // 66 unreserved, 190 escaped
    BOOST_TEST(cleori::detail::percent_decode(out) == every_byte);
}

BOOST_AUTO_TEST_SUITE_END()
