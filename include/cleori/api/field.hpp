#pragma once
/// @file
/// @brief `cleori::field` — the pairing of a struct member with its JSON name.
/// An API profile lists a wire type's fields once, as a `boost::hana` tuple of
/// these; the JSON encoder and decoder iterate that list, so a field is
/// declared in exactly one place.
///
/// @code
/// static constexpr auto telemetry_fields = boost::hana::make_tuple(
///     cleori::make_field(&cleori::telemetry_sample::time, "time"),
///     cleori::make_field(&cleori::telemetry_sample::power, "power"));
/// @endcode

#include <string_view>

namespace cleori {

/// @brief A member of `Struct` of type `Member`, named `name` on the wire.
template <class Struct, class Member>
struct field {
    using struct_type = Struct;
    using member_type = Member;
    Member Struct::*member;
    std::string_view name;
};

/// @brief Makes a `field` (deduces both types from the member pointer).
template <class Struct, class Member>
constexpr field<Struct, Member> make_field(Member Struct::*member, std::string_view name) noexcept {
    return {member, name};
}

} // namespace cleori
