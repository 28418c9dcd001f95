#include "ledger/parallel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

namespace gridpact {
namespace {

TEST(RunParallel, RunsEveryTaskOnce) {
  std::vector<std::atomic<int>> runs(5);
  run_parallel(5, [&](size_t task) { runs[task]++; });
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  run_parallel(0, [&](size_t) { FAIL() << "no task to run"; });
}

TEST(RunParallel, RethrowsTheFirstTasksFailureAfterAllFinish) {
  std::atomic<int> finished = 0;
  try {
    run_parallel(4, [&](size_t task) {
      finished++;
      if (task >= 2) throw std::runtime_error("task " + std::to_string(task));
    });
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task 2");
  }
  EXPECT_EQ(finished.load(), 4);
}

// Items connected through shared tags, computed independently of plan_shards.
std::vector<size_t> components(const std::vector<std::vector<uint64_t>>& tags) {
  std::vector<size_t> comp(tags.size(), SIZE_MAX);
  size_t next = 0;
  for (size_t start = 0; start < tags.size(); ++start) {
    if (comp[start] != SIZE_MAX) continue;
    std::vector<size_t> stack{start};
    comp[start] = next;
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      for (size_t j = 0; j < tags.size(); ++j) {
        if (comp[j] != SIZE_MAX) continue;
        bool shared = false;
        for (uint64_t t : tags[i])
          for (uint64_t u : tags[j]) shared |= t == u;
        if (shared) comp[j] = next, stack.push_back(j);
      }
    }
    ++next;
  }
  return comp;
}

TEST(PlanShards, KeepsItemsThatShareTagsTogetherAndBalancesTheRest) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 20; ++round) {
    size_t items = 1 + rng() % 300, shards = 1 + rng() % 4;
    std::vector<std::vector<uint64_t>> tags(items);
    for (auto& t : tags)
      for (size_t k = rng() % 4; k > 0; --k) t.push_back(rng() % (items * 2));
    auto tags_of = [&](size_t i, std::vector<uint64_t>& out) {
      out.insert(out.end(), tags[i].begin(), tags[i].end());
    };
    auto plan = plan_shards(items, shards, tags_of);
    ASSERT_EQ(plan.size(), items);
    EXPECT_EQ(plan, plan_shards(items, shards, tags_of));  // deterministic
    auto comp = components(tags);
    std::vector<size_t> load(shards, 0);
    size_t largest = 0;
    std::map<size_t, size_t> comp_size;
    for (size_t i = 0; i < items; ++i) {
      ASSERT_LT(plan[i], shards);
      load[plan[i]]++;
      largest = std::max(largest, ++comp_size[comp[i]]);
      for (size_t j = 0; j < i; ++j) {
        if (comp[i] == comp[j]) {
          ASSERT_EQ(plan[i], plan[j]) << "items " << j << " and " << i;
        }
      }
    }
    // Greedy placement: no shard exceeds the lightest by more than one component.
    auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*hi - *lo, largest);
  }
}

TEST(PlanShards, SpreadsIndependentItemsAndKeepsOneShardWhole) {
  auto own_tag = [](size_t i, std::vector<uint64_t>& out) { out.push_back(number_tag(1, i)); };
  auto plan = plan_shards(10, 2, own_tag);
  EXPECT_EQ(std::count(plan.begin(), plan.end(), 0), 5);
  auto one = plan_shards(10, 1, own_tag);
  EXPECT_EQ(std::count(one.begin(), one.end(), 0), 10);
  auto shared = plan_shards(10, 3, [](size_t, std::vector<uint64_t>& out) { out.push_back(7); });
  EXPECT_EQ(std::set<uint8_t>(shared.begin(), shared.end()).size(), 1u);
  EXPECT_THROW(plan_shards(10, 0, own_tag), std::invalid_argument);
}

TEST(NumberTag, DistinctWithinANamespace) {
  std::set<uint64_t> seen;
  for (uint64_t n = 0; n < 10000; ++n) seen.insert(number_tag(2, n));
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_NE(number_tag(1, 5), number_tag(2, 5));
}

}  // namespace
}  // namespace gridpact
