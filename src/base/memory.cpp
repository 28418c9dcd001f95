#include "base/memory.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace gridpact {
namespace {

constexpr const char* kHugePagesTunable = "glibc.malloc.hugetlb=1";

// Re-executes this program with glibc's huge-page tunable set, unless it is set already
// (the re-executed program sees it and goes on), turned off, or pointless under a
// sanitizer's own allocator.
void restart_with_huge_pages() {
#if defined(__SANITIZE_ADDRESS__)
  return;
#endif
  const char* off = std::getenv("GRIDPACT_HUGE_PAGES");
  if (off && std::string(off) == "0") return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string value = tunables ? tunables : "";
  if (value.find("glibc.malloc.hugetlb") != std::string::npos) return;
  // The arguments as the kernel holds them: callers from static initialisers have no argv.
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<char*> argv;
  for (size_t at = 0; at < cmdline.size(); at = cmdline.find('\0', at) + 1)
    argv.push_back(cmdline.data() + at);
  if (argv.empty()) return;
  argv.push_back(nullptr);
  value = value.empty() ? kHugePagesTunable : value + ":" + kHugePagesTunable;
  // The program's own path, not /proc/self/exe: the kernel names the process after the
  // file executed, and `ps` and `top` should still say "gridpact".
  std::error_code error;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error || setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  execv(self.c_str(), argv.data());
  // Still here: the program goes on with 4 KiB pages.
}

}  // namespace

void tune_memory() {
  restart_with_huge_pages();
  mallopt(M_TRIM_THRESHOLD, 1 << 30);   // return the heap's top only above 1 GiB free
  mallopt(M_TOP_PAD, 64 << 20);         // grow the heap 64 MiB at a time
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows: big buffers from the heap
}

}  // namespace gridpact
