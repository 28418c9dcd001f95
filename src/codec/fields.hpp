// A value's fields, declared once and walked by the canonical encoder, the decoder and a
// JSON view: a tiny reflection table.
//
//   struct TransferPayload {
//     PublicKey to;
//     uint64_t amount = 0;
//     std::string memo;
//     static constexpr auto fields =
//         std::tuple{codec::field("to", &TransferPayload::to),
//                    codec::field("amount", &TransferPayload::amount),
//                    codec::field("memo", &TransferPayload::memo, codec::max_len(128))};
//   };
//   Bytes b = codec::encode_fields(p);                      // codec.hpp's rules, in order
//   Result<TransferPayload> q = codec::decode_fields<TransferPayload>(b);
//   json j = codec::fields_json(p);                         // {"to": hex, "amount": n, ...}
//
// Each field's type chooses its encoding (codec.hpp):
//   bool, integers, int64    one byte / fixed-width big-endian / two's complement
//   enums                    the underlying integer; range(lo, hi) is required and checked
//   FixedBytes<N>            the N bytes (JSON: hex)
//   std::string, Bytes       u32 length then bytes; max_len(n) is required (JSON: text, hex)
//   std::optional<T>         bool present, then T if present (JSON: null when absent)
//   std::vector<T>           u32 count then the elements; max_len(n) bounds the count and
//                            item_len(m) the elements when they are strings or bytes
//   a struct with `fields`   its fields in order (JSON: an object)
// Options: max_len, item_len, range (integers and enums: refused outside it when decoded
// and encoded), mask(m) (unsigned integers holding flags: bits outside m are refused
// likewise), names(fn) (enums: JSON shows fn(value) instead of the number).
// codec/layout.hpp walks the same tables to describe each field (for the client kits).
// constant("version", uint8_t{1}, Code::kUnknownVersion) writes a fixed value that is not
// a member; decoding refuses any other value with that code (it is not in the JSON).
//
// Decoding refuses trailing bytes (TRAILING_BYTES), short input (TRUNCATED), lengths past
// their bound (FIELD_TOO_LONG), and booleans, enums or ranged integers outside their
// values (BAD_ENCODING), naming the field.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "base/hex.hpp"
#include "codec/codec.hpp"

namespace gridpact::codec {

// ---- Options of a field ----

struct MaxLen {
  size_t n;
};
struct ItemLen {
  size_t n;
};
template <typename T>
struct Range {
  T lo, hi;
};
struct Mask {
  uint64_t bits;
};
template <typename F>
struct Names {
  F fn;
};
constexpr MaxLen max_len(size_t n) {
  return {n};
}
constexpr ItemLen item_len(size_t n) {
  return {n};
}
template <typename T>
constexpr Range<T> range(T lo, T hi) {
  return {lo, hi};
}
constexpr Mask mask(uint64_t bits) {
  return {bits};
}
template <typename F>
constexpr Names<F> names(F fn) {
  return {fn};
}

template <typename S, typename M, typename... Opts>
struct Field {
  std::string_view name;
  M S::*member;
  std::tuple<Opts...> opts;
};
template <typename S, typename M, typename... Opts>
constexpr Field<S, M, Opts...> field(std::string_view name, M S::*member, Opts... opts) {
  return {name, member, std::tuple<Opts...>{opts...}};
}

template <typename T>
struct Constant {
  std::string_view name;
  T value;
  Code code;
};
template <typename T>
constexpr Constant<T> constant(std::string_view name, T value, Code code) {
  return {name, value, code};
}

// ---- What a type is ----

template <typename T>
concept Described = requires {
  T::fields;
};

namespace detail {

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};
template <typename T>
struct is_fixed : std::false_type {};
template <size_t N>
struct is_fixed<FixedBytes<N>> : std::true_type {};

template <typename Opt, typename... Opts>
constexpr bool has_opt = (std::is_same_v<Opt, Opts> || ...);
template <typename T>
struct is_range : std::false_type {};
template <typename T>
struct is_range<Range<T>> : std::true_type {};
template <typename T>
struct is_names : std::false_type {};
template <typename F>
struct is_names<Names<F>> : std::true_type {};

template <typename... Opts>
constexpr bool has_range = (is_range<Opts>::value || ...);
template <typename... Opts>
constexpr bool has_names = (is_names<Opts>::value || ...);

template <template <typename> class Pred, typename... Opts>
constexpr const auto& first_of(const std::tuple<Opts...>& opts) {
  constexpr size_t i = [] {
    size_t k = 0, at = sizeof...(Opts);
    ((Pred<Opts>::value && at == sizeof...(Opts) ? at = k : 0, ++k), ...);
    return at;
  }();
  return std::get<i>(opts);
}

template <typename... Opts>
size_t max_len_of(const std::tuple<Opts...>& opts) {
  static_assert(has_opt<MaxLen, Opts...>, "strings, bytes and lists need max_len(n)");
  return std::get<MaxLen>(opts).n;
}

[[noreturn]] inline void out_of_range(std::string_view name, std::string_view value) {
  throw Error(Code::kBadEncoding,
              "field " + std::string(name) + ": " + std::string(value) + " is out of range");
}

template <typename T, typename... Opts>
void check_range(const T& v, const std::tuple<Opts...>& opts, std::string_view name) {
  if constexpr (has_range<Opts...>) {
    const auto& r = first_of<is_range>(opts);
    if (v < r.lo || v > r.hi) {
      if constexpr (std::is_enum_v<T>)
        out_of_range(name, std::to_string(static_cast<uint64_t>(v)));
      else
        out_of_range(name, std::to_string(v));
    }
  }
  if constexpr (has_opt<Mask, Opts...>) {
    static_assert(std::is_unsigned_v<T>, "mask(m) is for unsigned flag fields");
    if (static_cast<uint64_t>(v) & ~std::get<Mask>(opts).bits)
      throw Error(Code::kBadEncoding,
                  "field " + std::string(name) + ": unknown flag bits in " + std::to_string(v));
  }
}

template <typename T>
void write_int(Writer& w, T v) {
  if constexpr (sizeof(T) == 1)
    w.u8(static_cast<uint8_t>(v));
  else if constexpr (sizeof(T) == 2)
    w.u16(static_cast<uint16_t>(v));
  else if constexpr (sizeof(T) == 4)
    w.u32(static_cast<uint32_t>(v));
  else
    w.u64(static_cast<uint64_t>(v));
}
template <typename T>
T read_int(Reader& r) {
  if constexpr (sizeof(T) == 1)
    return static_cast<T>(r.u8());
  else if constexpr (sizeof(T) == 2)
    return static_cast<T>(r.u16());
  else if constexpr (sizeof(T) == 4)
    return static_cast<T>(r.u32());
  else
    return static_cast<T>(r.u64());
}

}  // namespace detail

template <Described T>
void write_fields(Writer& w, const T& v);
template <Described T>
void read_fields(Reader& r, T& v);
template <Described T>
nlohmann::json fields_json(const T& v);

namespace detail {

template <typename T, typename... Opts>
void write_value(Writer& w, const T& v, const std::tuple<Opts...>& opts, std::string_view name) {
  if constexpr (std::is_same_v<T, bool>) {
    w.boolean(v);
  } else if constexpr (std::is_enum_v<T>) {
    static_assert(has_range<Opts...>, "enums need range(lo, hi)");
    check_range(v, opts, name);
    write_int(w, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T>) {
    check_range(v, opts, name);
    write_int(w, v);
  } else if constexpr (is_fixed<T>::value) {
    w.fixed(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    w.str(v, max_len_of(opts));
  } else if constexpr (std::is_same_v<T, Bytes>) {
    w.bytes(v, max_len_of(opts));
  } else if constexpr (is_optional<T>::value) {
    w.boolean(v.has_value());
    if (v) write_value(w, *v, opts, name);
  } else if constexpr (is_vector<T>::value) {
    w.count(v.size(), max_len_of(opts));
    for (const auto& item : v) {
      if constexpr (has_opt<ItemLen, Opts...>)
        write_value(w, item, std::tuple{MaxLen{std::get<ItemLen>(opts).n}}, name);
      else
        write_value(w, item, std::tuple<>{}, name);
    }
  } else {
    static_assert(Described<T>, "a field's type must be encodable (see codec/fields.hpp)");
    write_fields(w, v);
  }
}

template <typename T, typename... Opts>
void read_value(Reader& r, T& v, const std::tuple<Opts...>& opts, std::string_view name) {
  if constexpr (std::is_same_v<T, bool>) {
    v = r.boolean();
  } else if constexpr (std::is_enum_v<T>) {
    static_assert(has_range<Opts...>, "enums need range(lo, hi)");
    auto raw = read_int<std::underlying_type_t<T>>(r);
    const auto& rg = first_of<is_range>(opts);
    using U = std::underlying_type_t<T>;
    if (raw < static_cast<U>(rg.lo) || raw > static_cast<U>(rg.hi))
      out_of_range(name, std::to_string(static_cast<uint64_t>(raw)));
    v = static_cast<T>(raw);
  } else if constexpr (std::is_integral_v<T>) {
    v = read_int<T>(r);
    check_range(v, opts, name);
  } else if constexpr (is_fixed<T>::value) {
    v = r.fixed<T::size()>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = r.str(max_len_of(opts));
  } else if constexpr (std::is_same_v<T, Bytes>) {
    v = r.bytes(max_len_of(opts));
  } else if constexpr (is_optional<T>::value) {
    if (r.boolean()) {
      v.emplace();
      read_value(r, *v, opts, name);
    } else {
      v.reset();
    }
  } else if constexpr (is_vector<T>::value) {
    v.clear();
    v.resize(r.count(max_len_of(opts)));
    for (auto& item : v) {
      if constexpr (has_opt<ItemLen, Opts...>)
        read_value(r, item, std::tuple{MaxLen{std::get<ItemLen>(opts).n}}, name);
      else
        read_value(r, item, std::tuple<>{}, name);
    }
  } else {
    static_assert(Described<T>, "a field's type must be decodable (see codec/fields.hpp)");
    read_fields(r, v);
  }
}

template <typename T, typename... Opts>
nlohmann::json json_value(const T& v, const std::tuple<Opts...>& opts) {
  if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_enum_v<T>) {
    if constexpr (has_names<Opts...>)
      return std::string(first_of<is_names>(opts).fn(v));
    else
      return static_cast<uint64_t>(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_signed_v<T>)
      return static_cast<int64_t>(v);
    else
      return static_cast<uint64_t>(v);
  } else if constexpr (is_fixed<T>::value) {
    return v.hex();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else if constexpr (std::is_same_v<T, Bytes>) {
    return to_hex(v);
  } else if constexpr (is_optional<T>::value) {
    return v ? json_value(*v, opts) : nlohmann::json(nullptr);
  } else if constexpr (is_vector<T>::value) {
    auto out = nlohmann::json::array();
    for (const auto& item : v) out.push_back(json_value(item, opts));
    return out;
  } else {
    return fields_json(v);
  }
}

}  // namespace detail

// Appends v's fields to w, in declaration order.
template <Described T>
void write_fields(Writer& w, const T& v) {
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          if constexpr (requires { fd.member; })
            detail::write_value(w, v.*(fd.member), fd.opts, fd.name);
          else
            detail::write_int(w, fd.value);
        };
        (one(f), ...);
      },
      T::fields);
}

// Reads v's fields from r, in declaration order.
template <Described T>
void read_fields(Reader& r, T& v) {
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          if constexpr (requires { fd.member; }) {
            detail::read_value(r, v.*(fd.member), fd.opts, fd.name);
          } else {
            auto got = detail::read_int<std::remove_cv_t<decltype(fd.value)>>(r);
            if (got != fd.value)
              throw Error(fd.code, std::string(fd.name) + " " + std::to_string(got) + " is not " +
                                       std::to_string(fd.value));
          }
        };
        (one(f), ...);
      },
      T::fields);
}

template <Described T>
Bytes encode_fields(const T& v) {
  Writer w;
  write_fields(w, v);
  return w.take();
}

// The whole input must be one T: TRAILING_BYTES otherwise.
template <Described T>
Result<T> decode_fields(const uint8_t* data, size_t size) {
  try {
    Reader r(data, size);
    T v{};
    read_fields(r, v);
    r.expect_end();
    return v;
  } catch (const Error& e) {
    return e.status();
  }
}
template <Described T>
Result<T> decode_fields(const Bytes& b) {
  return decode_fields<T>(b.data(), b.size());
}
template <Described T>
Result<T> decode_fields(std::string_view s) {
  return decode_fields<T>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// {name: value} for every member field (constants are left out).
template <Described T>
nlohmann::json fields_json(const T& v) {
  nlohmann::json out = nlohmann::json::object();
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          if constexpr (requires { fd.member; })
            out[std::string(fd.name)] = detail::json_value(v.*(fd.member), fd.opts);
        };
        (one(f), ...);
      },
      T::fields);
  return out;
}

}  // namespace gridpact::codec
