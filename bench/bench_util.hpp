// Small helpers shared by the benchmarks: METRIC lines, percentiles, peak memory.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/memory.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"

namespace gridpact::bench {

// Every benchmark runs with the memory settings of the node binary (apps/gridpact).
inline const bool kNodeMemorySettings = (tune_memory(), true);

inline void metric(const std::string& name, double value, const std::string& unit) {
  std::printf("METRIC %s %.6g %s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

// CPU time used so far, user and system: of the process (RUSAGE_SELF) or of the calling
// thread (RUSAGE_THREAD).
inline double cpu_seconds(int who = RUSAGE_SELF) {
  rusage u{};
  getrusage(who, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}
inline double cpu_us(int who = RUSAGE_SELF) {
  return 1e6 * cpu_seconds(who);
}

// Milliseconds since `t0`, on the steady clock.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A key seed that names account `i` of a group `tag`: the same keys in every run.
inline FixedBytes<32> seed_of(uint64_t i, uint8_t tag) {
  FixedBytes<32> s;
  for (int b = 0; b < 8; ++b) s.bytes[static_cast<size_t>(b)] = static_cast<uint8_t>(i >> (8 * b));
  s.bytes[31] = tag;
  return s;
}

// One core's Ed25519 verification rate, over `how_long`: every signed transaction is
// verified once at admission, so cores times this bounds the signed transactions a second.
inline double ed25519_verify_per_s(std::chrono::milliseconds how_long) {
  using Clock = std::chrono::steady_clock;
  auto key = KeyPair::generate();
  std::vector<Hash32> msgs;
  std::vector<Signature> sigs;
  for (int i = 0; i < 1000; ++i) {
    msgs.push_back(sha256(std::to_string(i)));
    sigs.push_back(key.sign(msgs.back()));
  }
  size_t n = 0;
  auto start = Clock::now();
  while (Clock::now() - start < how_long) {
    for (int i = 0; i < 1000; ++i)
      if (!verify(key.public_key(), msgs[i], sigs[i])) std::abort();
    n += 1000;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// Peak resident set size of this process, in MiB (VmHWM).
inline double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// Resets the peak so that the next reading covers only what follows (Linux clear_refs).
inline void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

inline bool quick() {
  const char* q = std::getenv("GRIDPACT_BENCH_QUICK");
  return q && std::string(q) == "1";
}

// Profiling only the measured part: with GRIDPACT_PERF_CTL=FIFO, these tell a
// `perf record -D -1 --control fifo:FIFO` run when to start and stop sampling.
inline void perf_control(const char* command) {
  const char* fifo = std::getenv("GRIDPACT_PERF_CTL");
  if (!fifo) return;
  if (FILE* f = std::fopen(fifo, "w")) {
    std::fprintf(f, "%s\n", command);
    std::fclose(f);
  }
}
// `phase`: a benchmark with several phases profiles the one GRIDPACT_PERF_PHASE names, or
// its main one (phase empty) when that is unset.
inline bool profiled(std::string_view phase) {
  const char* wanted = std::getenv("GRIDPACT_PERF_PHASE");
  return wanted ? phase == wanted : phase.empty();
}
inline void profile_begin(std::string_view phase = {}) {
  if (profiled(phase)) perf_control("enable");
}
inline void profile_end(std::string_view phase = {}) {
  if (profiled(phase)) perf_control("disable");
}

}  // namespace gridpact::bench
