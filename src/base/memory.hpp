// Process-wide memory settings for the node and the benchmarks.
#pragma once

namespace gridpact {

// Makes fresh memory cheap for a process that allocates and frees hundreds of megabytes
// per block (a billing period, a state tree update). Touching memory fresh from the system
// costs a page fault per page, dearer than the work itself on virtual machines. So:
//
//  - Huge pages. glibc is asked to back its heap with transparent huge pages, which the
//    kernel grants on request in its default "madvise" mode: one fault per 2 MiB instead
//    of one per 4 KiB (billing 100k agreements: 0.96 s -> 0.71 s; 1M-account transfers:
//    +25 % tx/s). glibc reads that setting (the tunable glibc.malloc.hugetlb) only when a
//    program starts, so this re-executes the program once, with the same arguments and
//    GLIBC_TUNABLES extended. GRIDPACT_HUGE_PAGES=0 turns it off; if the re-execution
//    fails, the program carries on without.
//  - Freed memory is kept for reuse instead of being handed back to the system as soon as
//    glibc's heuristics allow (10-25 % on billing). The price: the resident size stays
//    near its peak.
//
// Call first thing in main(), before any thread starts or any output is buffered.
void tune_memory();

}  // namespace gridpact
