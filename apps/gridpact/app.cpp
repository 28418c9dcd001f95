#include "app.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "client.hpp"
#include "modules/all_modules.hpp"
#include "modules/governance/governance.hpp"

namespace gridpact::cli {

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
  auto modules = all_modules();
  out << development_genesis(chain_id, validator.public_key(), issuer.public_key(),
                             {{alice.public_key(), 1'000'000'000}}, module_pointers(modules));
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

SigningOptions& signing_options() {
  static SigningOptions options;
  return options;
}

void add_signing_options(CLI::App& app) {
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; })) {
    add_signing_options(*cmd);
    if (!cmd->get_option_no_throw("--key") || !cmd->get_option_no_throw("--no-wait")) continue;
    cmd->add_flag("--sign-only", signing_options().sign_only,
                  "Print the signed transaction (JSON, with its bytes as hex in \"raw\") "
                  "instead of sending it; `gridpact tx submit --file` sends it later");
    cmd->add_option_function<uint64_t>(
        "--nonce", [](const uint64_t& n) { signing_options().nonce = n; },
        "Sign with this nonce instead of the account's committed one (several in flight)");
    cmd->add_option("--chain-id", signing_options().chain_id,
                    "The chain's id (default: asked of the node); with --nonce and "
                    "--sign-only, no node is needed");
  }
}

namespace {

json signed_tx_json(const Transaction& tx) {
  json j = {{"id", tx.id().hex()}, {"chain_id", tx.chain_id}, {"sender", tx.sender.hex()},
            {"nonce", tx.nonce},   {"type", tx.type},         {"raw", to_hex(tx.encode())}};
  auto modules = all_modules();
  for (Module* m : module_pointers(modules))
    for (const auto& t : m->tx_types())
      if (t.type == tx.type) {
        j["type_name"] = t.name;
        j["payload"] = m->payload_json(tx.type, tx.payload);
      }
  return j;
}

}  // namespace

int submit_and_print(const std::string& node_url, const std::string& key_path, bool wait,
                     uint16_t type, Bytes payload) {
  auto key = read_key_file(key_path);
  if (!key) return fail(key.status());
  ApiClient client(node_url);
  const SigningOptions& opts = signing_options();
  auto tx = client.sign(*key, type, std::move(payload), opts.nonce, opts.chain_id);
  if (!tx) return fail(tx.status());
  if (opts.sign_only) {
    print_json(signed_tx_json(*tx));
    return 0;
  }
  auto r = client.send({tx->encode()}, wait);
  if (r && wait && r->value("status", "") != "committed")
    r = error(Code::kTimeout, "transaction " + tx->id().hex() + " not committed in time");
  if (!r) return fail(r.status());
  print_json(*r);
  if (r->contains("receipt") && !(*r)["receipt"]["ok"].get<bool>()) return 1;
  return 0;
}

SignerRule governed_validators(const PublicKey& genesis_validator) {
  return [genesis_validator](const StateReader& parent, const PublicKey& key) {
    const std::vector<PublicKey> set = governance::validators(parent);
    if (set.empty()) return key == genesis_validator;  // a chain without governance
    return std::find(set.begin(), set.end(), key) != set.end();
  };
}

}  // namespace gridpact::cli
