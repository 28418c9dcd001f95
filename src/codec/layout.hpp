// The field tables of codec/fields.hpp, walked once more: to describe a type's encoding as
// data (for `gridpact schema`, the client kits and docs/messages.md) and to build sample
// values at the edges of every field (for `gridpact vectors`). Nothing here encodes: the
// samples go through encode_fields like any value, so the vectors are the codec's own.
//
//   json l = codec::layout<TransferPayload>();   // [{"name":"to","kind":"fixed","size":32},..]
//   TransferPayload p = codec::sample<TransferPayload>(codec::Sample::kMax, rng);
//
// A field's description: {"name", "kind", ...} where kind is one of
//   bool | u8 u16 u32 u64 | i8 i16 i32 i64   (+ "range": [lo, hi], "mask": m, and for enums
//                                             "values": {name: number} when named)
//   fixed  (+ "size")        string, bytes (+ "max_len": bytes)
//   optional (+ "item")      list (+ "max_len": count, "item")
//   struct (+ "fields")      const (+ "type": u8.., "value"): written, never a member
#pragma once

#include <limits>

#include "codec/fields.hpp"

namespace gridpact::codec {

template <Described T>
nlohmann::json layout();

namespace detail {

template <typename T>
nlohmann::json int_kind() {
  using U = std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>;
  using I = typename U::type;
  return std::string(std::is_signed_v<I> ? "i" : "u") + std::to_string(sizeof(I) * 8);
}

template <typename T, typename... Opts>
nlohmann::json describe(const std::tuple<Opts...>& opts) {
  nlohmann::json d = nlohmann::json::object();
  if constexpr (std::is_same_v<T, bool>) {
    d["kind"] = "bool";
  } else if constexpr (std::is_enum_v<T> || std::is_integral_v<T>) {
    d["kind"] = int_kind<T>();
    if constexpr (has_range<Opts...>) {
      const auto& r = first_of<is_range>(opts);
      using I = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>,
                                            std::type_identity<T>>::type;
      auto lo = static_cast<I>(r.lo), hi = static_cast<I>(r.hi);
      d["range"] = {lo, hi};
      if constexpr (std::is_enum_v<T> && has_names<Opts...>) {
        nlohmann::json values = nlohmann::json::object();
        if (static_cast<uint64_t>(hi - lo) <= 256)
          for (auto i = static_cast<int64_t>(lo); i <= static_cast<int64_t>(hi); ++i)
            values[std::string(first_of<is_names>(opts).fn(static_cast<T>(i)))] = i;
        d["values"] = values;
      }
    }
    if constexpr (has_opt<Mask, Opts...>) d["mask"] = std::get<Mask>(opts).bits;
  } else if constexpr (is_fixed<T>::value) {
    d["kind"] = "fixed";
    d["size"] = T::size();
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Bytes>) {
    d["kind"] = std::is_same_v<T, std::string> ? "string" : "bytes";
    d["max_len"] = max_len_of(opts);
  } else if constexpr (is_optional<T>::value) {
    d["kind"] = "optional";
    d["item"] = describe<typename T::value_type>(opts);
  } else if constexpr (is_vector<T>::value) {
    d["kind"] = "list";
    d["max_len"] = max_len_of(opts);
    if constexpr (has_opt<ItemLen, Opts...>)
      d["item"] = describe<typename T::value_type>(std::tuple{MaxLen{std::get<ItemLen>(opts).n}});
    else
      d["item"] = describe<typename T::value_type>(std::tuple<>{});
  } else {
    static_assert(Described<T>, "a field's type must be encodable (see codec/fields.hpp)");
    d["kind"] = "struct";
    d["fields"] = layout<T>();
  }
  return d;
}

}  // namespace detail

// T's fields in encoding order, each {"name", "kind", ...} (see the top of this file).
template <Described T>
nlohmann::json layout() {
  nlohmann::json out = nlohmann::json::array();
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          nlohmann::json d;
          if constexpr (requires { fd.member; }) {
            using M = std::remove_cvref_t<decltype(std::declval<T>().*(fd.member))>;
            d = detail::describe<M>(fd.opts);
          } else {
            d = {{"kind", "const"},
                 {"type", detail::int_kind<std::remove_cv_t<decltype(fd.value)>>()},
                 {"value", fd.value}};
          }
          out.push_back(nlohmann::json{{"name", std::string(fd.name)}});
          out.back().update(d);
        };
        (one(f), ...);
      },
      T::fields);
  return out;
}

// ---- Sample values for test vectors ----

enum class Sample {
  kZero,   // zero, false, the range's low end, empty, absent
  kMax,    // the largest value of each integer (lowest for signed ones), full-length
           // strings and bytes, lists at their bound, optionals present
  kMixed,  // pseudo-random values (so that byte order shows), UTF-8 text, short lists
};

// splitmix64: the same numbers everywhere, whatever the standard library.
struct SampleRng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

template <Described T>
void fill_sample(T& v, Sample kind, SampleRng& rng);

namespace detail {

// Text of at most `max` bytes; kMixed mixes one-, two- and three-byte characters.
inline std::string sample_text(size_t max, Sample kind, SampleRng& rng) {
  std::string s;
  if (kind == Sample::kMax) {
    for (size_t i = 0; i < max; ++i) s.push_back(static_cast<char>('a' + i % 26));
  } else if (kind == Sample::kMixed) {
    static constexpr std::string_view kPieces[] = {"a", "Z", "7", " ", "\xc3\xa9", "\xe2\x9a\xa1"};
    size_t want = rng.below(std::min<size_t>(max, 24) + 1);
    while (true) {
      std::string_view p = kPieces[rng.below(6)];
      if (s.size() + p.size() > want) break;
      s += p;
    }
  }
  return s;
}

template <typename I>
I random_between(I lo, I hi, SampleRng& rng) {
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  uint64_t r = span == std::numeric_limits<uint64_t>::max() ? rng.next() : rng.next() % (span + 1);
  return static_cast<I>(static_cast<uint64_t>(lo) + r);
}

template <typename T, typename... Opts>
void sample_value(T& v, const std::tuple<Opts...>& opts, Sample kind, SampleRng& rng) {
  if constexpr (std::is_same_v<T, bool>) {
    v = kind == Sample::kMax || (kind == Sample::kMixed && rng.next() % 2);
  } else if constexpr (std::is_enum_v<T> || std::is_integral_v<T>) {
    using I = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>,
                                          std::type_identity<T>>::type;
    I lo = std::numeric_limits<I>::min(), hi = std::numeric_limits<I>::max();
    if constexpr (has_range<Opts...>) {
      lo = static_cast<I>(first_of<is_range>(opts).lo);
      hi = static_cast<I>(first_of<is_range>(opts).hi);
    }
    // kMax of a signed integer without a range is its lowest: all bits of the sign.
    I x = kind == Sample::kZero  ? (has_range<Opts...> ? lo : I{0})
          : kind == Sample::kMax ? (std::is_signed_v<I> && !has_range<Opts...> ? lo : hi)
                                 : random_between(lo, hi, rng);
    if constexpr (has_opt<Mask, Opts...>) x = static_cast<I>(x & std::get<Mask>(opts).bits);
    v = static_cast<T>(x);
  } else if constexpr (is_fixed<T>::value) {
    for (size_t i = 0; i < T::size(); ++i)
      v.data()[i] = kind == Sample::kZero  ? 0
                    : kind == Sample::kMax ? 0xff
                                           : static_cast<uint8_t>(rng.next());
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = sample_text(max_len_of(opts), kind, rng);
  } else if constexpr (std::is_same_v<T, Bytes>) {
    size_t n = kind == Sample::kZero  ? 0
               : kind == Sample::kMax ? max_len_of(opts)
                                      : rng.below(std::min<size_t>(max_len_of(opts), 48) + 1);
    v.resize(n);
    for (size_t i = 0; i < n; ++i)
      v[i] =
          kind == Sample::kMax ? static_cast<uint8_t>(i * 7 + 1) : static_cast<uint8_t>(rng.next());
  } else if constexpr (is_optional<T>::value) {
    if (kind == Sample::kZero || (kind == Sample::kMixed && rng.next() % 2 == 0)) {
      v.reset();
    } else {
      v.emplace();
      sample_value(*v, opts, kind, rng);
    }
  } else if constexpr (is_vector<T>::value) {
    size_t n = kind == Sample::kZero  ? 0
               : kind == Sample::kMax ? max_len_of(opts)
                                      : 1 + rng.below(std::min<size_t>(max_len_of(opts), 3));
    v.resize(n);
    for (auto& item : v) {
      if constexpr (has_opt<ItemLen, Opts...>)
        sample_value(item, std::tuple{MaxLen{std::get<ItemLen>(opts).n}}, kind, rng);
      else
        sample_value(item, std::tuple<>{}, kind, rng);
    }
  } else {
    fill_sample(v, kind, rng);
  }
}

}  // namespace detail

template <Described T>
void fill_sample(T& v, Sample kind, SampleRng& rng) {
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          if constexpr (requires { fd.member; })
            detail::sample_value(v.*(fd.member), fd.opts, kind, rng);
        };
        (one(f), ...);
      },
      T::fields);
}

template <Described T>
T sample(Sample kind, SampleRng& rng) {
  T v{};
  fill_sample(v, kind, rng);
  return v;
}

}  // namespace gridpact::codec
