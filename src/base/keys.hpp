// Byte-string keys ordered as RocksDB and etcd order them.
#pragma once

#include <cstdint>
#include <string>

namespace gridpact {

// The smallest key greater than every key that starts with `prefix`: the exclusive upper
// bound of a prefix scan. Empty when there is none (an empty or all-0xff prefix).
inline std::string prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

}  // namespace gridpact
