#pragma once
/// @file
/// @brief Strong types for the physical values cleori handles: power in kW,
/// energy in kWh and percentages (state of charge, efficiency).
///
/// Each type wraps a `double` in a fixed unit; the unit is part of the type's
/// name, so `cleori::kilowatts{42.5}` cannot be misread. Only the arithmetic that
/// makes physical sense compiles:
///
/// @code
/// using namespace cleori::literals;
/// cleori::kilowatt_hours e = 50.0_kW * std::chrono::minutes{15};   // 12.5 kWh
/// cleori::kilowatts p = e / std::chrono::hours{1};                 // 12.5 kW
/// auto t = 100.0_kWh / 50.0_kW;                                     // 2 h, as a duration
/// cleori::kilowatt_hours stored = 200.0_kWh * 40.0_pct;             // 80 kWh
/// // 50.0_kW + 10.0_kWh;   // does not compile: kW and kWh do not add
/// @endcode
///
/// Values convert to plain numbers only at the JSON boundary (`in_kw()`,
/// `in_kwh()`, `in_pct()`).

#include <chrono>
#include <compare>
#include <concepts>
#include <iosfwd>
#include <type_traits>

namespace cleori {

namespace detail {

// CRTP base: the operations every quantity has in common (same-kind addition,
// scaling by a plain number, ratio of two values of the same kind, ordering).
template <class Derived>
class quantity_base {
public:
    constexpr quantity_base() noexcept = default;
    constexpr explicit quantity_base(double v) noexcept : value_(v) {}

    [[nodiscard]] constexpr double raw() const noexcept { return value_; }

    friend constexpr Derived operator+(Derived a, Derived b) noexcept { return Derived{a.raw() + b.raw()}; }
    friend constexpr Derived operator-(Derived a, Derived b) noexcept { return Derived{a.raw() - b.raw()}; }
    friend constexpr Derived operator-(Derived a) noexcept { return Derived{-a.raw()}; }
    friend constexpr Derived operator*(Derived a, double k) noexcept { return Derived{a.raw() * k}; }
    friend constexpr Derived operator*(double k, Derived a) noexcept { return Derived{k * a.raw()}; }
    friend constexpr Derived operator/(Derived a, double k) noexcept { return Derived{a.raw() / k}; }
    friend constexpr double operator/(Derived a, Derived b) noexcept { return a.raw() / b.raw(); }
    friend constexpr bool operator==(Derived a, Derived b) noexcept { return a.raw() == b.raw(); }
    friend constexpr std::partial_ordering operator<=>(Derived a, Derived b) noexcept { return a.raw() <=> b.raw(); }

    constexpr Derived& operator+=(Derived o) noexcept { value_ += o.raw(); return self(); }
    constexpr Derived& operator-=(Derived o) noexcept { value_ -= o.raw(); return self(); }

private:
    constexpr Derived& self() noexcept { return static_cast<Derived&>(*this); }
    double value_ = 0.0;
};

template <class Rep, class Period>
constexpr double hours_in(std::chrono::duration<Rep, Period> d) noexcept {
    return std::chrono::duration<double, std::ratio<3600>>(d).count();
}

} // namespace detail

/// @brief Power in kilowatts. Sign convention of the Cleori wire contract:
/// positive = import (charging), negative = export (discharging).
class kilowatts : public detail::quantity_base<kilowatts> {
public:
    using quantity_base::quantity_base;
    /// @brief The value in kW.
    [[nodiscard]] constexpr double in_kw() const noexcept { return raw(); }
    /// @brief Writes the value with its unit, e.g. `42.5 kW`.
    template <class CharT, class Traits>
    friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, kilowatts q) {
        return os << q.raw() << " kW";
    }
};

/// @brief Energy in kilowatt-hours.
class kilowatt_hours : public detail::quantity_base<kilowatt_hours> {
public:
    using quantity_base::quantity_base;
    /// @brief The value in kWh.
    [[nodiscard]] constexpr double in_kwh() const noexcept { return raw(); }
    /// @brief Writes the value with its unit, e.g. `42.5 kWh`.
    template <class CharT, class Traits>
    friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, kilowatt_hours q) {
        return os << q.raw() << " kWh";
    }
};

/// @brief A percentage: state of charge (of usable capacity) or an efficiency.
class percent : public detail::quantity_base<percent> {
public:
    using quantity_base::quantity_base;
    /// @brief The value in percent (50 for half).
    [[nodiscard]] constexpr double in_pct() const noexcept { return raw(); }
    /// @brief Writes the value with its unit, e.g. `42.5 %`.
    template <class CharT, class Traits>
    friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, percent q) {
        return os << q.raw() << " %";
    }
    /// @brief The value as a fraction (0.5 for half).
    [[nodiscard]] constexpr double fraction() const noexcept { return raw() / 100.0; }
};

/// @brief Power held for a duration is energy.
template <class Rep, class Period>
constexpr kilowatt_hours operator*(kilowatts p, std::chrono::duration<Rep, Period> d) noexcept {
    return kilowatt_hours{p.in_kw() * detail::hours_in(d)};
}
/// @copydoc operator*(kilowatts,std::chrono::duration<Rep,Period>)
template <class Rep, class Period>
constexpr kilowatt_hours operator*(std::chrono::duration<Rep, Period> d, kilowatts p) noexcept {
    return p * d;
}
/// @brief Energy spread over a duration is power.
template <class Rep, class Period>
constexpr kilowatts operator/(kilowatt_hours e, std::chrono::duration<Rep, Period> d) noexcept {
    return kilowatts{e.in_kwh() / detail::hours_in(d)};
}
/// @brief How long a power can be held with an amount of energy.
constexpr std::chrono::duration<double> operator/(kilowatt_hours e, kilowatts p) noexcept {
    return std::chrono::duration<double>{e.in_kwh() / p.in_kw() * 3600.0};
}
/// @brief A share of an energy (e.g. capacity × state of charge).
constexpr kilowatt_hours operator*(kilowatt_hours e, percent share) noexcept {
    return kilowatt_hours{e.in_kwh() * share.fraction()};
}
/// @copydoc operator*(kilowatt_hours,percent)
constexpr kilowatt_hours operator*(percent share, kilowatt_hours e) noexcept { return e * share; }
/// @brief A share of a power (e.g. a rating × a derating factor).
constexpr kilowatts operator*(kilowatts p, percent share) noexcept {
    return kilowatts{p.in_kw() * share.fraction()};
}
/// @copydoc operator*(kilowatts,percent)
constexpr kilowatts operator*(percent share, kilowatts p) noexcept { return p * share; }

/// @brief The magnitude of a quantity.
template <class Q>
    requires std::derived_from<Q, detail::quantity_base<Q>>
constexpr Q abs(Q q) noexcept { return q.raw() < 0 ? -q : q; }

/// @brief The smaller / larger of two quantities of one kind.
template <class Q>
    requires std::derived_from<Q, detail::quantity_base<Q>>
constexpr Q min(Q a, Q b) noexcept { return b < a ? b : a; }
/// @copydoc min
template <class Q>
    requires std::derived_from<Q, detail::quantity_base<Q>>
constexpr Q max(Q a, Q b) noexcept { return a < b ? b : a; }
/// @brief `v` limited to `[lo, hi]` (precondition `lo <= hi`).
template <class Q>
    requires std::derived_from<Q, detail::quantity_base<Q>>
constexpr Q clamp(Q v, Q lo, Q hi) noexcept { return v < lo ? lo : (hi < v ? hi : v); }

/// @brief Literals: `42.5_kW`, `100_kWh`, `55.5_pct`.
namespace literals {
constexpr kilowatts operator""_kW(long double v) noexcept { return kilowatts{static_cast<double>(v)}; }
constexpr kilowatts operator""_kW(unsigned long long v) noexcept { return kilowatts{static_cast<double>(v)}; }
constexpr kilowatt_hours operator""_kWh(long double v) noexcept { return kilowatt_hours{static_cast<double>(v)}; }
constexpr kilowatt_hours operator""_kWh(unsigned long long v) noexcept { return kilowatt_hours{static_cast<double>(v)}; }
constexpr percent operator""_pct(long double v) noexcept { return percent{static_cast<double>(v)}; }
constexpr percent operator""_pct(unsigned long long v) noexcept { return percent{static_cast<double>(v)}; }
} // namespace literals

} // namespace cleori
