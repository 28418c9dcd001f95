// Tests of the real gridpact executable: GRIDPACT_EXE is a compile definition of each such
// test target (apps/gridpact/CMakeLists.txt).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace gridpact::testing {

struct CommandRun {
  int rc = -1;
  nlohmann::json out;
};

// Runs `gridpact ARGS`; its exit code, and its stdout (kept in `out_path`) as JSON.
inline CommandRun run_gridpact(const std::string& args, const std::string& out_path) {
  std::string cmd = std::string(GRIDPACT_EXE) + " " + args + " > " + out_path + " 2>/dev/null";
  int status = std::system(cmd.c_str());
  CommandRun r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_path);
  r.out = nlohmann::json::parse(in, nullptr, false);
  return r;
}

// `gridpact node --listen 127.0.0.1:0 --port-file DIR/port ARGS...` as a child process, its
// stdout and stderr in DIR/node.log; stopped (SIGTERM, then waited for) when destroyed.
class NodeProcess {
 public:
  NodeProcess(const std::string& dir, const std::vector<std::string>& args)
      : log(dir + "/node.log"), port_file_(dir + "/port") {
    std::vector<std::string> all = {GRIDPACT_EXE,  "node",        "--listen",
                                    "127.0.0.1:0", "--port-file", port_file_};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      if (FILE* f = std::fopen(log.c_str(), "w")) {
        dup2(fileno(f), STDOUT_FILENO);
        dup2(fileno(f), STDERR_FILENO);
      }
      execv(GRIDPACT_EXE, argv.data());
      _exit(127);
    }
  }
  ~NodeProcess() {
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // The port the node serves on, once it has written it (up to 30 s); 0 if it never does.
  int wait_port() const {
    for (int i = 0; i < 300; ++i) {
      int port = 0;
      std::ifstream in(port_file_);
      if (in >> port && port > 0) return port;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }

  const std::string log;

 private:
  std::string port_file_;
  pid_t pid_ = -1;
};

}  // namespace gridpact::testing
