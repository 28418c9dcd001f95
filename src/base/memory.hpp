// Process-wide memory settings for the node and the benchmarks.
#pragma once

namespace gridpact {

// Keeps the memory that the process frees for reuse, instead of handing it back to the
// operating system as soon as glibc's heuristics allow. A block can allocate and free
// hundreds of megabytes (a billing period, a state tree update), and touching memory
// fresh from the system costs a page fault per 4 KiB, dearer than the work itself on
// virtual machines (billing 100k agreements ran 10-25 % faster with it). The price: the
// resident size stays near its peak. Call once, at the start of main().
void keep_freed_memory();

}  // namespace gridpact
