#pragma once
/// @file
/// @brief JSON encoding and decoding of the wire model, driven by an API
/// profile's field lists (see `cleori/api/profile.hpp`).
///
/// Encoding appends to a caller-owned `std::string`, so a reused buffer makes
/// steady-state encoding allocation-free. Numbers are written in plain decimal
/// (`-42.5`, never `-4.25E1`).
///
/// Decoding is tolerant where the contract allows (unknown fields ignored,
/// `null` for an optional field, enveloped or bare arrays) and strict where
/// safety needs it: one activation with a bad field is rejected with a reason
/// naming that field while the rest of the poll is accepted.
///
/// @code
/// std::string body;
/// cleori::encode_telemetry(sample, body);                 // {"time":"…","power":-42.5,"soc":63.2}
/// auto page = cleori::decode_activation_page(response_body);
/// for (auto const& r : page->rejected) log(r.id, r.reason);
/// @endcode

#include <cleori/api/activation.hpp>
#include <cleori/api/detail/json_writer.hpp>
#include <cleori/api/detail/object_reader.hpp>
#include <cleori/api/detail/page_reader.hpp>
#include <cleori/api/detail/value_codec.hpp>
#include <cleori/api/profile.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/error.hpp>
#include <cleori/time/rfc3339.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/json/error.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cleori {

/// @brief The error envelope Cleori may send with a 4xx/5xx.
struct api_error_body {
    std::string code;
    std::string message;
};

namespace detail {

template <class Profile, class T, class Fields>
void encode_object(T const& in, Fields const& fields, std::string& out) {
    out.push_back('{');
    bool first = true;
    boost::hana::for_each(fields, [&](auto const& f) {
        using member = typename std::remove_cvref_t<decltype(f)>::member_type;
        auto const& src = in.*(f.member);
        if constexpr (is_optional<member>::value) {
            if (!src) return;
        }
        std::string_view const separator = first ? "" : ",";
        first = false;
        if (json_plain(f.name)) {
            append_all(out, separator, "\"", f.name, "\":");
        } else {
            out.append(separator);
            append_json_string(out, f.name);
            out.push_back(':');
        }
        if constexpr (is_optional<member>::value) {
            value_codec<Profile>::write(out, *src);
        } else {
            value_codec<Profile>::write(out, src);
        }
    });
    out.push_back('}');
}

// Where a decoded body's JSON values live while it is read: a buffer on
// the caller's stack, so a usual response (a page with a few activations,
// an error object) is parsed without touching the heap; a larger one spills.
struct json_arena {
    unsigned char buffer[4096];
    boost::json::monotonic_resource resource{buffer, sizeof buffer};
};

template <class Profile>
result<boost::json::value> parse_body(std::string_view body, json_arena& arena) {
    if (body.size() > Profile::max_body_bytes) return error::body_too_large;
    boost::json::parse_options opt;
    opt.max_depth = Profile::max_json_depth;
    boost::system::error_code ec;
    unsigned char scratch[1024]; // the parser's own stack, same reason
    boost::json::parser p(boost::json::storage_ptr(), opt, scratch, sizeof scratch);
    p.reset(&arena.resource);
    p.write(body.data(), body.size(), ec);
    if (ec == boost::json::error::too_deep) return error::json_too_deep;
    if (ec) return error::json_malformed;
    return p.release();
}

// The payload of a success response: the envelope's data, or the bare value.
template <class Profile>
boost::json::value const& unwrap_envelope(boost::json::value const& v) noexcept {
    if (auto const* o = v.if_object()) {
        if (auto const* d = o->if_contains(boost::json::string_view(Profile::data_key.data(), Profile::data_key.size())))
            return *d;
    }
    return v;
}

} // namespace detail

/// @brief Appends one telemetry sample as a JSON object.
/// @pre `validate(s)` is clear (`make_sample` guarantees it).
template <class Profile = api_profile_v1>
void encode_telemetry(telemetry_sample const& s, std::string& out) {
    detail::encode_object<Profile>(s, Profile::telemetry_fields, out);
}

/// @brief Appends a batch of samples as a JSON array (the back-fill form).
template <class Profile = api_profile_v1>
void encode_telemetry(std::span<telemetry_sample const> samples, std::string& out) {
    out.push_back('[');
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (i != 0) out.push_back(',');
        encode_telemetry<Profile>(samples[i], out);
    }
    out.push_back(']');
}

/// @brief Appends a confirmation as a JSON object.
template <class Profile = api_profile_v1>
void encode_confirmation(confirmation const& c, std::string& out) {
    detail::encode_object<Profile>(c, Profile::confirmation_fields, out);
}

/// @brief Appends an activation as a JSON object (the simulator's side of the contract).
template <class Profile = api_profile_v1>
void encode_activation(activation const& a, std::string& out) {
    detail::encode_object<Profile>(a, Profile::activation_fields, out);
}

/// @brief Decodes one page of `GET /v1/activations`.
///
/// Accepts the success envelope (`{"data":[…],"pagination":{…}}`), a bare
/// array, or a single bare activation object. The page is read as the parser
/// streams it, without a value tree; the last of duplicate keys counts.
/// @param reuse a page to read into, typically the previous one: its
/// activations are overwritten in place, so a page like it allocates
/// nothing. What it held is discarded either way.
/// @return the accepted and the rejected activations, or an error when the
/// body as a whole is unusable (`body_too_large`, `json_malformed`,
/// `json_too_deep`, `json_wrong_type`).
template <class Profile = api_profile_v1>
result<activation_page> decode_activation_page(std::string_view body, activation_page reuse = {}) {
    if (body.size() > Profile::max_body_bytes) return error::body_too_large;
    boost::json::parse_options opt;
    opt.max_depth = Profile::max_json_depth;
    boost::json::basic_parser<detail::activation_page_reader<Profile>> parser(opt, std::move(reuse));
    boost::system::error_code ec;
    std::size_t const used = parser.write_some(false, body.data(), body.size(), ec);
    if (ec == boost::json::error::too_deep) return error::json_too_deep;
    if (ec || used != body.size()) return error::json_malformed;
    if (parser.handler().payload_of_wrong_type()) return error::json_wrong_type;
    return std::move(parser.handler().page());
}

/// @brief Decodes a telemetry body (one object or an array) strictly: every
/// sample must be valid.
/// @param why if given, receives which sample and field failed.
template <class Profile = api_profile_v1>
result<std::vector<telemetry_sample>> decode_telemetry(std::string_view body, std::string* why = nullptr) {
    detail::json_arena arena;
    auto parsed = detail::parse_body<Profile>(body, arena);
    if (!parsed) {
        if (why) *why = parsed.error().message();
        return parsed.error();
    }
    std::vector<telemetry_sample> out;
    auto decode_one = [&](boost::json::value const& item, std::size_t index) -> boost::system::error_code {
        auto const* o = item.if_object();
        if (o == nullptr) {
            if (why) *why = "sample " + std::to_string(index) + ": not a JSON object";
            return error::json_wrong_type;
        }
        telemetry_sample s;
        if (auto failure = detail::decode_object<Profile>(*o, Profile::telemetry_fields, s)) {
            if (why) *why = "sample " + std::to_string(index) + ": " + failure.describe();
            return failure.code;
        }
        if (auto ec = validate(s)) {
            if (why) *why = "sample " + std::to_string(index) + ": " + ec.message();
            return ec;
        }
        out.push_back(s);
        return {};
    };
    boost::json::value const& payload = detail::unwrap_envelope<Profile>(*parsed);
    if (auto const* arr = payload.if_array()) {
        if (arr->empty()) {
            if (why) *why = "empty array: no samples";
            return error::sample_without_measurement;
        }
        out.reserve(arr->size());
        for (std::size_t i = 0; i < arr->size(); ++i)
            if (auto ec = decode_one((*arr)[i], i)) return ec;
    } else if (auto ec = decode_one(payload, 0)) {
        return ec;
    }
    return out;
}

/// @brief Decodes a confirmation body strictly.
template <class Profile = api_profile_v1>
result<confirmation> decode_confirmation(std::string_view body, std::string* why = nullptr) {
    detail::json_arena arena;
    auto parsed = detail::parse_body<Profile>(body, arena);
    if (!parsed) {
        if (why) *why = parsed.error().message();
        return parsed.error();
    }
    auto const* o = detail::unwrap_envelope<Profile>(*parsed).if_object();
    if (o == nullptr) {
        if (why) *why = "confirmation: not a JSON object";
        return error::json_wrong_type;
    }
    confirmation c;
    if (auto failure = detail::decode_object<Profile>(*o, Profile::confirmation_fields, c)) {
        if (why) *why = failure.describe();
        return failure.code;
    }
    return c;
}

/// @brief Reads Cleori's error envelope from an error response, if the body
/// has one; any other body gives `std::nullopt`.
template <class Profile = api_profile_v1>
std::optional<api_error_body> decode_api_error(std::string_view body) {
    detail::json_arena arena;
    auto parsed = detail::parse_body<Profile>(body, arena);
    if (!parsed || !parsed->is_object()) return std::nullopt;
    auto const* ev = parsed->get_object().if_contains(
        boost::json::string_view(Profile::error_key.data(), Profile::error_key.size()));
    if (ev == nullptr || !ev->is_object()) return std::nullopt;
    api_error_body out;
    auto text = [&](std::string_view key, std::string& dest) {
        if (auto const* v = ev->get_object().if_contains(boost::json::string_view(key.data(), key.size()));
            v && v->is_string()) {
            auto const& s = v->get_string();
            dest.assign(s.data(), std::min<std::size_t>(s.size(), Profile::max_text_length));
        }
    };
    text(Profile::error_code_key, out.code);
    text(Profile::error_message_key, out.message);
    return out;
}

} // namespace cleori
