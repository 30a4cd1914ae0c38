#pragma once
// The reading of a poll page stated the plain way, on a parsed tree: the
// oracle that `cleori::decode_activation_page` (which streams) must agree
// with on every body. A tree makes the rules easy to see: the last of
// duplicate keys counts (Boost.JSON keeps it), the data key makes an
// envelope, anything else at the root is one activation.
#include <cleori/api/json.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

namespace cleori::testing {

namespace oracle_detail {

inline std::optional<std::size_t> read_count(boost::json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(boost::json::string_view(key.data(), key.size()));
    if (v == nullptr) return std::nullopt;
    if (v->is_uint64()) return static_cast<std::size_t>(v->get_uint64());
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::size_t>(v->get_int64());
    return std::nullopt;
}

} // namespace oracle_detail

template <class Profile = api_profile_v1>
result<activation_page> page_by_tree(std::string_view body) {
    detail::json_arena arena;
    auto parsed = detail::parse_body<Profile>(body, arena);
    if (!parsed) return parsed.error();
    activation_page page;
    boost::json::value const& payload = detail::unwrap_envelope<Profile>(*parsed);
    if (auto const* env = parsed->if_object(); env && &payload != &*parsed) {
        if (auto const* pv = env->if_contains(
                boost::json::string_view(Profile::pagination_key.data(), Profile::pagination_key.size()))) {
            if (auto const* po = pv->if_object()) {
                pagination p;
                p.limit = oracle_detail::read_count(*po, Profile::pagination_limit_key).value_or(0);
                p.offset = oracle_detail::read_count(*po, Profile::pagination_offset_key).value_or(0);
                p.total = oracle_detail::read_count(*po, Profile::pagination_total_key).value_or(0);
                page.page = p;
            }
        }
    }
    auto decode_one = [&](boost::json::value const& item, std::size_t index) {
        auto const* o = item.if_object();
        if (o == nullptr) {
            page.rejected.push_back({"", "item " + std::to_string(index) + ": not a JSON object"});
            return;
        }
        activation a;
        if (auto failure = detail::decode_object<Profile>(*o, Profile::activation_fields, a)) {
            std::string id;
            std::string_view id_name;
            boost::hana::for_each(Profile::activation_fields, [&](auto const& f) {
                if constexpr (std::is_same_v<typename std::remove_cvref_t<decltype(f)>::member_type, std::string>)
                    if (f.member == &activation::id) id_name = f.name;
            });
            if (auto const* idv = o->if_contains(boost::json::string_view(id_name.data(), id_name.size()));
                idv && idv->is_string() && idv->get_string().size() <= Profile::max_id_length)
                id.assign(idv->get_string().data(), idv->get_string().size());
            page.rejected.push_back({std::move(id), failure.describe()});
            return;
        }
        if (auto why = detail::validate_activation<Profile>(a)) {
            page.rejected.push_back({a.id, std::move(*why)});
            return;
        }
        page.activations.push_back(std::move(a));
    };
    if (auto const* arr = payload.if_array()) {
        for (std::size_t i = 0; i < arr->size(); ++i) decode_one((*arr)[i], i);
    } else if (payload.is_object()) {
        decode_one(payload, 0);
    } else {
        return error::json_wrong_type;
    }
    return page;
}

// Both readings of `body` agree: the same error, or the same activations,
// rejections and pagination.
inline bool same_reading(result<activation_page> const& a, result<activation_page> const& b, std::string* why) {
    auto say = [&](std::string s) {
        if (why) *why = std::move(s);
        return false;
    };
    if (a.has_value() != b.has_value()) return say("one reading failed, the other did not");
    if (!a) return a.error() == b.error() ? true : say(a.error().message() + " / " + b.error().message());
    if (a->activations != b->activations) return say("activations differ");
    if (a->rejected.size() != b->rejected.size()) return say("rejection counts differ");
    for (std::size_t i = 0; i < a->rejected.size(); ++i)
        if (a->rejected[i].id != b->rejected[i].id || a->rejected[i].reason != b->rejected[i].reason)
            return say("rejection " + std::to_string(i) + ": '" + a->rejected[i].id + "' " + a->rejected[i].reason +
                       " / '" + b->rejected[i].id + "' " + b->rejected[i].reason);
    if (a->page.has_value() != b->page.has_value()) return say("one has pagination, the other not");
    if (a->page && (a->page->limit != b->page->limit || a->page->offset != b->page->offset ||
                    a->page->total != b->page->total))
        return say("pagination differs");
    return true;
}

} // namespace cleori::testing
