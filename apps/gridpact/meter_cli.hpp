// Shared by the meter commands (cmd_meters.cpp, cmd_meter_agent.cpp): how a meter's
// signing platform is named on the command line.
#pragma once

#include <CLI/CLI.hpp>

#include "meteragent/agent.hpp"

namespace gridpact::cli {

struct PlatformArgs {
  std::string platform = "virtual";  // virtual | tpm2
  std::string meter_key;             // virtual: Ed25519 key file
  std::string tpm;                   // tpm2: TCTI, e.g. swtpm:host=127.0.0.1,port=2321
  std::string state;                 // tpm2: the meter's state directory
};

void add_platform_options(CLI::App& cmd, PlatformArgs& a);
Result<std::unique_ptr<meteragent::Platform>> open_platform(const PlatformArgs& a);

}  // namespace gridpact::cli
