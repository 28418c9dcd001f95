// Typed state: a module declares its state as collections (an Item, a Map, a Sequence)
// instead of building key strings and value bytes by hand. A collection owns a key prefix;
// its keys and values have one encoding each:
//
//   keys    the prefix, then each key part in turn:
//             unsigned integers  fixed width, big-endian (so byte order is numeric order)
//             FixedBytes<N>      the N bytes (32-byte keys, hashes)
//             std::string        u16 big-endian length, then the bytes (at most 65535)
//             pairs, tuples      their parts in order
//           Every part is self-delimiting, so the encoding of the first parts of a key is a
//           prefix of the whole key's: scans by leading parts are prefix scans.
//   values  the canonical codec (codec/codec.hpp) only, never JSON text. A value type V
//           has a ValueCodec<V>: integers, bool, strings and FixedBytes come with one;
//           a record provides `void encode_value(codec::Writer&, const V&)` and
//           `void decode_value(codec::Reader&, V&)` beside it (found by ADL).
//
// Reading bytes that do not decode (a key of a collection with a stray suffix, a value
// with trailing bytes) throws gridpact::Error with the codec's code (TRUNCATED,
// BAD_ENCODING, TRAILING_BYTES): state is written only through these encoders, so such
// bytes mean a corrupted store, never user input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "codec/codec.hpp"
#include "ledger/state.hpp"

namespace gridpact::state {

// ---- Key codecs ----------------------------------------------------------------------------

constexpr size_t kMaxKeyString = 0xffff;

template <typename T, typename = void>
struct KeyCodec;

template <typename T>
struct KeyCodec<T, std::enable_if_t<std::is_unsigned_v<T> && !std::is_same_v<T, bool>>> {
  static void put(std::string& out, T v) {
    for (int i = sizeof(T) - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  static T take(std::string_view& in) {
    if (in.size() < sizeof(T)) throw Error(Code::kTruncated, "key part truncated");
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      v = static_cast<T>((v << 8) | static_cast<uint8_t>(in[i]));
    in.remove_prefix(sizeof(T));
    return v;
  }
};

template <size_t N>
struct KeyCodec<FixedBytes<N>> {
  static void put(std::string& out, const FixedBytes<N>& v) { out.append(v.view()); }
  static FixedBytes<N> take(std::string_view& in) {
    if (in.size() < N) throw Error(Code::kTruncated, "key part truncated");
    auto v = FixedBytes<N>::from_span(reinterpret_cast<const uint8_t*>(in.data()));
    in.remove_prefix(N);
    return v;
  }
};

template <>
struct KeyCodec<std::string> {
  static void put(std::string& out, std::string_view v) {
    if (v.size() > kMaxKeyString) throw Error(Code::kFieldTooLong, "key string too long");
    KeyCodec<uint16_t>::put(out, static_cast<uint16_t>(v.size()));
    out.append(v);
  }
  static std::string take(std::string_view& in) {
    uint16_t n = KeyCodec<uint16_t>::take(in);
    if (in.size() < n) throw Error(Code::kTruncated, "key string truncated");
    std::string v(in.substr(0, n));
    in.remove_prefix(n);
    return v;
  }
};

template <typename A, typename B>
struct KeyCodec<std::pair<A, B>> {
  static void put(std::string& out, const std::pair<A, B>& v) {
    KeyCodec<A>::put(out, v.first);
    KeyCodec<B>::put(out, v.second);
  }
  static std::pair<A, B> take(std::string_view& in) {
    A a = KeyCodec<A>::take(in);
    B b = KeyCodec<B>::take(in);
    return {std::move(a), std::move(b)};
  }
};

template <typename... Ts>
struct KeyCodec<std::tuple<Ts...>> {
  static void put(std::string& out, const std::tuple<Ts...>& v) {
    std::apply(
        [&](const auto&... part) { (KeyCodec<std::decay_t<decltype(part)>>::put(out, part), ...); },
        v);
  }
  static std::tuple<Ts...> take(std::string_view& in) {
    // Braced initialisation evaluates left to right.
    return std::tuple<Ts...>{KeyCodec<Ts>::take(in)...};
  }
};

// The key parts after a collection's prefix, encoded (for prefix scans over leading parts).
template <typename... Parts>
std::string key_parts(const Parts&... parts) {
  std::string out;
  (KeyCodec<std::decay_t<Parts>>::put(out, parts), ...);
  return out;
}

// ---- Value codecs -------------------------------------------------------------------------

constexpr size_t kMaxValueString = 1 << 16;

template <typename T, typename = void>
struct ValueCodec {
  // A record: encode_value / decode_value beside its type.
  static void write(codec::Writer& w, const T& v) { encode_value(w, v); }
  static T read(codec::Reader& r) {
    T v{};
    decode_value(r, v);
    return v;
  }
};
template <>
struct ValueCodec<uint64_t> {
  static void write(codec::Writer& w, uint64_t v) { w.u64(v); }
  static uint64_t read(codec::Reader& r) { return r.u64(); }
};
template <>
struct ValueCodec<int64_t> {
  static void write(codec::Writer& w, int64_t v) { w.i64(v); }
  static int64_t read(codec::Reader& r) { return r.i64(); }
};
template <>
struct ValueCodec<bool> {
  static void write(codec::Writer& w, bool v) { w.boolean(v); }
  static bool read(codec::Reader& r) { return r.boolean(); }
};
template <>
struct ValueCodec<std::string> {
  static void write(codec::Writer& w, const std::string& v) { w.str(v, kMaxValueString); }
  static std::string read(codec::Reader& r) { return r.str(kMaxValueString); }
};
template <size_t N>
struct ValueCodec<FixedBytes<N>> {
  static void write(codec::Writer& w, const FixedBytes<N>& v) { w.fixed(v); }
  static FixedBytes<N> read(codec::Reader& r) { return r.fixed<N>(); }
};
// A marker only: the key is the fact (an index entry), the value is empty.
struct Unit {};
template <>
struct ValueCodec<Unit> {
  static void write(codec::Writer&, Unit) {}
  static Unit read(codec::Reader&) { return {}; }
};

template <typename V>
std::string encode_value_bytes(const V& v) {
  codec::Writer w;
  ValueCodec<V>::write(w, v);
  const Bytes& b = w.data();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
// Throws gridpact::Error when `bytes` is not exactly one V.
template <typename V>
V decode_value_bytes(std::string_view bytes) {
  codec::Reader r(bytes);
  V v = ValueCodec<V>::read(r);
  r.expect_end();
  return v;
}

// ---- Collections --------------------------------------------------------------------------

// One value under one key.
template <typename V>
class Item {
 public:
  explicit Item(std::string key) : key_(std::move(key)) {}
  const std::string& key() const { return key_; }

  std::optional<V> get(const StateReader& s) const {
    auto v = s.get(key_);
    if (!v) return std::nullopt;
    return decode_value_bytes<V>(*v);
  }
  V get_or(const StateReader& s, V fallback) const { return get(s).value_or(std::move(fallback)); }
  bool has(const StateReader& s) const { return s.get(key_).has_value(); }
  void put(StateOverlay& s, const V& v) const { s.put(key_, encode_value_bytes(v)); }
  void erase(StateOverlay& s) const { s.erase(key_); }

 private:
  std::string key_;
};

// Values by key, iterated in key order (the order of the encoded keys, see above).
template <typename K, typename V>
class Map {
 public:
  explicit Map(std::string prefix) : prefix_(std::move(prefix)) {}
  const std::string& prefix() const { return prefix_; }

  std::string key(const K& k) const {
    std::string out = prefix_;
    KeyCodec<K>::put(out, k);
    return out;
  }
  // The key part of a full state key of this map. Throws on a key that is not one.
  K key_of(std::string_view full) const {
    if (!full.starts_with(prefix_)) throw Error(Code::kBadEncoding, "key outside the map");
    full.remove_prefix(prefix_.size());
    K k = KeyCodec<K>::take(full);
    if (!full.empty()) throw Error(Code::kTrailingBytes, "key has trailing bytes");
    return k;
  }

  std::optional<V> get(const StateReader& s, const K& k) const {
    auto v = s.get(key(k));
    if (!v) return std::nullopt;
    return decode_value_bytes<V>(*v);
  }
  bool has(const StateReader& s, const K& k) const { return s.get(key(k)).has_value(); }
  void put(StateOverlay& s, const K& k, const V& v) const { s.put(key(k), encode_value_bytes(v)); }
  void erase(StateOverlay& s, const K& k) const { s.erase(key(k)); }

  // Visits at most `limit` entries in key order, while `fn(key, value)` returns true.
  // Returns how many were visited.
  template <typename Fn>
  size_t each(const StateReader& s, size_t limit, Fn&& fn) const {
    return scan_from(s, prefix_, limit, fn);
  }
  // The same over the entries whose leading key parts are `parts` (e.g. a pair's first).
  template <typename Fn, typename... Parts>
  size_t each_with(const StateReader& s, size_t limit, Fn&& fn, const Parts&... parts) const {
    return scan_from(s, prefix_ + key_parts(parts...), limit, fn);
  }
  // The entries with from <= key < to (to: nullopt, no upper end), in key order. The scan
  // starts at the longest common prefix of the two encoded keys; entries before `from`
  // under that prefix are skipped, not visited (they do not count towards `limit`).
  template <typename Fn>
  size_t range(const StateReader& s, const K& from, const std::optional<K>& to, size_t limit,
               Fn&& fn) const {
    std::string lo = key(from);
    std::string common = prefix_;
    std::string hi;
    if (to) {
      hi = key(*to);
      size_t n = 0;
      while (n < lo.size() && n < hi.size() && lo[n] == hi[n]) ++n;
      common = lo.substr(0, n);
    }
    size_t visited = 0;
    s.scan(common, [&](std::string_view k, std::string_view v) {
      if (k < std::string_view(lo)) return true;
      if (to && k >= std::string_view(hi)) return false;
      if (visited >= limit) return false;
      ++visited;
      return static_cast<bool>(fn(key_of(k), decode_value_bytes<V>(v)));
    });
    return visited;
  }

 private:
  template <typename Fn>
  size_t scan_from(const StateReader& s, const std::string& prefix, size_t limit, Fn& fn) const {
    size_t visited = 0;
    if (limit == 0) return 0;
    s.scan(prefix, [&](std::string_view k, std::string_view v) {
      ++visited;
      bool more = static_cast<bool>(fn(key_of(k), decode_value_bytes<V>(v)));
      return more && visited < limit;
    });
    return visited;
  }

  std::string prefix_;
};

// A counter: next() hands out 0, 1, 2, ... (arrival order, ids).
class Sequence {
 public:
  explicit Sequence(std::string key) : item_(std::move(key)) {}
  const std::string& key() const { return item_.key(); }
  uint64_t peek(const StateReader& s) const { return item_.get_or(s, 0); }
  uint64_t next(StateOverlay& s) const {
    uint64_t v = peek(s);
    item_.put(s, v + 1);
    return v;
  }

 private:
  Item<uint64_t> item_;
};

// One row of a module's schema: what lives under a key prefix. Each module lists its
// collections in one table (its `schema()`), and a test compares that table with the
// state-key table of the module's header, so that the two cannot drift.
struct SchemaEntry {
  std::string prefix;  // e.g. "market/cleared/"
  std::string layout;  // the key parts after the prefix, as the header names them
  std::string value;   // the value's type
};

}  // namespace gridpact::state
