#include "modules/all_modules.hpp"

#include "modules/agreements/agreements.hpp"
#include "modules/bank/bank.hpp"
#include "modules/governance/governance.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/tokens.hpp"

namespace gridpact {

std::vector<std::unique_ptr<Module>> all_modules() {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<bank::BankModule>());
  m.push_back(std::make_unique<agreements::AgreementsModule>());
  m.push_back(std::make_unique<meters::MetersModule>());
  // Governance before the market: development genesis sections follow this order, and
  // examples append [market] keys to the end of the file.
  m.push_back(std::make_unique<governance::GovernanceModule>());
  m.push_back(std::make_unique<market::MarketModule>());
  m.push_back(std::make_unique<tokens::TokensModule>());  // after the market: reads its settlement
  return m;
}

std::vector<Module*> module_pointers(const std::vector<std::unique_ptr<Module>>& modules) {
  std::vector<Module*> out;
  for (const auto& m : modules) out.push_back(m.get());
  return out;
}

}  // namespace gridpact
