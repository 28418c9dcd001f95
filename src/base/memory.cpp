#include "base/memory.hpp"

#include <malloc.h>

namespace gridpact {

void keep_freed_memory() {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);   // return the heap's top only above 1 GiB free
  mallopt(M_TOP_PAD, 64 << 20);         // grow the heap 64 MiB at a time
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows: big buffers from the heap
}

}  // namespace gridpact
