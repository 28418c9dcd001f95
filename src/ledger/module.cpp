// The query-route registry of ledger/module.hpp: matching a path against the modules'
// templates and checking each parameter against its declaration.
#include "ledger/module.hpp"

#include <algorithm>

namespace gridpact {

namespace {

std::string_view trim_slash(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  return path;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  path = trim_slash(path);
  while (!path.empty()) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.emplace_back();  // a trailing slash: an empty last segment
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    auto next = checked_mul(out, 10);
    if (next) next = checked_add(*next, static_cast<uint64_t>(c - '0'));
    if (!next) return std::nullopt;
    out = *next;
  }
  return out;
}

}  // namespace

std::optional<std::string> QueryArgs::text(std::string_view name) const {
  for (const auto& [k, v] : path_)
    if (k == name) return v;
  if (!params_.is_object()) return std::nullopt;
  auto it = params_.find(name);
  if (it == params_.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return it->dump();  // refused by a kU64 or kHex32 declaration
}

std::optional<uint64_t> QueryArgs::u64(std::string_view name) const {
  auto t = text(name);
  return t ? parse_u64(*t) : std::nullopt;
}

std::optional<Hash32> QueryArgs::hex32(std::string_view name) const {
  auto t = text(name);
  return t ? Hash32::from_hex(*t) : std::nullopt;
}

std::vector<std::string_view> Route::path_params(std::string_view path) {
  std::vector<std::string_view> out;
  for (auto s : segments(path))
    if (is_param(s)) out.push_back(s.substr(1, s.size() - 2));
  return out;
}

std::optional<std::vector<std::pair<std::string_view, std::string>>> Route::match(
    std::string_view p) const {
  auto want = segments(path), got = segments(p);
  if (want.size() != got.size()) return std::nullopt;
  std::vector<std::pair<std::string_view, std::string>> args;
  for (size_t i = 0; i < want.size(); ++i) {
    if (is_param(want[i])) {
      if (got[i].empty()) return std::nullopt;
      args.emplace_back(want[i].substr(1, want[i].size() - 2), std::string(got[i]));
    } else if (want[i] != got[i]) {
      return std::nullopt;
    }
  }
  return args;
}

Result<json> Route::run(const StateReader& state, const QueryArgs& args) const {
  const auto in_path = path_params(path);
  for (const RouteParam& p : params) {
    auto v = args.text(p.name);
    std::string name(p.name);
    // A path segment outside its type names no resource (NOT_FOUND); a bad query
    // parameter is a bad argument.
    const Code bad = std::find(in_path.begin(), in_path.end(), p.name) != in_path.end()
                         ? Code::kNotFound
                         : Code::kInvalidArgument;
    if (!v) {
      if (p.required) return error(Code::kInvalidArgument, name + " is required");
      continue;
    }
    switch (p.type) {
      case RouteParam::Type::kU64: {
        auto n = parse_u64(*v);
        if (!n || *n > p.max)
          return error(bad, name + " must be an integer from 0 to " + std::to_string(p.max));
        break;
      }
      case RouteParam::Type::kHex32:
        if (!Hash32::from_hex(*v)) return error(bad, name + " must be 64 hex digits");
        break;
      case RouteParam::Type::kText:
        if (v->size() > p.max)
          return error(bad, name + " is longer than " + std::to_string(p.max) + " bytes");
        break;
    }
  }
  return handler(state, args);
}

void Module::route(std::string path, std::string_view summary, std::vector<RouteParam> params,
                   Route::Handler handler) {
  // Mistakes in a module's declarations, found when the module is constructed.
  if (!path.starts_with('/')) throw std::logic_error("a route's path starts with '/': " + path);
  for (const auto& r : routes_)
    if (segments(r.path).size() == segments(path).size() && r.match(path))
      throw std::logic_error("route declared twice: " + path);
  for (auto name : Route::path_params(path)) {
    auto it = std::find_if(params.begin(), params.end(),
                           [&](const RouteParam& p) { return p.name == name; });
    if (it == params.end())
      throw std::logic_error("path parameter not declared: " + std::string(name));
    it->required = true;
  }
  routes_.push_back(Route{std::move(path), summary, std::move(params), std::move(handler)});
}

Result<json> Module::query(const StateReader& state, std::string_view path,
                           const json& params) const {
  for (const auto& r : routes_)
    if (auto args = r.match(path)) return r.run(state, QueryArgs(std::move(*args), params));
  return error(Code::kNotFound,
               "no " + std::string(name()) + " query " + std::string(trim_slash(path)));
}

}  // namespace gridpact
