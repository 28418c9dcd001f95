// Tests of the real gridpact executable: GRIDPACT_EXE is a compile definition of each such
// test target (apps/gridpact/CMakeLists.txt).
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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

}  // namespace gridpact::testing
