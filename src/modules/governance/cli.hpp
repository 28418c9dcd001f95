// Governance's commands (src/cli/commands.hpp): gridpact tx propose | vote, and
// gridpact query proposals | proposal | members | validators.
#pragma once

#include "cli/commands.hpp"

namespace gridpact::governance {

void add_commands(cli::CommandHost& host);

}  // namespace gridpact::governance
