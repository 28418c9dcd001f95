#include "ledger/parallel.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <thread>

namespace gridpact {

size_t worker_count() {
  static const size_t count = [] {
    size_t n = std::thread::hardware_concurrency();
    if (const char* env = std::getenv("GRIDPACT_WORKERS")) n = std::strtoul(env, nullptr, 10);
    return std::clamp<size_t>(n, 1, 8);
  }();
  return count;
}

void run_parallel(size_t tasks, const std::function<void(size_t)>& fn) {
  std::vector<std::exception_ptr> failures(tasks);
  auto guarded = [&](size_t task) {
    try {
      fn(task);
    } catch (...) {
      failures[task] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(tasks > 0 ? tasks - 1 : 0);
  for (size_t task = 1; task < tasks; ++task) threads.emplace_back(guarded, task);
  if (tasks > 0) guarded(0);
  for (auto& t : threads) t.join();
  for (auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
}

std::vector<uint8_t> plan_shards(
    size_t items, size_t shards,
    const std::function<void(size_t, std::vector<uint64_t>&)>& tags_of) {
  if (shards == 0 || shards > 255) throw std::invalid_argument("plan_shards: 1 to 255 shards");
  std::vector<uint8_t> shard_of(items, 0);
  if (shards == 1 || items < 2) return shard_of;

  // Union-find over items; a component's root is its first item.
  std::vector<uint32_t> parent(items);
  std::iota(parent.begin(), parent.end(), 0u);
  auto root = [&](uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  // Each tag's first item, in an open-addressing table (a node-based map costs a cache
  // miss and an allocation per tag, which here is most of the work).
  std::vector<std::pair<uint64_t, uint32_t>> tagged;  // (tag, item)
  std::vector<uint64_t> tags;
  for (uint32_t i = 0; i < items; ++i) {
    tags.clear();
    tags_of(i, tags);
    for (uint64_t tag : tags) tagged.emplace_back(tag, i);
  }
  int bits = 4;
  while ((size_t{1} << bits) < tagged.size() * 2) ++bits;
  const size_t mask = (size_t{1} << bits) - 1;
  constexpr uint32_t kEmpty = UINT32_MAX;
  std::vector<std::pair<uint64_t, uint32_t>> first_with_tag(mask + 1, {0, kEmpty});
  for (const auto& [tag, i] : tagged) {
    size_t slot = (tag * 0x9e3779b97f4a7c15ull) >> (64 - bits);
    while (first_with_tag[slot].second != kEmpty && first_with_tag[slot].first != tag)
      slot = (slot + 1) & mask;
    auto& entry = first_with_tag[slot];
    if (entry.second == kEmpty) {
      entry = {tag, i};
      continue;
    }
    uint32_t a = root(i), b = root(entry.second);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
  std::vector<uint32_t> size(items, 0);
  for (uint32_t i = 0; i < items; ++i) size[root(i)]++;
  // Components in order of their first item, each to the shard with the fewest items.
  std::vector<size_t> load(shards, 0);
  for (uint32_t i = 0; i < items; ++i) {
    uint32_t r = root(i);
    if (r == i) {
      auto lightest = std::min_element(load.begin(), load.end()) - load.begin();
      shard_of[i] = static_cast<uint8_t>(lightest);
      load[static_cast<size_t>(lightest)] += size[i];
    } else {
      shard_of[i] = shard_of[r];  // r < i: assigned already
    }
  }
  return shard_of;
}

uint64_t number_tag(uint64_t space, uint64_t number) {
  // splitmix64's finalizer: a bijection of 64-bit values.
  uint64_t z = number + space * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace gridpact
