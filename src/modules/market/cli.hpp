// The market's commands: gridpact tx offer|bid|cancel|amend and gridpact query
// book|trades|price|settlement|mix (src/cli/commands.hpp).
#pragma once

#include "cli/commands.hpp"

namespace gridpact::market {

void add_commands(cli::CommandHost& host);

}  // namespace gridpact::market
