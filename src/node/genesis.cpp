#include "node/genesis.hpp"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace gridpact {
namespace {

// toml++ -> nlohmann::json, keeping integers as integers.
json to_json(const toml::node& node) {
  if (auto t = node.as_table()) {
    json j = json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = to_json(v);
    return j;
  }
  if (auto a = node.as_array()) {
    json j = json::array();
    for (const auto& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_string()) return v->get();
  // Floats and dates have no place in state: amounts and times are integers.
  throw Error(Code::kBadGenesis, "genesis values must be integers, booleans or strings");
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(Code::kNotFound, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<Genesis> Genesis::parse(std::string text) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return error(Code::kBadGenesis,
                 std::string("genesis is not valid TOML: ") + std::string(e.description()));
  }
  Genesis g;
  try {
    g.document = to_json(table);
  } catch (const Error& e) {
    return e.status();
  }
  const json& d = g.document;
  auto bad = [](const std::string& what) { return error(Code::kBadGenesis, what); };
  if (!d.contains("chain_id") || !d["chain_id"].is_string()) return bad("chain_id missing");
  g.chain_id = d["chain_id"];
  if (g.chain_id.empty() || g.chain_id.size() > kMaxChainId) return bad("chain_id length");
  g.development = d.value("development", false);
  if (d.contains("time_ms")) {
    if (!d["time_ms"].is_number_integer() || d["time_ms"].get<int64_t>() < 0)
      return bad("time_ms must be a non-negative integer");
    g.time_ms = d["time_ms"];
  }
  if (!d.contains("validator") || !d["validator"].contains("public_key") ||
      !d["validator"]["public_key"].is_string())
    return bad("validator.public_key missing");
  auto v = PublicKey::from_hex(d["validator"]["public_key"].get<std::string>());
  if (!v) return bad("validator.public_key must be 64 hex digits");
  g.validator = *v;
  if (d.contains("block")) {
    const json& b = d["block"];
    auto get = [&](const char* name, uint32_t& out, uint32_t lo, uint32_t hi) -> bool {
      if (!b.contains(name)) return true;
      if (!b[name].is_number_integer()) return false;
      int64_t x = b[name];
      if (x < lo || x > hi) return false;
      out = static_cast<uint32_t>(x);
      return true;
    };
    if (!get("interval_ms", g.block_interval_ms, 1, 60000) ||
        !get("idle_interval_ms", g.idle_interval_ms, 1, 3600000) ||
        !get("max_txs", g.max_block_txs, 1, static_cast<uint32_t>(kMaxBlockTxs)))
      return bad("block parameters out of range");
  }
  g.hash = sha256(text);
  g.text = std::move(text);
  return g;
}

Result<Genesis> Genesis::load(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  return parse(std::move(text).value());
}

std::string development_genesis(const std::string& chain_id, const PublicKey& validator,
                                const PublicKey& issuer,
                                const std::vector<std::pair<PublicKey, uint64_t>>& balances,
                                const std::vector<Module*>& modules) {
  std::ostringstream s;
  s << "# A development chain: keys live beside this file. INSECURE, for development only.\n"
    << "chain_id = \"" << chain_id << "\"\n"
    << "development = true\n"
    << "time_ms = 0\n\n"
    << "[validator]\npublic_key = \"" << validator.hex() << "\"\n\n"
    << "[block]\ninterval_ms = 100\nidle_interval_ms = 1000\nmax_txs = 5000\n";
  // The consortium of a development chain: the validator, the issuer and the first funded
  // account (the "alice" of `gridpact node --dev`).
  std::vector<PublicKey> members = {validator, issuer};
  if (!balances.empty() && balances[0].first != validator && balances[0].first != issuer)
    members.push_back(balances[0].first);
  const DevelopmentAccounts accounts{issuer, balances, validator, members};
  for (const Module* m : modules)
    if (std::string section = m->default_genesis(accounts); !section.empty()) s << "\n" << section;
  return s.str();
}

}  // namespace gridpact
