#pragma once
// Policy bundles the tests share: virtual time, and no retries inside the
// client (so every fault reaches the caller).
#include <cleori/clock/manual_clock.hpp>
#include <cleori/policies.hpp>
#include <cleori/retry/retry_strategy.hpp>

namespace cleori::test {

struct virtual_time : default_policies {
    using clock = manual_clock;
};

struct no_retries : default_policies {
    using retry = no_retry;
};

} // namespace cleori::test
