#pragma once

#include <cleori/api/detail/value_codec.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace cleori::detail {

// Reads one object of a wire type member by member, in whatever order the
// members arrive, so that a streaming parser needs no tree. The rules are the
// contract's: unknown keys are ignored, the last of duplicate keys counts,
// null is absence, and when several fields are bad the one reported is the
// first in the profile's list (not the first in the text), so the reason a
// server sees does not depend on how it ordered its keys.
template <class Profile, class T, class Fields>
class object_reader {
public:
    static constexpr std::size_t field_count = decltype(boost::hana::length(std::declval<Fields>()))::value;

    explicit object_reader(Fields const& fields) noexcept : fields_(fields) {
        std::size_t i = 0;
        boost::hana::for_each(fields_, [&](auto const& f) { names_[i++] = f.name; });
    }

    // A fresh value; its string fields keep their capacity, so that
    // reading into a recycled value (see `result()`) does not allocate.
    void begin() {
        T fresh{};
        boost::hana::for_each(fields_, [&](auto const& f) {
            using member = typename std::remove_cvref_t<decltype(f)>::member_type;
            if constexpr (std::is_same_v<member, std::string>) {
                (value_.*(f.member)).clear();
                (fresh.*(f.member)).swap(value_.*(f.member));
            }
        });
        value_ = std::move(fresh);
        state_.fill(field_state{});
        next_ = 0;
    }

    // The field named `key`, or -1 when the type has none. Servers send keys
    // in one order, usually the profile's, so the search starts after the
    // field found last and mostly ends at its first comparison.
    int find(std::string_view key) noexcept {
        for (std::size_t n = 0; n < field_count; ++n) {
            std::size_t const i = next_ + n < field_count ? next_ + n : next_ + n - field_count;
            if (same_text(names_[i], key)) {
                next_ = i + 1 < field_count ? i + 1 : 0;
                return static_cast<int>(i);
            }
        }
        return -1;
    }

    // A member's value. Each occurrence replaces what an earlier one left.
    void value(int field, json_scalar const& v) {
        at(field, [&](auto const& f, field_state& st) {
            using member = typename std::remove_cvref_t<decltype(f)>::member_type;
            auto& dest = value_.*(f.member);
            clear(dest);
            st = field_state{};
            if (v.what == json_scalar::kind::null) return;
            st.present = true;
            if constexpr (is_optional<member>::value) {
                typename unwrap_optional<member>::type inner{};
                st.code = value_codec<Profile>::read(v, inner);
                if (!st.code) dest = std::move(inner);
            } else {
                st.code = value_codec<Profile>::read(v, dest);
                if (st.code) clear(dest);
            }
        });
    }

    // The first bad or missing field in the profile's order, if any.
    field_failure finish() const {
        field_failure failure{};
        std::size_t i = 0;
        boost::hana::for_each(fields_, [&](auto const& f) {
            using member = typename std::remove_cvref_t<decltype(f)>::member_type;
            field_state const& st = state_[i++];
            if (failure) return;
            if (!st.present) {
                if constexpr (!is_optional<member>::value) failure = {f.name, error::json_missing_field};
                return;
            }
            if (st.code) failure = {f.name, st.code};
        });
        return failure;
    }

    // The value read. A caller may swap another value of the same type in
    // (one it is done with): `begin()` reuses its strings' storage.
    T& result() noexcept { return value_; }

private:
    template <class M>
    static void clear(M& m) {
        if constexpr (std::is_same_v<M, std::string>) m.clear();
        else m = M{};
    }

    struct field_state {
        bool present = false;
        boost::system::error_code code{};
    };

    template <class F>
    void at(int field, F&& f) {
        if (field < 0) return;
        int i = 0;
        boost::hana::for_each(fields_, [&](auto const& fd) {
            if (i == field) f(fd, state_[static_cast<std::size_t>(i)]);
            ++i;
        });
    }

    Fields const& fields_;
    std::array<std::string_view, field_count> names_{};
    std::size_t next_ = 0; // where find() starts
    T value_{};
    std::array<field_state, field_count> state_{};
};

// Decodes a parsed object with the same rules (the tree has already kept
// the last of duplicate keys).
template <class Profile, class T, class Fields>
field_failure decode_object(boost::json::object const& o, Fields const& fields, T& out) {
    object_reader<Profile, T, Fields> reader(fields);
    reader.begin();
    for (auto const& kv : o) {
        auto const key = kv.key();
        reader.value(reader.find(std::string_view(key.data(), key.size())), json_scalar::of(kv.value()));
    }
    auto failure = reader.finish();
    out = std::move(reader.result());
    return failure;
}

} // namespace cleori::detail
