#include "ledger/params.hpp"

#include <algorithm>
#include <set>

#include "codec/codec.hpp"
#include "ledger/module.hpp"

namespace gridpact {

ParamSpec ParamSpec::u64(std::string name, uint64_t def, uint64_t min, uint64_t max,
                         std::string meaning) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kU64;
  s.min = min;
  s.max = max;
  s.default_value = def;
  s.meaning = std::move(meaning);
  return s;
}
ParamSpec ParamSpec::boolean(std::string name, bool def, std::string meaning) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kBool;
  s.default_value = def;
  s.meaning = std::move(meaning);
  return s;
}
ParamSpec ParamSpec::text(std::string name, std::string def, std::vector<std::string> choices,
                          std::string meaning) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kText;
  s.choices = std::move(choices);
  s.default_value = std::move(def);
  s.meaning = std::move(meaning);
  return s;
}
ParamSpec ParamSpec::account(std::string name, bool optional, std::string meaning) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = ParamType::kAccount;
  s.optional = optional;
  s.required = !optional;
  s.default_value = std::optional<PublicKey>();
  s.meaning = std::move(meaning);
  return s;
}

std::string_view ParamSpec::short_name() const {
  std::string_view n = name;
  auto dot = n.find('.');
  return dot == std::string_view::npos ? n : n.substr(dot + 1);
}

std::string param_key(std::string_view name) {
  return "param/" + std::string(name);
}

Result<ParamValue> parse_param(const ParamSpec& spec, const nlohmann::json& v) {
  auto bad = [&](const std::string& what) {
    return error(Code::kInvalidArgument, spec.name + " must be " + what);
  };
  switch (spec.type) {
    case ParamType::kU64: {
      std::optional<uint64_t> n;
      if (v.is_number_unsigned()) n = v.get<uint64_t>();
      if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() >= 0)
        n = static_cast<uint64_t>(v.get<int64_t>());
      if (!n || *n < spec.min || *n > spec.max)
        return bad("an integer in " + std::to_string(spec.min) + ".." + std::to_string(spec.max));
      return ParamValue(*n);
    }
    case ParamType::kBool:
      if (!v.is_boolean()) return bad("true or false");
      return ParamValue(v.get<bool>());
    case ParamType::kText: {
      std::string list;
      for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
      if (!v.is_string()) return bad(list.empty() ? "a string" : "one of " + list);
      auto s = v.get<std::string>();
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end())
        return bad("one of " + list);
      if (s.size() > kMaxParamText)
        return bad("at most " + std::to_string(kMaxParamText) + " bytes");
      return ParamValue(std::move(s));
    }
    case ParamType::kAccount: {
      if (v.is_null() && spec.optional) return ParamValue(std::optional<PublicKey>());
      auto k = v.is_string() ? PublicKey::from_hex(v.get<std::string>()) : std::nullopt;
      if (!k)
        return bad(spec.optional ? "a 64-hex-digit public key or null"
                                 : "a 64-hex-digit public key");
      return ParamValue(std::optional<PublicKey>(*k));
    }
  }
  return bad("a known type");
}

nlohmann::json param_json(const ParamValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::optional<PublicKey>>)
          return v ? nlohmann::json(v->hex()) : nlohmann::json(nullptr);
        else
          return v;
      },
      value);
}

std::string encode_param(const ParamValue& value) {
  codec::Writer w;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint64_t>) w.u64(v);
        if constexpr (std::is_same_v<T, bool>) w.boolean(v);
        if constexpr (std::is_same_v<T, std::string>) w.str(v, kMaxParamText);
        if constexpr (std::is_same_v<T, std::optional<PublicKey>>) {
          w.boolean(v.has_value());
          if (v) w.fixed(*v);
        }
      },
      value);
  const Bytes& b = w.data();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

ParamValue decode_param(const ParamSpec& spec, std::string_view bytes) {
  codec::Reader r(bytes);
  ParamValue out;
  switch (spec.type) {
    case ParamType::kU64:
      out = r.u64();
      break;
    case ParamType::kBool:
      out = r.boolean();
      break;
    case ParamType::kText:
      out = r.str(kMaxParamText);
      break;
    case ParamType::kAccount: {
      std::optional<PublicKey> k;
      if (r.boolean()) k = r.fixed<32>();
      out = k;
      break;
    }
  }
  r.expect_end();
  return out;
}

Status init_params(StateOverlay& state, const std::vector<ParamSpec>& specs,
                   const nlohmann::json& section) {
  for (const ParamSpec& spec : specs) {
    std::string key(spec.short_name());
    ParamValue value = spec.default_value;
    if (section.is_object() && section.contains(key)) {
      auto v = parse_param(spec, section[key]);
      if (!v) return error(Code::kBadGenesis, v.status().message);
      value = std::move(v).value();
    } else if (spec.required) {
      return error(Code::kBadGenesis, spec.name + " is required (" + spec.meaning + ")");
    }
    state.put(param_key(spec.name), encode_param(value));
  }
  return Status::ok();
}

namespace {

template <typename T>
T read_param(const StateReader& state, std::string_view name, ParamType type) {
  auto v = state.get(param_key(name));
  if (!v) throw Error(Code::kNotFound, "parameter " + std::string(name) + " is not set");
  ParamSpec spec;
  spec.type = type;
  return std::get<T>(decode_param(spec, *v));
}

}  // namespace

uint64_t read_u64_param(const StateReader& state, std::string_view name) {
  return read_param<uint64_t>(state, name, ParamType::kU64);
}
bool read_bool_param(const StateReader& state, std::string_view name) {
  return read_param<bool>(state, name, ParamType::kBool);
}
std::string read_text_param(const StateReader& state, std::string_view name) {
  return read_param<std::string>(state, name, ParamType::kText);
}
std::optional<PublicKey> read_account_param(const StateReader& state, std::string_view name) {
  return read_param<std::optional<PublicKey>>(state, name, ParamType::kAccount);
}

ParamRegistry::ParamRegistry(const std::vector<Module*>& modules) {
  for (const Module* m : modules)
    for (ParamSpec& spec : m->param_table()) {
      owners_.emplace_back(spec.name, m);
      specs_.push_back(std::move(spec));
    }
  std::sort(specs_.begin(), specs_.end(),
            [](const ParamSpec& a, const ParamSpec& b) { return a.name < b.name; });
  for (size_t i = 1; i < specs_.size(); ++i)
    if (specs_[i].name == specs_[i - 1].name)
      throw Error(Code::kInvalidArgument, "parameter " + specs_[i].name + " declared twice");
}

const ParamSpec* ParamRegistry::find(std::string_view name) const {
  auto it = std::lower_bound(specs_.begin(), specs_.end(), name,
                             [](const ParamSpec& s, std::string_view n) { return s.name < n; });
  return it != specs_.end() && it->name == name ? &*it : nullptr;
}

Result<ParamValue> ParamRegistry::validate(std::string_view name,
                                           const nlohmann::json& value) const {
  const ParamSpec* spec = find(name);
  if (!spec) return error(Code::kNotFound, "no parameter " + std::string(name));
  return parse_param(*spec, value);
}

Status ParamRegistry::apply(StateOverlay& state, const nlohmann::json& changes) const {
  if (!changes.is_object() || changes.empty())
    return error(Code::kInvalidArgument, "parameter changes must be a non-empty object");
  StateOverlay next(state);
  std::set<const Module*> touched;
  for (const auto& [name, value] : changes.items()) {
    auto v = validate(name, value);
    if (!v) return v.status();
    if (!state.get(param_key(name)))
      return error(Code::kNotFound, "parameter " + name + " is not set up on this chain");
    next.put(param_key(name), encode_param(*v));
    for (const auto& [n, m] : owners_)
      if (n == name) touched.insert(m);
  }
  for (const Module* m : touched)
    if (Status s = m->check_params(next); !s) return s;
  next.merge_into(state);
  return Status::ok();
}

nlohmann::json ParamRegistry::values(const StateReader& state) const {
  nlohmann::json out = nlohmann::json::object();
  for (const ParamSpec& spec : specs_)
    if (auto v = state.get(param_key(spec.name)))
      out[spec.name] = param_json(decode_param(spec, *v));
  return out;
}

}  // namespace gridpact
