#pragma once
// Equality for round-trip checks. Boost.JSON 1.81 reads a decimal to within
// one ulp of the nearest double (correct rounding came in 1.83), so a number
// written and read back may move by one ulp (1e-14 kW at 42 kW); every other
// field, and every number beyond that ulp, must be identical.
#include <cleori/api/activation.hpp>
#include <cleori/api/telemetry_sample.hpp>
#include <cleori/engine/lifecycle.hpp>

#include <cmath>

namespace cleori::fuzz {

inline bool within_an_ulp(double a, double b) { return a == b || std::nextafter(a, b) == b; }

// `b` with each number that is within an ulp of `a`'s replaced by `a`'s.
inline telemetry_sample aligned(telemetry_sample const& a, telemetry_sample b) {
    if (a.power && b.power && within_an_ulp(a.power->in_kw(), b.power->in_kw())) b.power = a.power;
    if (a.soc && b.soc && within_an_ulp(a.soc->in_pct(), b.soc->in_pct())) b.soc = a.soc;
    return b;
}
inline activation aligned(activation const& a, activation b) {
    if (within_an_ulp(a.power.in_kw(), b.power.in_kw())) b.power = a.power;
    return b;
}

inline confirmation aligned(confirmation const& a, confirmation b) {
    if (a.setpoint && b.setpoint && within_an_ulp(a.setpoint->in_kw(), b.setpoint->in_kw())) b.setpoint = a.setpoint;
    return b;
}

template <class T>
bool same(T const& a, T const& b) {
    return a == aligned(a, b);
}

// Every field of a restored activation: its request, phase, share, contact,
// end and what Cleori was told.
inline bool same(tracked_activation const& a, tracked_activation const& b) {
    return same(a.a, b.a) && a.phase == b.phase && within_an_ulp(a.setpoint.in_kw(), b.setpoint.in_kw()) &&
           a.last_seen == b.last_seen && a.ended == b.ended && a.confirmed == b.confirmed &&
           a.executing_sent == b.executing_sent;
}

} // namespace cleori::fuzz
