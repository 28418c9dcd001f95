#include <filesystem>
#include <iostream>

#include "api/server.hpp"
#include "api/views.hpp"
#include "app.hpp"
#include "client.hpp"
#include "modules/bank/bank.hpp"

namespace gridpact::cli {
namespace {

struct DemoArgs {
  std::string data;
  bool keep = false;
};

// Starts a development node in a fresh directory, drives it through its HTTP API like any
// client would, and checks one receipt offline.
int run_demo(const DemoArgs& a) {
  std::string path =
      a.data.empty() ? (std::filesystem::temp_directory_path() /
                        ("gridpact-demo-" + KeyPair::generate().public_key().hex().substr(0, 8)))
                           .string()
                     : a.data;
  if (std::filesystem::exists(path + "/db"))
    return fail(
        error(Code::kInvalidArgument, path + " already holds a chain; the demo wants a fresh one"));
  DataDir dir{path};
  if (Status s = ensure_development_chain(dir, "gridpact-demo"); !s) return fail(s);
  auto genesis = Genesis::load(dir.genesis_path()).value();
  auto validator = read_key_file(dir.key_path("validator")).value();
  auto issuer = read_key_file(dir.key_path("issuer")).value();
  auto alice = read_key_file(dir.key_path("alice")).value();
  auto bob = KeyPair::generate();
  auto carol = KeyPair::generate();

  auto node = Node::open({path, genesis, validator, {}, true}, all_modules());
  if (!node) return fail(node.status());
  (*node)->start();
  api::Server server(**node, {});
  if (Status s = server.start(); !s) return fail(s);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  std::cout << "GridPact demo: development node on " << url << ", data in " << path << "\n"
            << "  validator " << validator.public_key().hex() << "\n"
            << "  alice     " << alice.public_key().hex() << " (1000 units in genesis)\n"
            << "  bob       " << bob.public_key().hex() << "\n"
            << "  carol     " << carol.public_key().hex() << "\n\n";

  ApiClient client(url);
  int rc = 0;
  std::string proven_tx;
  auto step = [&](const std::string& what, const KeyPair& key, uint16_t type, Bytes payload,
                  bool expect_ok) {
    auto r = client.submit(key, type, std::move(payload));
    if (!r) {
      std::cout << "FAILED " << what << ": " << r.status().to_string() << "\n";
      rc = 1;
      return;
    }
    const json& receipt = (*r)["receipt"];
    std::cout << what << "\n  tx " << (*r)["tx_id"].get<std::string>() << " in block "
              << receipt["height"] << ": " << receipt["code_name"].get<std::string>()
              << (receipt["message"].get<std::string>().empty()
                      ? ""
                      : " (" + receipt["message"].get<std::string>() + ")")
              << "\n";
    if (receipt["ok"].get<bool>() != expect_ok) rc = 1;
    if (proven_tx.empty() && expect_ok) proven_tx = (*r)["tx_id"];
  };
  step("alice pays bob 250 units", alice, bank::kTransfer,
       bank::encode(bank::TransferPayload{bob.public_key(), 250'000'000, "energy, March"}), true);
  step("the issuer mints 40 units for carol (fiat deposit)", issuer, bank::kMint,
       bank::encode(bank::MintPayload{carol.public_key(), 40'000'000}), true);
  step("carol pays bob 15 units", carol, bank::kTransfer,
       bank::encode(bank::TransferPayload{bob.public_key(), 15'000'000, ""}), true);
  step("bob tries to pay carol 10000 units (overdraft: refused, nothing moves)", bob,
       bank::kTransfer, bank::encode(bank::TransferPayload{carol.public_key(), 10'000'000'000, ""}),
       false);
  step("carol tries to mint (only the issuer may)", carol, bank::kMint,
       bank::encode(bank::MintPayload{carol.public_key(), 1}), false);

  std::cout << "\nBalances (micro-units):\n";
  for (auto& [name, key] :
       {std::pair{"alice", &alice}, std::pair{"bob", &bob}, std::pair{"carol", &carol}}) {
    auto acct = client.get("/v1/accounts/" + key->public_key().hex());
    std::cout << "  " << name << " " << (acct ? (*acct)["modules"]["bank"]["balance"].dump() : "?")
              << "\n";
  }

  auto t = client.get("/v1/tx/" + proven_tx);
  if (!t) return fail(t.status());
  std::cout << "\nReceipt of the first transfer, as served by the node:\n";
  print_json((*t)["receipt"]);
  auto bundle = api::parse_bundle((*t)["bundle"]);
  auto verified =
      bundle ? verify_bundle(*bundle, genesis.validator) : Result<VerifiedReceipt>(bundle.status());
  if (verified) {
    std::cout << "Verified offline: transaction " << proven_tx.substr(0, 16) << "... is in block "
              << verified->header.height << " signed by the validator, with outcome "
              << code_name(static_cast<Code>(verified->receipt.code)) << ".\n";
  } else {
    std::cout << "Offline verification FAILED: " << verified.status().to_string() << "\n";
    rc = 1;
  }
  server.stop();
  (*node)->stop();
  node.value().reset();
  if (!a.keep && a.data.empty()) std::filesystem::remove_all(path);
  std::cout << (rc == 0 ? "\nDemo finished: every step behaved as expected.\n"
                        : "\nDemo FAILED.\n");
  return rc;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo", "Start a development node, submit signed transfers over HTTP, verify a receipt");
  cmd->add_option("--data", a->data, "Data directory (default: a fresh temporary one)");
  cmd->add_flag("--keep", a->keep, "Keep the temporary data directory");
  cmd->callback([a] { finish(run_demo(*a)); });
}

}  // namespace gridpact::cli
