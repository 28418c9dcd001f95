// The bank's commands: gridpact tx transfer|mint|burn (src/cli/commands.hpp).
#pragma once

#include "cli/commands.hpp"

namespace gridpact::bank {

void add_commands(cli::CommandHost& host);

}  // namespace gridpact::bank
