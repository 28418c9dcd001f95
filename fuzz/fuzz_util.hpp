// Shared by the libFuzzer targets: the canonical-encoding invariant.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "base/hex.hpp"

namespace gridpact::fuzz {

// Whatever decodes must re-encode to exactly the input bytes; anything else is a bug.
inline void require_same(const Bytes& again, const uint8_t* data, size_t size) {
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
}

}  // namespace gridpact::fuzz
