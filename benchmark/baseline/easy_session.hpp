#pragma once
// The libcurl set-up a user would write by hand: one reused easy handle
// (keep-alive), the bearer token and the JSON headers, each response body
// collected into a string. Used by curl_client.cpp and the instruction counts.
#include <curl/curl.h>

#include <string>

namespace baseline {

inline std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(p, size * n);
    return size * n;
}

struct easy_session {
    CURL* h = curl_easy_init();
    curl_slist* headers = nullptr;
    std::string body;

    easy_session() {
        headers = curl_slist_append(headers, "Authorization: Bearer bench-token");
        headers = curl_slist_append(headers, "Content-Type: application/json");
        headers = curl_slist_append(headers, "Accept: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    }
    ~easy_session() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
    }
    easy_session(easy_session const&) = delete;
    easy_session& operator=(easy_session const&) = delete;
};

} // namespace baseline
