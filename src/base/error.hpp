// Stable error codes and a small Status / Result pair used everywhere.
//
// Codes are part of the public contract: they appear in receipts (and so in state roots),
// in API responses and in the CLI's exit messages. Never renumber one; add new ones.
// Ranges: 1xx encoding, 2xx authentication and ordering, 3xx bank, 4xx API and input,
// 5xx node and storage, 1000+ belong to the modules (each module owns a hundred).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gridpact {

enum class Code : uint16_t {
  kOk = 0,
  // Encoding.
  kBadEncoding = 100,
  kTrailingBytes = 101,
  kFieldTooLong = 102,
  kUnknownVersion = 103,
  kUnknownType = 104,
  kTooLarge = 105,
  kTruncated = 106,
  // Authentication and ordering.
  kBadSignature = 200,
  kWrongChain = 201,
  kNonceReused = 202,
  kNonceTooFar = 203,
  kMempoolFull = 204,
  kDuplicateTx = 205,
  kNonceMismatch = 206,
  kUnauthorized = 207,
  // Bank.
  kInsufficientFunds = 300,
  kNotIssuer = 301,
  kOverflow = 302,
  kZeroAmount = 303,
  kEscrowNotFound = 304,
  kEscrowExists = 305,
  kSelfTransfer = 306,
  // API and input.
  kMalformedJson = 400,
  kInvalidArgument = 401,
  kNotFound = 404,
  kMethodNotAllowed = 405,
  kRequestTimeout = 408,
  kBadGenesis = 410,
  kBodyTooLarge = 413,
  kUrlTooLong = 414,
  kBadFraming = 420,  // HTTP framing: Content-Length, chunking, request line
  kJsonTooDeep = 421,
  kOverloaded = 429,  // connection or stream cap reached
  kHeadersTooLarge = 431,
  // Node and storage.
  kStorage = 500,
  kStateRootMismatch = 501,
  kShuttingDown = 502,
  kTimeout = 503,
};

// Stable, upper-snake name of a code, e.g. "BAD_SIGNATURE". Module codes register theirs.
std::string_view code_name(Code code);
// Lets a module name its own codes (1000+). Call at static-init time or before use.
void register_code_name(uint16_t code, std::string_view name);

struct Status {
  Code code = Code::kOk;
  std::string message;

  static Status ok() { return {}; }
  bool is_ok() const { return code == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  std::string to_string() const;
};

inline Status error(Code code, std::string message) {
  return Status{code, std::move(message)};
}

// A value or an error Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).is_ok()) throw std::logic_error("Result built from OK status");
  }
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status ok;
    return is_ok() ? ok : std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

// Thrown only across boundaries where a Status cannot be returned (decoders use it
// internally and convert at their public entry points).
class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message)
      : std::runtime_error(message), status_{code, message} {}
  explicit Error(Status status) : std::runtime_error(status.message), status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// Overflow-checked arithmetic for state transitions (money, energy).
inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<uint64_t> checked_sub(uint64_t a, uint64_t b) {
  if (b > a) return std::nullopt;
  return a - b;
}
inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

}  // namespace gridpact
