// Key-value state as modules see it: ordered byte-string keys, byte-string values.
// Modules read and write through a StateOverlay; nothing reaches disk until the block
// commits. Keys are namespaced by their owner ("bank/...", "auth/...").
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gridpact {

class StateReader {
 public:
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  virtual ~StateReader() = default;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  // Visits the keys starting with `prefix` in ascending byte order until `fn` returns
  // false. Ordered iteration is what keeps nodes deterministic.
  virtual void scan(std::string_view prefix, const Visitor& fn) const = 0;
};

// Writes buffered over a base reader. A transaction runs in its own overlay, merged into
// the block's overlay only on success, so a failed transaction leaves no trace.
class StateOverlay : public StateReader {
 public:
  using Writes = std::map<std::string, std::optional<std::string>, std::less<>>;

  explicit StateOverlay(const StateReader& base) : base_(base) {}
  // Overlays are never copied: constructing one from another layers it on top (without
  // this, `StateOverlay child(parent)` would silently copy every buffered write).
  explicit StateOverlay(const StateOverlay& parent) : base_(parent) {}
  StateOverlay(StateOverlay&&) = delete;
  StateOverlay& operator=(const StateOverlay&) = delete;

  std::optional<std::string> get(std::string_view key) const override;
  void scan(std::string_view prefix, const Visitor& fn) const override;

  void put(std::string_view key, std::string value) { write(key, std::move(value)); }
  void erase(std::string_view key) { write(key, std::nullopt); }

  // Moves this overlay's writes into `parent`, the overlay this one reads through.
  void merge_into(StateOverlay& parent);
  const Writes& writes() const { return writes_; }

 private:
  void write(std::string_view key, std::optional<std::string> value);
  // A Bloom filter over the written keys, kept once the overlay is large: most reads of a
  // big block are of keys it has not written, and the filter sends them straight to the
  // base instead of down the ordered map (a cache miss per level at 100k+ writes).
  bool may_hold(std::string_view key) const;
  void remember(std::string_view key);
  void rebuild_filter(size_t bits);

  const StateReader& base_;
  Writes writes_;
  std::vector<uint64_t> filter_;  // empty while the overlay is small
};

// Big-endian u64 values, the common case for balances, nonces and counters.
std::string encode_u64(uint64_t v);
std::optional<uint64_t> decode_u64(std::string_view s);
inline uint64_t get_u64(const StateReader& s, std::string_view key) {
  auto v = s.get(key);
  return v ? decode_u64(*v).value_or(0) : 0;
}

}  // namespace gridpact
