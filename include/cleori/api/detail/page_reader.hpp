#pragma once

#include <cleori/api/activation.hpp>
#include <cleori/api/detail/object_reader.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cleori::detail {

template <class Profile>
std::optional<std::string> validate_activation(activation const& a) {
    if (a.id.empty()) return std::string("field 'id': must not be empty");
    if (a.id.size() > Profile::max_id_length) return std::string("field 'id': longer than the limit");
    if (a.power < kilowatts{0.0}) return std::string("field 'power': must not be negative (direction gives the sign)");
    if (a.end_time && *a.end_time <= a.start_time)
        return std::string("field 'end_time': ") + make_error_code(error::activation_ends_before_start).message();
    return std::nullopt;
}

// A poll page read as Boost.JSON's parser walks it, straight into
// `activation`s: no tree is built, which is most of what decoding a page
// cost. It keeps the rules a tree made easy to state:
// - a root object with the data key is an envelope: its data is the payload
//   and its pagination object the page; without that key the root object is
//   itself the one activation. Which it is shows only at the root's end, so
//   the root's members are read as an activation as they come, and dropped
//   if the data key turns up;
// - the last of duplicate keys counts, also for data and pagination;
// - a payload item that is not an object is rejected as such; anything
//   nested where no field expects it is skipped.
template <class Profile>
class activation_page_reader {
    using fields_type = std::remove_cvref_t<decltype(Profile::activation_fields)>;
    using reader_type = object_reader<Profile, activation, fields_type>;
    // A rejected item names its id as the id field read it, which holds
    // texts up to max_text_length.
    static_assert(Profile::max_id_length <= Profile::max_text_length,
                  "an activation id is a text: the profile's max_id_length must not exceed its max_text_length");

public:
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    activation_page_reader() = default;
    // Reads into `reuse`'s storage: its activations are overwritten in
    // place, their strings kept, so that a page like the last one read
    // allocates nothing.
    explicit activation_page_reader(activation_page&& reuse) : page_(std::move(reuse)) {
        page_.rejected.clear();
        page_.page.reset();
    }

    // The page read (once the parser is done with it).
    activation_page& page() {
        page_.activations.resize(accepted_);
        return page_;
    }
    // The payload is neither an array nor an object.
    bool payload_of_wrong_type() const noexcept { return wrong_type_; }

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code&) {
        open(true);
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        close();
        return true;
    }
    bool on_array_begin(boost::system::error_code&) {
        open(false);
        return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        close();
        return true;
    }

    bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        pending_.append(s.data(), s.size());
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        key(joined(s));
        pending_.clear();
        return true;
    }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        pending_.append(s.data(), s.size());
        return true;
    }
    bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        scalar({json_scalar::kind::string, 0.0, joined(s)});
        pending_.clear();
        return true;
    }

    bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t i, boost::json::string_view, boost::system::error_code&) {
        if (top() == frame::pagination) count(i >= 0 ? static_cast<std::size_t>(i) : 0);
        else scalar({json_scalar::kind::number, static_cast<double>(i)});
        return true;
    }
    bool on_uint64(std::uint64_t u, boost::json::string_view, boost::system::error_code&) {
        if (top() == frame::pagination) count(static_cast<std::size_t>(u));
        else scalar({json_scalar::kind::number, static_cast<double>(u)});
        return true;
    }
    bool on_double(double d, boost::json::string_view, boost::system::error_code&) {
        scalar({json_scalar::kind::number, d});
        return true;
    }
    bool on_bool(bool, boost::system::error_code&) {
        scalar({json_scalar::kind::boolean});
        return true;
    }
    bool on_null(boost::system::error_code&) {
        scalar({});
        return true;
    }
    bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

private:
    enum class frame : unsigned char { root, top_object, payload, item, pagination, skip };
    enum class role : unsigned char { none, data, pagination };

    // The activation field a key of the envelope also names, if any (in a
    // profile where it does, the root object may still be the activation).
    // Found once: at compile time when the profile's names are constants,
    // else on first use (the Profile concept does not ask for constants).
    static constexpr int field_named(std::string_view k) {
        int i = 0, found = -1;
        boost::hana::for_each(Profile::activation_fields, [&](auto const& f) {
            if (found < 0 && same_text(f.name, k)) found = i;
            ++i;
        });
        return found;
    }
    static int data_field() {
        static int const found = field_named(Profile::data_key);
        return found;
    }
    static int pagination_field() {
        static int const found = field_named(Profile::pagination_key);
        return found;
    }

    frame top() const noexcept {
        if (depth_ == 0) return frame::root;
        return depth_ <= stack_.size() ? stack_[depth_ - 1] : frame::skip;
    }
    void push(frame f) noexcept {
        if (depth_ < stack_.size()) stack_[depth_] = f;
        ++depth_;
    }

    std::string_view joined(boost::json::string_view last) {
        if (pending_.empty()) return {last.data(), last.size()};
        pending_.append(last.data(), last.size());
        return pending_;
    }

    void key(std::string_view k) {
        switch (top()) {
        case frame::top_object:
            role_ = same_text(k, Profile::data_key)         ? role::data
                    : same_text(k, Profile::pagination_key) ? role::pagination
                                                            : role::none;
            candidate_field_ = role_ == role::data         ? data_field()
                               : role_ == role::pagination ? pagination_field()
                                                           : candidate_.find(k);
            break;
        case frame::item: item_field_ = item_.find(k); break;
        case frame::pagination:
            count_ = same_text(k, Profile::pagination_limit_key)    ? &page_.page->limit
                     : same_text(k, Profile::pagination_offset_key) ? &page_.page->offset
                     : same_text(k, Profile::pagination_total_key)  ? &page_.page->total
                                                                    : nullptr;
            break;
        default: break;
        }
    }

    // A new data member: what an earlier one gave is replaced.
    void start_payload() {
        data_seen_ = true;
        wrong_type_ = false;
        index_ = 0;
        accepted_ = 0;
        page_.rejected.clear();
    }

    void scalar(json_scalar const& v) {
        switch (top()) {
        case frame::root: wrong_type_ = true; break;
        case frame::top_object:
            candidate_.value(candidate_field_, v);
            if (role_ == role::data) {
                start_payload();
                wrong_type_ = true;
            } else if (role_ == role::pagination) {
                page_.page.reset();
            }
            break;
        case frame::payload: reject_not_an_object(); break;
        case frame::item: item_.value(item_field_, v); break;
        case frame::pagination: count(0); break;
        default: break;
        }
    }

    void count(std::size_t n) noexcept {
        if (count_ != nullptr) *count_ = n;
    }

    void open(bool object) {
        switch (top()) {
        case frame::root:
            if (object) {
                candidate_.begin();
                push(frame::top_object);
            } else {
                push(frame::payload);
            }
            return;
        case frame::top_object:
            candidate_.value(candidate_field_, {json_scalar::kind::structured});
            if (role_ == role::data) {
                start_payload();
                if (object) {
                    begin_item();
                } else {
                    push(frame::payload);
                }
                return;
            }
            if (role_ == role::pagination) {
                page_.page.reset();
                if (object) {
                    page_.page.emplace();
                    count_ = nullptr;
                    push(frame::pagination);
                    return;
                }
            }
            break;
        case frame::payload:
            if (object) {
                begin_item();
                return;
            }
            reject_not_an_object();
            break;
        case frame::item: item_.value(item_field_, {json_scalar::kind::structured}); break;
        case frame::pagination: count(0); break;
        default: break;
        }
        push(frame::skip);
    }

    void close() {
        frame const f = top();
        --depth_;
        if (f == frame::item) {
            accept(item_, item_lent_);
            ++index_;
        } else if (f == frame::top_object && !data_seen_) {
            page_.page.reset(); // no envelope: the root object is the activation
            accept(candidate_, false);
        }
    }

    void reject_not_an_object() {
        page_.rejected.push_back({"", "item " + std::to_string(index_) + ": not a JSON object"});
        ++index_;
    }

    // A payload item is read into the storage of the slot it may fill, when
    // a recycled page left one there: its strings are overwritten in place.
    void begin_item() {
        item_lent_ = accepted_ < page_.activations.size();
        if (item_lent_) std::swap(item_.result(), page_.activations[accepted_]);
        item_.begin();
        push(frame::item);
    }

    // `lent`: `r` holds the storage of the slot at accepted_, which gets it
    // back either way (past accepted_, a rejected item there is not part of
    // the page).
    void accept(reader_type& r, bool lent) {
        activation& a = r.result();
        bool ok = false;
        if (auto failure = r.finish()) {
            std::string id;
            if (a.id.size() <= Profile::max_id_length) id = std::move(a.id);
            page_.rejected.push_back({std::move(id), failure.describe()});
        } else if (auto why = validate_activation<Profile>(a)) {
            page_.rejected.push_back({a.id, std::move(*why)});
        } else {
            ok = true;
        }
        if (lent) std::swap(page_.activations[accepted_], a);
        else if (ok && accepted_ < page_.activations.size()) page_.activations[accepted_] = std::move(a);
        else if (ok) page_.activations.push_back(std::move(a));
        if (ok) ++accepted_;
    }

    activation_page page_{};
    reader_type candidate_{Profile::activation_fields}; // the root object's members
    reader_type item_{Profile::activation_fields};      // the payload item being read
    std::string pending_{};                             // a key or string the parser split
    std::array<frame, Profile::max_json_depth + 1> stack_{};
    std::size_t depth_ = 0;
    std::size_t index_ = 0;    // the payload item's position
    std::size_t accepted_ = 0; // activations read: the first ones in page_.activations
    bool item_lent_ = false;   // the item is read into page_.activations[accepted_]'s storage
    std::size_t* count_ = nullptr;
    int candidate_field_ = -1;
    int item_field_ = -1;
    role role_ = role::none;
    bool data_seen_ = false;
    bool wrong_type_ = false;
};

} // namespace cleori::detail
