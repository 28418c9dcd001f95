// Stable error codes and a small Status / Result pair used everywhere.
//
// Codes are part of the public contract: they appear in receipts (and so in state roots),
// in API responses and in the CLI's exit messages. Never renumber one; add new ones.
// Ranges: 1xx encoding, 2xx authentication and ordering, 3xx bank, 4xx API and input,
// 5xx node and storage, 1000+ belong to the modules, each owning one hundred:
// 10xx attest, 11xx meters, 12xx market, 13xx agreements, 14xx db, 15xx node_attest,
// 16xx governance, 17xx tokens, 18xx cluster, 19xx key files (node/key_file.hpp).
// `gridpact codes` lists every code with its module and meaning.
//
// Every code is declared once, as one line of a list macro:
//   X(constant, number, "NAME", "meaning")
// GRIDPACT_CODES turns a module's list into its constants and a CodeTable, which the
// module registers (register_codes) so that code_name() can name the code.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace gridpact {

// The engine's own codes (module "base", numbers below 1000).
#define GRIDPACT_BASE_CODES(X)                                                                     \
  X(kOk, 0, "OK", "success")                                                                       \
  /* Encoding. */                                                                                  \
  X(kBadEncoding, 100, "BAD_ENCODING", "bytes are not a valid canonical encoding")                 \
  X(kTrailingBytes, 101, "TRAILING_BYTES", "bytes left over after a complete value")               \
  X(kFieldTooLong, 102, "FIELD_TOO_LONG", "a field is longer than its bound")                      \
  X(kUnknownVersion, 103, "UNKNOWN_VERSION", "an encoding version this build does not know")       \
  X(kUnknownType, 104, "UNKNOWN_TYPE", "a transaction or record type no module handles")           \
  X(kTooLarge, 105, "TOO_LARGE", "a transaction or request exceeds its size limit")                \
  X(kTruncated, 106, "TRUNCATED", "the input ends before the value does")                          \
  /* Authentication and ordering. */                                                               \
  X(kBadSignature, 200, "BAD_SIGNATURE", "the signature does not verify under the sender key")     \
  X(kWrongChain, 201, "WRONG_CHAIN", "the transaction names another chain id")                     \
  X(kNonceReused, 202, "NONCE_REUSED", "the sender already used this nonce")                       \
  X(kNonceTooFar, 203, "NONCE_TOO_FAR", "the nonce is too far ahead of the sender's next")         \
  X(kMempoolFull, 204, "MEMPOOL_FULL", "the mempool is full; retry later")                         \
  X(kDuplicateTx, 205, "DUPLICATE_TX", "a transaction with this nonce is already waiting")         \
  X(kNonceMismatch, 206, "NONCE_MISMATCH", "the nonce is not the sender's next at execution")      \
  X(kUnauthorized, 207, "UNAUTHORIZED", "the signer may not perform this action")                  \
  X(kSenderQuota, 208, "SENDER_QUOTA", "the sender has too many transactions waiting")             \
  /* Bank. */                                                                                      \
  X(kInsufficientFunds, 300, "INSUFFICIENT_FUNDS", "the balance does not cover the amount")        \
  X(kNotIssuer, 301, "NOT_ISSUER", "only the currency issuer may mint or burn")                    \
  X(kOverflow, 302, "OVERFLOW", "an amount or balance would overflow 64 bits")                     \
  X(kZeroAmount, 303, "ZERO_AMOUNT", "the amount must be positive")                                \
  X(kEscrowNotFound, 304, "ESCROW_NOT_FOUND", "no escrow with that id")                            \
  X(kEscrowExists, 305, "ESCROW_EXISTS", "an escrow with that id already exists")                  \
  X(kSelfTransfer, 306, "SELF_TRANSFER", "sender and recipient are the same account")              \
  /* API and input. */                                                                             \
  X(kMalformedJson, 400, "MALFORMED_JSON", "the request body is not valid JSON")                   \
  X(kInvalidArgument, 401, "INVALID_ARGUMENT",                                                     \
    "a parameter is missing, malformed or out of range")                                           \
  X(kNotFound, 404, "NOT_FOUND", "no such object or route")                                        \
  X(kMethodNotAllowed, 405, "METHOD_NOT_ALLOWED", "the route exists but not for this method")      \
  X(kRequestTimeout, 408, "REQUEST_TIMEOUT", "the request did not arrive within its deadline")     \
  X(kBadGenesis, 410, "BAD_GENESIS", "the genesis file is invalid")                                \
  X(kAlreadyExists, 411, "ALREADY_EXISTS", "the file or object exists and is never overwritten")   \
  X(kForbiddenHost, 412, "FORBIDDEN_HOST", "the Host header names none of the node's names")       \
  X(kBodyTooLarge, 413, "BODY_TOO_LARGE", "the request body exceeds its limit")                    \
  X(kUrlTooLong, 414, "URL_TOO_LONG", "the request target exceeds its limit")                      \
  X(kEventsGap, 415, "EVENTS_GAP", "the requested events are older than the retained window")      \
  X(kBadFraming, 420, "BAD_FRAMING", "bad HTTP framing: Content-Length, chunking or request line") \
  X(kJsonTooDeep, 421, "JSON_TOO_DEEP", "the JSON body nests deeper than allowed")                 \
  X(kOverloaded, 429, "OVERLOADED", "a connection or stream cap is reached; retry later")          \
  X(kHeadersTooLarge, 431, "HEADERS_TOO_LARGE", "too many request headers, or too large")          \
  /* Node and storage. */                                                                          \
  X(kStorage, 500, "STORAGE", "the store failed to read or write")                                 \
  X(kStateRootMismatch, 501, "STATE_ROOT_MISMATCH",                                                \
    "a recomputed root differs from the recorded one")                                             \
  X(kShuttingDown, 502, "SHUTTING_DOWN", "the node is stopping")                                   \
  X(kTimeout, 503, "TIMEOUT", "the operation did not complete in time")

#define GRIDPACT_CODE_ENUMERATOR(id, number, name, meaning) id = number,
enum class Code : uint16_t { GRIDPACT_BASE_CODES(GRIDPACT_CODE_ENUMERATOR) };
#undef GRIDPACT_CODE_ENUMERATOR

// One code: what `gridpact codes` prints for it.
struct CodeInfo {
  uint16_t number;
  std::string_view name;     // stable, upper snake case, e.g. "BAD_SIGNATURE"
  std::string_view meaning;  // one line for client authors
};

// The codes of one module; it owns the numbers first..last.
struct CodeTable {
  std::string_view module;
  uint16_t first;
  uint16_t last;
  std::span<const CodeInfo> codes;
};

// Whether every code of `entries` lies in first..last (checked at compile time).
constexpr bool codes_within(std::span<const CodeInfo> entries, uint16_t first, uint16_t last) {
  for (const auto& c : entries)
    if (c.number < first || c.number > last) return false;
  return true;
}

#define GRIDPACT_CODE_INFO(id, number, name, meaning) ::gridpact::CodeInfo{number, name, meaning},
#define GRIDPACT_CODE_CONSTANT(id, number, name, meaning) \
  inline constexpr ::gridpact::Code id = static_cast<::gridpact::Code>(number);

// GRIDPACT_CODES(kMeterCodes, "meters", 1100, LIST): the constants of LIST in the current
// namespace, and kMeterCodes, the CodeTable of module "meters" owning 1100..1199.
#define GRIDPACT_CODES(table, module, hundred, LIST)                                            \
  LIST(GRIDPACT_CODE_CONSTANT)                                                                  \
  inline constexpr ::gridpact::CodeInfo table##_entries[] = {LIST(GRIDPACT_CODE_INFO)};         \
  inline constexpr ::gridpact::CodeTable table{module, hundred, hundred + 99, table##_entries}; \
  static_assert(hundred >= 1000 && hundred % 100 == 0, "modules own a hundred from 1000");      \
  static_assert(::gridpact::codes_within(table##_entries, hundred, hundred + 99),               \
                "a code of " module " lies outside its hundred")

inline constexpr CodeInfo kBaseCodeEntries[] = {GRIDPACT_BASE_CODES(GRIDPACT_CODE_INFO)};
inline constexpr CodeTable kBaseCodes{"base", 0, 999, kBaseCodeEntries};

// Stable, upper-snake name of a code, e.g. "BAD_SIGNATURE"; "UNKNOWN_ERROR" for a number
// no registered table declares.
std::string_view code_name(Code code);
// Makes a module's codes known to code_name() and code_tables(). Idempotent and
// thread-safe; each module calls it (through its register_*_codes()) before use.
void register_codes(const CodeTable& table);
// The base table and every table registered so far, in order of registration.
std::vector<const CodeTable*> code_tables();

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

// The first conflict among `tables`: a number or name declared twice, a code outside its
// table's range, or two tables whose ranges overlap. OK when there is none.
Status check_code_tables(std::span<const CodeTable* const> tables);

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
