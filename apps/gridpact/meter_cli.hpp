// How a meter's signing platform is named on the command line (meter_platform.cpp): for
// gridpact meter-agent and the meters module's commands.
#pragma once

#include <CLI/CLI.hpp>

#include "meteragent/agent.hpp"
#include "modules/meters/cli.hpp"

namespace gridpact::cli {

struct PlatformArgs {
  std::string platform = "virtual";  // virtual | tpm2
  std::string meter_key;             // virtual: Ed25519 key file
  std::string tpm;                   // tpm2: TCTI, e.g. swtpm:host=127.0.0.1,port=2321
  std::string state;                 // tpm2: the meter's state directory
};

void add_platform_options(CLI::App& cmd, PlatformArgs& a);
Result<std::unique_ptr<meteragent::Platform>> open_platform(const PlatformArgs& a);
// The platforms as meters::add_commands takes them.
meters::MeterPlatforms meter_platforms();

}  // namespace gridpact::cli
