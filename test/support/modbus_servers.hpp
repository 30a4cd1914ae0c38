#pragma once
// Modbus servers we did not write, started as real processes on loopback:
// the libmodbus battery plant (test/modbus/modbus_plant.cpp) and the pymodbus
// SunSpec plant (test/modbus/sunspec_plant.py).
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cleori::test {

// A server process that prints "…listening on 127.0.0.1:PORT" once it serves.
class modbus_server {
public:
    modbus_server(std::vector<std::string> args, std::string const& port = "0") : args_(std::move(args)) { start(port); }

    std::string const& port() const noexcept { return port_; }
    std::string log() const {
        std::ifstream in(dir_ / "server.log");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    // Kills the server (SIGKILL: a crash, connections reset) and starts it again on the same port.
    void restart() {
        child_.reset();
        start(port_);
    }
    int stop() { return child_ ? child_->kill(SIGTERM) : 0; }

private:
    void start(std::string const& port) {
        std::remove((dir_ / "server.log").c_str());
        auto args = args_;
        args.push_back("--port");
        args.push_back(port);
        child_ = std::make_unique<child_process>(args, spawn_options{.output = (dir_ / "server.log").string()});
        auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < until) {
            auto const text = log();
            auto const at = text.find("listening on 127.0.0.1:");
            auto const eol = at == std::string::npos ? std::string::npos : text.find('\n', at);
            if (eol != std::string::npos) {
                port_ = text.substr(at + 23, eol - at - 23);
                return;
            }
            if (!child_->running()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        BOOST_FAIL("the Modbus server " << args_[0] << " did not start:\n" << log());
    }

    std::vector<std::string> args_;
    temp_dir dir_;
    std::unique_ptr<child_process> child_;
    std::string port_;
};

inline modbus_server libmodbus_plant(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{CLEORI_MODBUS_PLANT};
    args.insert(args.end(), extra.begin(), extra.end());
    return modbus_server(args);
}

inline modbus_server sunspec_plant(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"/usr/bin/python3", CLEORI_SUNSPEC_PLANT};
    args.insert(args.end(), extra.begin(), extra.end());
    return modbus_server(args);
}

// Runs `io` until `done()` or the time is up.
template <class Done>
bool run_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto const until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return done();
}

} // namespace cleori::test
