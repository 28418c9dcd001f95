// The latest committed values of recently used state keys, kept in memory in front of a
// slower ordered store (RocksDB in the node). Point reads are most of what blocks do, and
// a hash lookup costs a fraction of a RocksDB Get or of a descent through an ordered map
// of a million keys. Scans are not cached: they go to the store, which keeps the order.
//
// Thread-safe: the executor, the mempool's admission checks and API queries read at once
// while the committer applies a block's changes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/state.hpp"

namespace gridpact {

class StateCache {
 public:
  // `max_entries` bounds memory (about 150 bytes an entry); 0 disables the cache.
  explicit StateCache(size_t max_entries);

  // The cached value (nullopt inside: the key is known to be absent), or nullopt when
  // the key is not cached.
  std::optional<std::optional<std::string>> find(std::string_view key) const;

  // Caching what a read from the store returned: take `generation()` before the read and
  // pass it here, so that a value read before a commit that changed it is not cached
  // after that commit.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void remember(std::string_view key, const std::optional<std::string>& value,
                uint64_t read_generation);

  // A block's changes, once they are durable in the store.
  void apply(const StateOverlay::Writes& changes);

  size_t size() const;

 private:
  // One allocation per entry, key and value inline: a lookup touches the slot array and
  // the entry, where a node-based map of strings touches a bucket, a node, the key's heap
  // buffer and the value's.
  class Entry;
  struct EntryDeleter {
    void operator()(Entry* e) const;
  };
  using EntryPtr = std::unique_ptr<Entry, EntryDeleter>;
  struct Slot {
    uint64_t hash = 0;
    EntryPtr entry;  // null: empty
  };
  // Open addressing with linear probing, at most half full; nothing is ever removed
  // alone (a full shard is cleared), so no tombstones.
  struct Shard {
    mutable std::mutex mutex;
    std::vector<Slot> slots;
    size_t size = 0;
    Slot* find(uint64_t hash, std::string_view key);
    void clear();
  };
  // Sharded so that concurrent readers rarely wait on one another.
  static constexpr size_t kShards = 16;
  static uint64_t hash_of(std::string_view key);
  static size_t shard_index(uint64_t hash);
  Shard& shard_of(uint64_t hash) const;
  void insert(Shard& shard, uint64_t hash, std::string_view key,
              const std::optional<std::string>& value);

  size_t max_per_shard_;
  mutable std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace gridpact
