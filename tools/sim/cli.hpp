#pragma once
// What cleori-sim and cleori-market-day share on their command lines: one
// error line and an exit status, numbers checked against a range, files
// written whole. Exit statuses: 2 usage, 3 a file cannot be written.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace cleori::sim::cli {

[[noreturn]] inline void fail(char const* program, std::string const& why, int code = 2) {
    std::cerr << program << ": " << why << "\n";
    std::exit(code);
}

// A number from the command line, in [lo, hi].
inline double number(char const* program, std::string const& flag, std::string const& text, double lo, double hi) {
    char* end = nullptr;
    double const v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= lo && v <= hi)) {
        std::ostringstream os;
        os << flag << ": expected a number in [" << lo << ", " << hi << "], got '" << text << "'";
        fail(program, os.str());
    }
    return v;
}

inline void write_file(char const* program, std::string const& path, std::string const& text, char const* what) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) fail(program, std::string("cannot write ") + what + " '" + path + "'", 3);
}

} // namespace cleori::sim::cli
