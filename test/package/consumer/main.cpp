// A consumer of the installed or embedded library: the umbrella header and the
// Modbus module compile, a round trip through the wire model works, and a
// register map parses.
#include <cleori/cleori.hpp>
#include <cleori/modbus.hpp>

#include <cstdio>

int main() {
    using namespace cleori::literals;
    std::string body;
    auto t = cleori::parse_rfc3339("2026-11-26T16:17:20Z");
    if (!t) return 1;
    cleori::encode_telemetry(cleori::telemetry_sample{*t, -42.5_kW, 63.2_pct}, body);
    std::puts(body.c_str());
    auto map = cleori::modbus::parse_register_map(R"({"sign": "export_positive", "points": {
        "power": {"kind": "input", "address": 0, "type": "s32", "scale": 0.001},
        "soc": {"kind": "input", "address": 2, "type": "u16", "scale": 0.1},
        "setpoint": {"kind": "holding", "address": 100, "type": "s32", "scale": 0.001}}})");
    if (!map) return 1;
    return body == R"({"time":"2026-11-26T16:17:20.000Z","power":-42.5,"soc":63.2})" ? 0 : 1;
}
