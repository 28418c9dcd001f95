// What the tables split in locked shards (StateCache, NodeTable) share.
#pragma once

#include <cstddef>
#include <mutex>

namespace gridpact {

// The entries of all shards, each shard counted under its own lock (shards have a
// `mutex` and a `size`).
template <class Shards>
size_t locked_size(const Shards& shards) {
  size_t n = 0;
  for (const auto& shard : shards) {
    std::lock_guard lock(shard.mutex);
    n += shard.size;
  }
  return n;
}

}  // namespace gridpact
