#include "base/error.hpp"

#include <map>
#include <mutex>

namespace gridpact {
namespace {

std::map<uint16_t, std::string>& module_names() {
  static std::map<uint16_t, std::string> names;
  return names;
}
std::mutex& names_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kBadEncoding:
      return "BAD_ENCODING";
    case Code::kTrailingBytes:
      return "TRAILING_BYTES";
    case Code::kFieldTooLong:
      return "FIELD_TOO_LONG";
    case Code::kUnknownVersion:
      return "UNKNOWN_VERSION";
    case Code::kUnknownType:
      return "UNKNOWN_TYPE";
    case Code::kTooLarge:
      return "TOO_LARGE";
    case Code::kTruncated:
      return "TRUNCATED";
    case Code::kBadSignature:
      return "BAD_SIGNATURE";
    case Code::kWrongChain:
      return "WRONG_CHAIN";
    case Code::kNonceReused:
      return "NONCE_REUSED";
    case Code::kNonceTooFar:
      return "NONCE_TOO_FAR";
    case Code::kMempoolFull:
      return "MEMPOOL_FULL";
    case Code::kDuplicateTx:
      return "DUPLICATE_TX";
    case Code::kNonceMismatch:
      return "NONCE_MISMATCH";
    case Code::kUnauthorized:
      return "UNAUTHORIZED";
    case Code::kInsufficientFunds:
      return "INSUFFICIENT_FUNDS";
    case Code::kNotIssuer:
      return "NOT_ISSUER";
    case Code::kOverflow:
      return "OVERFLOW";
    case Code::kZeroAmount:
      return "ZERO_AMOUNT";
    case Code::kEscrowNotFound:
      return "ESCROW_NOT_FOUND";
    case Code::kEscrowExists:
      return "ESCROW_EXISTS";
    case Code::kSelfTransfer:
      return "SELF_TRANSFER";
    case Code::kMalformedJson:
      return "MALFORMED_JSON";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kMethodNotAllowed:
      return "METHOD_NOT_ALLOWED";
    case Code::kRequestTimeout:
      return "REQUEST_TIMEOUT";
    case Code::kBadGenesis:
      return "BAD_GENESIS";
    case Code::kBodyTooLarge:
      return "BODY_TOO_LARGE";
    case Code::kUrlTooLong:
      return "URL_TOO_LONG";
    case Code::kBadFraming:
      return "BAD_FRAMING";
    case Code::kJsonTooDeep:
      return "JSON_TOO_DEEP";
    case Code::kOverloaded:
      return "OVERLOADED";
    case Code::kHeadersTooLarge:
      return "HEADERS_TOO_LARGE";
    case Code::kStorage:
      return "STORAGE";
    case Code::kStateRootMismatch:
      return "STATE_ROOT_MISMATCH";
    case Code::kShuttingDown:
      return "SHUTTING_DOWN";
    case Code::kTimeout:
      return "TIMEOUT";
  }
  std::lock_guard lock(names_mutex());
  auto it = module_names().find(static_cast<uint16_t>(code));
  return it == module_names().end() ? std::string_view("UNKNOWN_ERROR") : it->second;
}

void register_code_name(uint16_t code, std::string_view name) {
  std::lock_guard lock(names_mutex());
  module_names()[code] = std::string(name);
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  return std::string(code_name(code)) + " (" + std::to_string(static_cast<int>(code)) +
         "): " + message;
}

}  // namespace gridpact
