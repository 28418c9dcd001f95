#include "ledger/state_cache.hpp"

#include <cstring>
#include <new>

#include "ledger/sharded.hpp"

namespace gridpact {

// [key size u32][value size u32, or kAbsent][key bytes][value bytes], in one block.
class StateCache::Entry {
 public:
  static constexpr uint32_t kAbsent = UINT32_MAX;

  static EntryPtr make(std::string_view key, const std::optional<std::string>& value) {
    size_t value_size = value ? value->size() : 0;
    void* memory = ::operator new(sizeof(Entry) + key.size() + value_size);
    auto* e = new (memory) Entry(static_cast<uint32_t>(key.size()),
                                 value ? static_cast<uint32_t>(value_size) : kAbsent);
    std::memcpy(e->bytes(), key.data(), key.size());
    if (value_size) std::memcpy(e->bytes() + key.size(), value->data(), value_size);
    return EntryPtr(e);
  }
  std::string_view key() const { return {bytes(), key_size_}; }
  // Overwrites the value where it lies if the new one is as long (a balance, a nonce: most
  // changes), which spares an allocation and a free; false otherwise.
  bool assign_in_place(const std::optional<std::string>& value) {
    if (!value || value_size_ == kAbsent || value->size() != value_size_) return false;
    std::memcpy(bytes() + key_size_, value->data(), value_size_);
    return true;
  }
  std::optional<std::string> value() const {
    if (value_size_ == kAbsent) return std::nullopt;
    return std::string(bytes() + key_size_, value_size_);
  }

 private:
  Entry(uint32_t key_size, uint32_t value_size) : key_size_(key_size), value_size_(value_size) {}
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  uint32_t key_size_, value_size_;
};

void StateCache::EntryDeleter::operator()(Entry* e) const {
  e->~Entry();
  ::operator delete(e);
}

StateCache::StateCache(size_t max_entries)
    : max_per_shard_((max_entries + kShards - 1) / kShards) {}

uint64_t StateCache::hash_of(std::string_view key) {
  return StringKeyHash{}(key);
}

size_t StateCache::shard_index(uint64_t hash) {
  // Slots are found by the hash's low bits; shards take high ones.
  return (hash >> 56) % kShards;
}

StateCache::Shard& StateCache::shard_of(uint64_t hash) const {
  return shards_[shard_index(hash)];
}

StateCache::Slot* StateCache::Shard::find(uint64_t hash, std::string_view key) {
  if (slots.empty()) return nullptr;
  const size_t mask = slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots[i];
    if (!slot.entry || (slot.hash == hash && slot.entry->key() == key)) return &slot;
  }
}

void StateCache::Shard::clear() {
  for (auto& slot : slots) slot.entry.reset();
  size = 0;
}

std::optional<std::optional<std::string>> StateCache::find(std::string_view key) const {
  if (max_per_shard_ == 0) return std::nullopt;
  uint64_t hash = hash_of(key);
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  Slot* slot = shard.find(hash, key);
  if (!slot || !slot->entry) return std::nullopt;
  return slot->entry->value();
}

void StateCache::insert(Shard& shard, uint64_t hash, std::string_view key,
                        const std::optional<std::string>& value) {
  Slot* slot = shard.find(hash, key);
  if (slot && slot->entry) {
    if (!slot->entry->assign_in_place(value)) slot->entry = Entry::make(key, value);
    return;
  }
  // Crude but bounded: a full shard starts over; what is hot comes back at once.
  if (shard.size >= max_per_shard_) shard.clear();
  if ((shard.size + 1) * 2 > shard.slots.size()) {
    // Grow (doubling, up to twice the bound) and put every entry back.
    std::vector<Slot> old = std::move(shard.slots);
    shard.slots = std::vector<Slot>(std::max<size_t>(64, old.size() * 2));
    for (auto& s : old)
      if (s.entry) *shard.find(s.hash, s.entry->key()) = std::move(s);
  }
  slot = shard.find(hash, key);
  slot->hash = hash;
  slot->entry = Entry::make(key, value);
  shard.size++;
}

void StateCache::remember(std::string_view key, const std::optional<std::string>& value,
                          uint64_t read_generation) {
  if (max_per_shard_ == 0) return;
  uint64_t hash = hash_of(key);
  Shard& shard = shard_of(hash);
  std::lock_guard lock(shard.mutex);
  // A commit since the read may have changed the key (and cached its new value).
  if (generation_.load(std::memory_order_acquire) != read_generation) return;
  Slot* slot = shard.find(hash, key);
  if (!slot || !slot->entry) insert(shard, hash, key, value);
}

void StateCache::apply(const StateOverlay::Writes& changes) {
  if (max_per_shard_ == 0) return;
  // First the generation, then the values: a read that raced this commit either saw the
  // store before it (and its remember() is refused) or after it (and holds the new value).
  generation_.fetch_add(1, std::memory_order_acq_rel);
  // A block changes thousands of keys spread over a table far larger than the CPU's
  // caches: the home slots of the changes a few ahead are fetched while one is placed.
  std::vector<uint64_t> hashes(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) hashes[i] = hash_of(changes[i].first);
  constexpr size_t kAhead = 8;
  for_each_by_shard<kAhead>(
      shards_, changes.size(), [&](size_t i) { return shard_index(hashes[i]); },
      [&](const Shard& shard, size_t i) {
        if (!shard.slots.empty())
          __builtin_prefetch(&shard.slots[hashes[i] & (shard.slots.size() - 1)]);
      },
      [&](Shard& shard, size_t i) {
        insert(shard, hashes[i], changes[i].first, changes[i].second);
      });
}

size_t StateCache::size() const {
  return locked_size(shards_);
}

}  // namespace gridpact
