// Built with nothing but `pkg-config --cflags --libs cleori` after install.
#include <cleori/time/rfc3339.hpp>
#include <cleori/version.hpp>

#include <cstdio>

int main() {
    auto t = cleori::parse_rfc3339("2026-11-27T12:00:00Z");
    std::printf("cleori %s\n", CLEORI_VERSION_STRING);
    return t ? 0 : 1;
}
