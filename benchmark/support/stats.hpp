#pragma once
// Percentiles and the machine description printed with every table.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/version.hpp>
#include <openssl/opensslv.h>

namespace bench {

struct summary {
    std::size_t n = 0;
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

inline double percentile(std::vector<double> const& sorted, double q) {
    if (sorted.empty()) return 0;
    auto const i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

inline summary summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    summary s;
    s.n = v.size();
    if (v.empty()) return s;
    s.p50 = percentile(v, 0.50);
    s.p99 = percentile(v, 0.99);
    s.p999 = percentile(v, 0.999);
    s.max = v.back();
    return s;
}

inline std::string first_line_of(std::string const& command) {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char buf[512];
        if (std::fgets(buf, sizeof buf, p)) out = buf;
        ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// One Markdown line naming the machine, compiler, Boost and OpenSSL.
inline std::string machine_line() {
    std::ostringstream os;
    std::string cpu = first_line_of("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    cpu.erase(0, cpu.find_first_not_of(' '));
    os << "Machine: " << cpu << ", " << first_line_of("nproc") << " cores, "
       << first_line_of("free -g | awk '/Mem:/{print $2}'") << " GiB; " << first_line_of("uname -sr") << "; compiler: "
#if defined(__clang__)
       << "clang++ " << __clang_major__ << "." << __clang_minor__
#else
       << "g++ " << __GNUC__ << "." << __GNUC_MINOR__
#endif
       << " (" << CLEORI_BENCH_BUILD << ")" << "; Boost " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "; " << OPENSSL_VERSION_TEXT;
    return os.str();
}

} // namespace bench
