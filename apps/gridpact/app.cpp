#include "app.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "client.hpp"
#include "modules/agreements/agreements.hpp"
#include "modules/bank/bank.hpp"
#include "modules/governance/governance.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/tokens.hpp"

namespace gridpact::cli {

std::vector<std::unique_ptr<Module>> make_modules() {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<bank::BankModule>());
  m.push_back(std::make_unique<agreements::AgreementsModule>());
  m.push_back(std::make_unique<meters::MetersModule>());
  // Governance before the market: development genesis sections follow this order, and
  // examples append [market] keys to the end of the file.
  m.push_back(std::make_unique<governance::GovernanceModule>());
  m.push_back(std::make_unique<market::MarketModule>());
  m.push_back(std::make_unique<tokens::TokensModule>());  // after the market: reads its settlement
  return m;
}

std::vector<Module*> raw(const std::vector<std::unique_ptr<Module>>& modules) {
  std::vector<Module*> out;
  for (const auto& m : modules) out.push_back(m.get());
  return out;
}

Status ensure_development_chain(const DataDir& dir, const std::string& chain_id) {
  if (std::filesystem::exists(dir.genesis_path())) return Status::ok();
  std::filesystem::create_directories(dir.path + "/keys");
  auto validator = KeyPair::generate();
  auto issuer = KeyPair::generate();
  auto alice = KeyPair::generate();
  // A key left by a start that crashed before writing genesis is kept, never replaced.
  for (auto& [name, key] : {std::pair{"validator", &validator}, std::pair{"issuer", &issuer},
                            std::pair{"alice", &alice}}) {
    if (std::filesystem::exists(dir.key_path(name))) {
      auto existing = read_key_file(dir.key_path(name));
      if (!existing) return existing.status();
      *key = *existing;
    } else if (Status s = write_key_file(dir.key_path(name), *key); !s) {
      return s;
    }
  }
  std::ofstream out(dir.genesis_path());
  auto modules = make_modules();
  out << development_genesis(chain_id, validator.public_key(), issuer.public_key(),
                             {{alice.public_key(), 1'000'000'000}}, raw(modules));
  return out ? Status::ok() : error(Code::kStorage, "cannot write " + dir.genesis_path());
}

void print_json(const json& j) {
  std::cout << j.dump(2) << std::endl;
}

int fail(const Status& s) {
  std::cerr << "error: " << s.to_string() << std::endl;
  print_json({{"error",
               {{"code", static_cast<int>(s.code)},
                {"name", code_name(s.code)},
                {"message", s.message}}}});
  return s.code == Code::kInvalidArgument || s.code == Code::kMalformedJson ? 2 : 1;
}

int submit_and_print(const std::string& node_url, const std::string& key_path, bool wait,
                     uint16_t type, Bytes payload) {
  auto key = read_key_file(key_path);
  if (!key) return fail(key.status());
  ApiClient client(node_url);
  auto r = client.submit(*key, type, std::move(payload), wait);
  if (!r) return fail(r.status());
  print_json(*r);
  if (r->contains("receipt") && !(*r)["receipt"]["ok"].get<bool>()) return 1;
  return 0;
}

}  // namespace gridpact::cli
