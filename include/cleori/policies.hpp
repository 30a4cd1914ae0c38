#pragma once
/// @file
/// @brief The `Policies` bundle of `basic_agent` and `basic_api_client`: the
/// clock, the retry strategy, the API profile and the store, in one struct,
/// so changing one policy does not mean spelling out the other three.
///
/// @code
/// // Only the store differs from the defaults:
/// struct journaled : cleori::default_policies {
///     using store = cleori::file_store;
/// };
/// cleori::basic_agent<my_battery, cleori::beast_transport, journaled> agent{
///     battery, transport, config, cleori::file_store::open(path).value()};
///
/// // Virtual time for a test:
/// struct virtual_time : cleori::default_policies {
///     using clock = cleori::manual_clock;
/// };
/// cleori::basic_agent<my_battery, cleori::testing::memory_transport, virtual_time> agent{
///     battery, transport, config, clock};
/// @endcode
///
/// | member | concept | default |
/// |---|---|---|
/// | `clock` | `Clock` | `real_clock` |
/// | `retry` | `RetryStrategy` | `default_retry` |
/// | `profile` | `Profile` | `api_profile_v1` |
/// | `store` | `Store` | `memory_store` (the API client does not use it) |
///
/// Each member is checked against its concept where the bundle is used, with
/// one error naming it. See doc/concepts/Policies.md.

#include <cleori/api/profile.hpp>
#include <cleori/clock/clock.hpp>
#include <cleori/retry/retry_strategy.hpp>
#include <cleori/store/store.hpp>

#include <type_traits>

namespace cleori {

/// @brief The defaults. Derive from it and shadow what differs.
struct default_policies {
    using clock = real_clock;
    using retry = default_retry;
    using profile = api_profile_v1;
    using store = memory_store;
};

/// @brief A type that names the four policies: `clock`, `retry`, `profile`
/// and `store`. Whether each models its own concept is checked separately,
/// so an error says which one does not.
template <class P>
concept Policies = requires {
    typename P::clock;
    typename P::retry;
    typename P::profile;
    typename P::store;
};

namespace detail {
// Stands in for every policy of a bundle that is not one (a bundle missing a
// member, or a lone policy in the old positional spelling): whatever the
// constructor is then given, a manual_clock or a file_store, still compiles,
// so the bundle's static_assert is the only error.
struct any_policy_argument {
    any_policy_argument() = default;
    template <class T>
    any_policy_argument(T&&) noexcept {} // NOLINT: converts from anything on purpose
};
// The store stays memory_store: the constructor that takes a durable store
// alone must not compete with the one that takes a clock.
struct unusable_policies {
    using clock = any_policy_argument;
    using retry = any_policy_argument;
    using profile = api_profile_v1;
    using store = memory_store;
};

template <class P>
using checked_policies = std::conditional_t<Policies<P>, P, unusable_policies>;
} // namespace detail

} // namespace cleori
