// The six modules of the GridPact application, in their order. The order is part of the
// chain: it is the order genesis sections are written and read in and in which each block
// runs the modules' hooks (tokens after the market, whose settlement it reads), so the
// command line, the simulator and the tests that replay its chains all take it from here.
#pragma once

#include <memory>
#include <vector>

#include "ledger/module.hpp"

namespace gridpact {

// Fresh instances: bank, agreements, meters, governance, market, tokens.
std::vector<std::unique_ptr<Module>> all_modules();
// Their raw pointers, as the executor and genesis take them.
std::vector<Module*> module_pointers(const std::vector<std::unique_ptr<Module>>& modules);

}  // namespace gridpact
