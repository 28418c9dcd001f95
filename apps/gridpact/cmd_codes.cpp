// gridpact codes: every stable error code (number, name, module, meaning) as JSON, sorted
// by number, for client authors. The list of tables below is the whole registry: a module
// with codes adds its table here (codes_test fails on a GRIDPACT_CODES table not listed).
#include <algorithm>
#include <iostream>

#include "app.hpp"
#include "attest/codes.hpp"
#include "cluster/codes.hpp"
#include "db/sql.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/governance/governance.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/tokens.hpp"
#include "node/key_file.hpp"
#include "node_attest/node_attest.hpp"

namespace gridpact::cli {
namespace {

// One table a line.
// clang-format off
const CodeTable* const kAllCodeTables[] = {
    &kBaseCodes,
    &attest::kAttestCodes,
    &meters::kMeterCodes,
    &market::kMarketCodes,
    &agreements::kAgreementsCodes,
    &tokens::kTokensCodes,
    &db::kDbCodes,
    &node_attest::kNodeAttestCodes,
    &governance::kGovernanceCodes,
    &cluster::kClusterCodes,
    &keys::kKeyFileCodes,
};
// clang-format on

int print_codes() {
  if (Status s = check_code_tables(kAllCodeTables); !s) return fail(s);
  std::vector<std::pair<const CodeInfo*, std::string_view>> all;
  for (const CodeTable* t : kAllCodeTables)
    for (const CodeInfo& c : t->codes) all.emplace_back(&c, t->module);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.first->number < b.first->number; });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [c, module] : all)
    out.push_back(
        {{"number", c->number}, {"name", c->name}, {"module", module}, {"meaning", c->meaning}});
  std::cout << out.dump(2) << std::endl;  // in field order, unlike print_json
  return 0;
}

}  // namespace

void add_codes_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "codes", "Print every stable error code (number, name, module, meaning) as JSON");
  cmd->callback([] { finish(print_codes()); });
}

}  // namespace gridpact::cli
