#include "ledger/state_cache.hpp"

namespace gridpact {

StateCache::StateCache(size_t max_entries)
    : max_per_shard_((max_entries + kShards - 1) / kShards) {}

StateCache::Shard& StateCache::shard_of(std::string_view key) const {
  // The map buckets by the hash's low bits; shards take high ones.
  return shards_[(StringKeyHash{}(key) >> 56) % kShards];
}

std::optional<std::optional<std::string>> StateCache::find(std::string_view key) const {
  if (max_per_shard_ == 0) return std::nullopt;
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return std::nullopt;
  return it->second;
}

void StateCache::insert(Shard& shard, std::string_view key,
                        const std::optional<std::string>& value) {
  auto it = shard.map.find(key);
  if (it != shard.map.end()) {
    it->second = value;
    return;
  }
  // Crude but bounded: a full shard starts over; what is hot comes back at once.
  if (shard.map.size() >= max_per_shard_) shard.map.clear();
  shard.map.emplace(std::string(key), value);
}

void StateCache::remember(std::string_view key, const std::optional<std::string>& value,
                          uint64_t read_generation) {
  if (max_per_shard_ == 0) return;
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  // A commit since the read may have changed the key (and cached its new value).
  if (generation_.load(std::memory_order_acquire) != read_generation) return;
  if (!shard.map.contains(key)) insert(shard, key, value);
}

void StateCache::apply(const StateOverlay::Writes& changes) {
  if (max_per_shard_ == 0) return;
  // First the generation, then the values: a read that raced this commit either saw the
  // store before it (and its remember() is refused) or after it (and holds the new value).
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (const auto& [key, value] : changes) {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    insert(shard, key, value);
  }
}

size_t StateCache::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.map.size();
  }
  return n;
}

}  // namespace gridpact
