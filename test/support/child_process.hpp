#pragma once
// A program started for a test (posix_spawn), stopped with a signal and
// waited for, and killed if the test ends first.
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace cleori::test {

struct spawn_options {
    std::vector<std::pair<std::string, std::string>> env{}; // set (or replace) in the inherited environment
    std::optional<std::filesystem::path> output{};          // stdout and stderr appended here
};

class child_process {
public:
    explicit child_process(std::vector<std::string> args, spawn_options const& opt = {}) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env_store;
        for (char** e = environ; *e; ++e) {
            std::string_view const entry(*e);
            bool replaced = false;
            for (auto const& [name, value] : opt.env)
                replaced = replaced || entry.substr(0, name.size() + 1) == name + "=";
            if (!replaced) env_store.emplace_back(entry);
        }
        for (auto const& [name, value] : opt.env) env_store.push_back(name + "=" + value);
        std::vector<char*> envp;
        for (auto& e : env_store) envp.push_back(e.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        if (opt.output) {
            for (int fd : {1, 2})
                posix_spawn_file_actions_addopen(&fa, fd, opt.output->c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        }
        int const rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("posix_spawn " + args[0] + ": " + std::strerror(rc));
    }
    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;
    ~child_process() {
        if (pid_ > 0) kill(SIGKILL);
    }
    // Sends `sig` and waits (SIGKILL after `patience`); returns the wait status, -1 if it had to kill.
    int kill(int sig, std::chrono::milliseconds patience = std::chrono::seconds(10)) {
        ::kill(pid_, sig);
        int status = 0;
        auto const until = std::chrono::steady_clock::now() + patience;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > until) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                status = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        pid_ = -1;
        return status;
    }
    bool running() {
        int status = 0;
        return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
    }

private:
    pid_t pid_ = -1;
};

} // namespace cleori::test
