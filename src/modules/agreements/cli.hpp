// Assets, premises, agreements and ratings on the command line (src/cli/commands.hpp):
//   gridpact tx asset-register|asset-transfer|premises-register|agreement-propose|
//               agreement-sign|agreement-amend|agreement-sign-amendment|
//               agreement-terminate|agreement-pay|agreement-execute|rate (an agreement
//               period, or a market trade with --trade)
//   gridpact query match|asset|premises|agreement|agreement-text|payments|rating
// The SQL read model's side (query match --db, query assets) is the command line's own
// (apps/gridpact/cmd_db.cpp): a module does not include the read model.
#pragma once

#include "cli/commands.hpp"

namespace gridpact::agreements {

void add_commands(cli::CommandHost& host);

// The filter options of `query match` (and of the read model's `query assets`): --type,
// --min-w, --max-w, --radius-km, --min-rating, --limit.
struct FilterArgs {
  std::string type;
  std::optional<uint64_t> min_w, max_w, radius_km, min_rating, limit;
  // As the query parameters of the API's match route (MatchFilter::parse reads them).
  nlohmann::json params() const;
};
void add_filter_options(CLI::App& cmd, FilterArgs& f);

}  // namespace gridpact::agreements
