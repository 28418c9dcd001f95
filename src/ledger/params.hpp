// Chain parameters: the values a module reads from state rather than from its code, so
// that governance can change them without a new release.
//
// Each module declares its parameters in one table (Module::param_table()): a dotted name
// ("market.retail_tariff": the module's name, a dot, the parameter), the type, the
// allowed range or choices, the default. The values live in state, one key each:
//
//   param/<dotted name>    u64: 8 bytes big-endian; bool: 1 byte; text: u32 length +
//                          bytes; account: u8 0 (unset) or 1, then the 32-byte key
//
// A module writes its parameters at genesis (init_params, from its genesis section) and
// reads them from state on every use. After genesis the one way to change them is
// ParamRegistry::apply, which refuses, in this order: an unknown name (NOT_FOUND), a value
// of the wrong type or out of range (INVALID_ARGUMENT), a set of values that a module's
// own rule across its parameters refuses (Module::check_params). All or nothing.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.hpp"
#include "crypto/keys.hpp"
#include "ledger/state.hpp"

namespace gridpact {

class Module;

enum class ParamType : uint8_t {
  kU64,      // an integer in [min, max]
  kBool,     //
  kText,     // one of `choices` (or, with none, any text of at most kMaxParamText bytes)
  kAccount,  // a public key; unset allowed only when `optional`
};

using ParamValue = std::variant<uint64_t, bool, std::string, std::optional<PublicKey>>;

constexpr size_t kMaxParamText = 64;

struct ParamSpec {
  std::string name;  // dotted: "market.retail_tariff"
  ParamType type = ParamType::kU64;
  uint64_t min = 0, max = 0;         // kU64
  std::vector<std::string> choices;  // kText
  bool optional = false;             // kAccount: may be unset
  bool required = false;             // no usable default: genesis must give a value
  ParamValue default_value = uint64_t{0};
  std::string meaning;

  static ParamSpec u64(std::string name, uint64_t def, uint64_t min, uint64_t max,
                       std::string meaning);
  static ParamSpec boolean(std::string name, bool def, std::string meaning);
  static ParamSpec text(std::string name, std::string def, std::vector<std::string> choices,
                        std::string meaning);
  static ParamSpec account(std::string name, bool optional, std::string meaning);

  // The part after the module's name: "retail_tariff".
  std::string_view short_name() const;
};

std::string param_key(std::string_view name);

// A JSON value checked against `spec` (type, range, choices). TOML integers arrive as
// signed numbers; negative ones are out of range.
Result<ParamValue> parse_param(const ParamSpec& spec, const nlohmann::json& value);
nlohmann::json param_json(const ParamValue& value);
std::string encode_param(const ParamValue& value);
// Throws gridpact::Error when the stored bytes are not a value of `spec`'s type.
ParamValue decode_param(const ParamSpec& spec, std::string_view bytes);

// Writes `specs` at genesis: the value in `section` under the short name, else the
// default. Keys of `section` that are not parameters are left to the module.
Status init_params(StateOverlay& state, const std::vector<ParamSpec>& specs,
                   const nlohmann::json& section);

// Typed reads for modules (the parameter must have been written: a module that has no
// section in this chain's genesis does not read them). Throw gridpact::Error otherwise.
uint64_t read_u64_param(const StateReader& state, std::string_view name);
bool read_bool_param(const StateReader& state, std::string_view name);
std::string read_text_param(const StateReader& state, std::string_view name);
std::optional<PublicKey> read_account_param(const StateReader& state, std::string_view name);

// Every module's parameters: the module-independent path that validates and applies a
// change (governance changes parameters only through it) and the view of all of them.
class ParamRegistry {
 public:
  explicit ParamRegistry(const std::vector<Module*>& modules);

  const ParamSpec* find(std::string_view name) const;
  const std::vector<ParamSpec>& specs() const { return specs_; }
  Result<ParamValue> validate(std::string_view name, const nlohmann::json& value) const;
  // `changes`: {"market.retail_tariff": 310000, ...}. Writes all or none.
  Status apply(StateOverlay& state, const nlohmann::json& changes) const;
  // {"market.retail_tariff": 300000, ...}: every parameter written in `state`, by name
  // (those of modules that are not set up on this chain are left out).
  nlohmann::json values(const StateReader& state) const;

 private:
  std::vector<ParamSpec> specs_;  // sorted by name
  std::vector<std::pair<std::string, const Module*>> owners_;
};

}  // namespace gridpact
