// The engine's record of a development chain: "chain/development" = "\1" when the genesis
// document says `development = true`. Executor::genesis writes it, and nothing else ever
// does, so no transaction or governance vote can turn a production chain into a
// development one; modules read it for development-only leniencies (the meters module:
// resettable firmware PCRs).
#pragma once

#include <string_view>

#include "ledger/state.hpp"

namespace gridpact {

inline constexpr std::string_view kDevelopmentKey = "chain/development";

inline bool development_chain(const StateReader& state) {
  return state.get(kDevelopmentKey).value_or("") == "\1";
}

}  // namespace gridpact
