#pragma once
// A time point or none, in the size of a time point: none is the clock's
// `min()`, which no reading, deadline or RFC 3339 time can be (a
// `std::optional` of a time point takes twice the size, and the core keeps
// six for every asset of a fleet). Reads like the `std::optional` it
// converts to.

#include <optional>

namespace cleori::detail {

template <class TimePoint>
class optional_time {
public:
    constexpr optional_time() noexcept = default;
    constexpr optional_time(std::nullopt_t) noexcept {}
    constexpr optional_time(TimePoint t) noexcept : t_(t) {}
    constexpr optional_time(std::optional<TimePoint> const& o) noexcept : t_(o ? *o : none()) {}

    [[nodiscard]] constexpr bool has_value() const noexcept { return t_ != none(); }
    constexpr explicit operator bool() const noexcept { return has_value(); }
    // Like `std::optional`, only meaningful when there is a value.
    [[nodiscard]] constexpr TimePoint operator*() const noexcept { return t_; }
    constexpr void reset() noexcept { t_ = none(); }
    constexpr operator std::optional<TimePoint>() const noexcept {
        return has_value() ? std::optional<TimePoint>(t_) : std::nullopt;
    }

    friend constexpr bool operator==(optional_time a, TimePoint b) noexcept { return a.has_value() && a.t_ == b; }
    friend constexpr bool operator==(optional_time a, optional_time b) noexcept { return a.t_ == b.t_; }

private:
    static constexpr TimePoint none() noexcept { return TimePoint::min(); }
    TimePoint t_ = none();
};

} // namespace cleori::detail
