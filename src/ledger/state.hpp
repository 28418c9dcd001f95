// Key-value state as modules see it: ordered byte-string keys, byte-string values.
// Modules read and write through a StateOverlay; nothing reaches disk until the block
// commits. Keys are namespaced by their owner ("bank/...", "auth/...").
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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

// Hashes string keys for tables looked up by std::string_view (no key copy per lookup).
struct StringKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Writes buffered over a base reader. A transaction runs in its own overlay, merged into
// the block's overlay only on success, so a failed transaction leaves no trace.
//
// Reads and writes are hash lookups: a block can buffer hundreds of thousands of writes
// (a billing period of 100k agreements), where an ordered map's descent costs a cache miss
// per level. The byte order that scans and a block's change list need is kept beside it:
// a sorted list of keys and the few keys added since, folded in when they grow.
class StateOverlay : public StateReader {
 public:
  // A block's changes in key order, one entry per key (nullopt: erased).
  using Writes = std::vector<std::pair<std::string, std::optional<std::string>>>;

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
  // Takes over the writes of `children`: overlays layered directly over this one, written
  // on other threads (ledger/parallel.hpp). Their entries are not moved, which for a
  // billing period would cost a cache miss or two per key: their tables become layers,
  // searched before this overlay's own, later children first. Writes made after this go to
  // the layer that holds the key, if one does.
  void adopt(std::vector<std::unique_ptr<StateOverlay>> children);
  // Makes room for `keys` writes at once (a big block's tables otherwise grow by doubling,
  // rehashing every entry each time).
  void reserve(size_t keys) {
    values_.reserve(keys);
    recent_.reserve(keys);
  }
  // Makes room for `keys` more (an end_block that writes thousands at once).
  void reserve_more(size_t keys) { reserve(values_.size() + keys); }
  size_t size() const;  // keys written
  bool empty() const { return size() == 0; }
  Writes writes() const;  // a copy, in key order
  Writes take_writes();   // the same, leaving this overlay empty

 private:
  using Values =
      std::unordered_map<std::string, std::optional<std::string>, StringKeyHash, std::equal_to<>>;
  using Entry = Values::value_type;  // node-based: its address is stable

  // An entry and the table that holds it: 0 this overlay's, i the (i-1)th adopted layer's.
  struct Placed {
    const Entry* entry;
    size_t table;
  };

  static constexpr size_t kMaxLayers = 8;

  void write(std::string_view key, std::optional<std::string> value);
  // Adds a node moved from a child, newer than what this overlay holds.
  void insert_newer(Values::node_type node);
  // Adds a node to this overlay's own table (replacing the value of a key it holds).
  void insert_own(Values::node_type node);
  // The entry of `key` in an adopted layer, if one holds it.
  Entry* in_layers(std::string_view key) const;
  // Sorts the keys added since the last fold into `ordered_`.
  void fold() const;
  // Forgets the key order (the sorted and the recent keys), once the entries have gone.
  void clear_key_order();
  // This overlay's own entries whose keys start with `prefix`, in key order.
  std::vector<const Entry*> own_in_order(std::string_view prefix) const;
  // The same, layers included: one entry per key, the newest.
  std::vector<Placed> in_order(std::string_view prefix) const;

  const StateReader& base_;
  Values values_;
  mutable std::vector<const Entry*> ordered_;  // sorted by key
  mutable std::vector<const Entry*> recent_;   // added since the last fold, unsorted
  mutable size_t recent_passes_ = 0;           // recent keys looked at by scans since the last fold
  std::vector<std::unique_ptr<StateOverlay>> layers_;  // adopted children, oldest first
};

// A block's writes, as StateOverlay::take_writes() gives them (key order, one per key),
// over a base reader, read-only: how the next block reads a block that is not committed
// yet. The writes are indexed where they lie (a table of positions), not copied into an
// overlay's hash table, which for a block of thousands of writes costs an allocation each.
// `writes` and `base` must outlive the view.
class WritesView : public StateReader {
 public:
  WritesView(const StateOverlay::Writes& writes, const StateReader& base);
  std::optional<std::string> get(std::string_view key) const override;
  void scan(std::string_view prefix, const Visitor& fn) const override;

 private:
  const StateOverlay::Writes::value_type* find(std::string_view key) const;

  const StateOverlay::Writes& writes_;
  const StateReader& base_;
  std::vector<uint32_t> slots_;  // 1 + an index into writes_, 0 when empty; at most half full
};

// Big-endian u64 values, the common case for balances, nonces and counters.
std::string encode_u64(uint64_t v);
std::optional<uint64_t> decode_u64(std::string_view s);
inline uint64_t get_u64(const StateReader& s, std::string_view key) {
  auto v = s.get(key);
  return v ? decode_u64(*v).value_or(0) : 0;
}

}  // namespace gridpact
