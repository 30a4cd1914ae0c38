// Compile-time proof that only physically meaningful arithmetic exists.
#include <cleori/units/quantity.hpp>

#include <chrono>
#include <concepts>

namespace {
using namespace cleori;
using namespace std::chrono_literals;

template <class A, class B>
concept addable = requires(A a, B b) { a + b; };
template <class A, class B>
concept multipliable = requires(A a, B b) { a * b; };
template <class A, class B>
concept divisible = requires(A a, B b) { a / b; };

static_assert(addable<kilowatts, kilowatts>);
static_assert(!addable<kilowatts, kilowatt_hours>);
static_assert(!addable<kilowatts, double>);
static_assert(!addable<kilowatts, percent>);
static_assert(!addable<kilowatt_hours, std::chrono::seconds>);
static_assert(std::same_as<decltype(kilowatts{} * 1s), kilowatt_hours>);
static_assert(std::same_as<decltype(kilowatt_hours{} / 1s), kilowatts>);
static_assert(std::same_as<decltype(kilowatt_hours{} / kilowatts{}), std::chrono::duration<double>>);
static_assert(std::same_as<decltype(kilowatts{} / kilowatts{}), double>);
static_assert(std::same_as<decltype(kilowatt_hours{} * percent{}), kilowatt_hours>);
static_assert(!multipliable<kilowatts, kilowatts>);
static_assert(!multipliable<kilowatt_hours, kilowatt_hours>);
static_assert(!divisible<kilowatts, std::chrono::seconds>);
static_assert(!std::convertible_to<double, kilowatts>);   // construction is explicit
static_assert(!std::convertible_to<kilowatts, double>);   // no silent unwrapping
static_assert(!std::convertible_to<kilowatts, kilowatt_hours>);
static_assert(!std::convertible_to<percent, kilowatts>);
static_assert(std::is_trivially_copyable_v<kilowatts> && sizeof(kilowatts) == sizeof(double));

// Usable in constant expressions.
using namespace cleori::literals;
static_assert((50_kW * 2h).in_kwh() == 100.0);
static_assert((100_kWh / 4h).in_kw() == 25.0);
static_assert(clamp(120_kW, -100_kW, 100_kW) == 100_kW);
} // namespace
