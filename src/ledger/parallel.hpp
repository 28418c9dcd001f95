// Splitting a block's deterministic work across cores.
//
// What keeps such work deterministic: items that may touch a common state key go to the
// same shard and run there in their original order; each shard writes into its own
// StateOverlay (over the block's, which nobody writes meanwhile), which the block's
// overlay adopts afterwards (StateOverlay::adopt); whatever depends on the order of all items
// (sequence numbers, appended lists) is recorded per item and applied after the shards
// finish, in item order. Then a block's writes are the same bytes for any number of
// shards, one included, on every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace gridpact {

// Threads worth using for one block's work: the machine's cores, or GRIDPACT_WORKERS; 1 to 8.
// The results never depend on it.
size_t worker_count();

// Runs fn(0), ..., fn(tasks - 1) at once: task 0 on the calling thread, each other task
// on a thread of its own. Returns when all have finished; then rethrows the exception of
// the lowest-numbered task that threw, if any.
void run_parallel(size_t tasks, const std::function<void(size_t task)>& fn);

// Assigns `items` items to at most `shards` shards so that two items that share a tag
// (directly, or through a chain of items sharing tags) are in the same shard, balancing
// the number of items per shard. `tags_of(i, out)` appends item i's tags: 64-bit digests
// of the things it may write or read-after-write (accounts, records). Two different
// things with equal digests only make the split coarser, never wrong. Deterministic: the
// plan depends only on the items' tags, in order. Returns each item's shard.
std::vector<uint8_t> plan_shards(
    size_t items, size_t shards,
    const std::function<void(size_t item, std::vector<uint64_t>& out)>& tags_of);

// A 64-bit tag for a number in a namespace (e.g. record kind 1, id 42): a bijective mix,
// so that the numbers of one namespace never share a tag.
uint64_t number_tag(uint64_t space, uint64_t number);

}  // namespace gridpact
