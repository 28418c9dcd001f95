// Where to look first, in the next block, for a reading a cleared book still awaits: the
// number of the trade whose meter had not reported when last looked. A book waiting for
// readings is tried every block, and reading all of its trades each time cost ~7 ms a block
// for a 1,000-trade book; with the hint, a block's try is one lookup while that reading is
// out. Only ever a place to start: whether a reading is in is always read from state, and a
// book settles only once all of its trades' readings were read in that block, so the hints
// change no state (a node without them, or with stale ones, computes the same blocks).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace gridpact::market {

class ReadingHints {
 public:
  uint64_t first_trade(std::string_view commodity, uint64_t period) const;
  void remember(std::string_view commodity, uint64_t period, uint64_t trade);
  void forget(std::string_view commodity, uint64_t period);

 private:
  static constexpr size_t kMaxBooks = 4096;  // more books waiting: start again from none
  static std::string key(std::string_view commodity, uint64_t period);
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t, std::less<>> first_;
};

}  // namespace gridpact::market
