#pragma once
/// @file
/// @brief `cleori::base_url`: the parsed form of the configured Cleori base URL
/// (`https://host[:port][/prefix]`), and the loopback test used to decide
/// whether plain `http://` is acceptable.

#include <cleori/detail/byte_set.hpp>
#include <cleori/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace cleori {

/// @brief A parsed base URL.
struct base_url {
    bool tls = true;
    std::string host{};   ///< without brackets for IPv6
    std::string port{};   ///< "443" / "80" when not given
    std::string prefix{}; ///< path prefix without trailing slash ("" for none)
};

/// @brief True for `localhost`, 127.0.0.0/8 and `::1`.
inline bool is_loopback_host(std::string_view host) noexcept {
    if (host == "localhost" || host == "::1") return true;
    if (host.substr(0, 4) != "127.") return false;
    int dots = 0;
    for (char c : host) {
        if (c == '.') ++dots;
        else if (c < '0' || c > '9') return false;
    }
    return dots == 3;
}

/// @brief The `Host` header's value for `u` (RFC 9112 §3.2): the host, in
/// brackets when it is an IPv6 literal, and `:port` unless the port is the
/// scheme's default.
inline std::string host_header(base_url const& u) {
    bool const ipv6 = u.host.find(':') != std::string::npos;
    std::string out = ipv6 ? "[" + u.host + "]" : u.host;
    if (u.port != (u.tls ? "443" : "80")) out.append(":").append(u.port);
    return out;
}

namespace detail {

// Path segments (activation ids) travel percent-encoded: the client encodes,
// the simulator decodes, with the same unreserved set (RFC 3986 §2.3).
inline constexpr byte_set unreserved_bytes = make_byte_set([](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
});

// Runs of unreserved characters are appended whole: an id is usually one.
inline void append_percent_encoded(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto const u = static_cast<unsigned char>(s[i]);
        if (unreserved_bytes[u]) continue;
        char const escaped[3] = {'%', hex[u >> 4], hex[u & 0xf]};
        out.append(s.data() + run, i - run).append(escaped, 3);
        run = i + 1;
    }
    out.append(s.data() + run, s.size() - run);
}

inline std::string percent_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

} // namespace detail

/// @brief Parses `http(s)://host[:port][/prefix]`. Userinfo, queries and
/// fragments are refused: a token never belongs in a URL. So are spaces and
/// control characters (a stray blank from a config file would otherwise
/// end up inside the request line).
inline result<base_url> parse_base_url(std::string_view s) {
    base_url u;
    for (char const c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return error::invalid_url;
    if (s.substr(0, 8) == "https://") {
        u.tls = true;
        s.remove_prefix(8);
    } else if (s.substr(0, 7) == "http://") {
        u.tls = false;
        s.remove_prefix(7);
    } else {
        return error::invalid_url;
    }
    auto const slash = s.find('/');
    std::string_view authority = s.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : s.substr(slash);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return error::invalid_url;
    if (path.find_first_of("?#") != std::string_view::npos) return error::invalid_url;
    std::string_view port{};
    if (authority.front() == '[') {
        auto const close = authority.find(']');
        if (close == std::string_view::npos) return error::invalid_url;
        u.host = std::string(authority.substr(1, close - 1));
        auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return error::invalid_url;
            port = rest.substr(1);
        }
    } else {
        auto const colon = authority.find(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) return error::invalid_url;
    if (!port.empty()) {
        if (port.size() > 5) return error::invalid_url;
        unsigned p = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return error::invalid_url;
            p = p * 10 + static_cast<unsigned>(c - '0');
        }
        if (p == 0 || p > 65535) return error::invalid_url;
        u.port = std::string(port);
    } else {
        u.port = u.tls ? "443" : "80";
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    u.prefix = std::string(path);
    return u;
}

} // namespace cleori
