// The green tokens' commands (src/cli/commands.hpp): gridpact tx token-transfer | redeem |
// fund-pool | spend-tokens, and gridpact query tokens | token-pool | token-mix.
// Token amounts are micro-tokens (1 token = 1,000,000), currency amounts micro-units.
#pragma once

#include "cli/commands.hpp"

namespace gridpact::tokens {

void add_commands(cli::CommandHost& host);

}  // namespace gridpact::tokens
