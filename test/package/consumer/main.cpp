// A consumer of the installed or embedded library: the umbrella header compiles
// and a round trip through the wire model works.
#include <cleori/cleori.hpp>

#include <cstdio>

int main() {
    using namespace cleori::literals;
    std::string body;
    auto t = cleori::parse_rfc3339("2026-11-26T16:17:20Z");
    if (!t) return 1;
    cleori::encode_telemetry(cleori::telemetry_sample{*t, -42.5_kW, 63.2_pct}, body);
    std::puts(body.c_str());
    return body == R"({"time":"2026-11-26T16:17:20.000Z","power":-42.5,"soc":63.2})" ? 0 : 1;
}
