#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/views.hpp"
#include "app.hpp"
#include "node/verify.hpp"

namespace gridpact::cli {
namespace {

Result<std::string> read_all(const std::string& path) {
  std::stringstream s;
  if (path == "-") {
    s << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return error(Code::kNotFound, "cannot read " + path);
    s << in.rdbuf();
  }
  return s.str();
}

struct ReceiptArgs {
  std::string bundle;
  std::string proposer;
  std::string genesis;
};

int verify_receipt(const ReceiptArgs& a) {
  auto text = read_all(a.bundle);
  if (!text) return fail(text.status());
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(error(Code::kMalformedJson, a.bundle + " is not JSON"));
  if (j.contains("bundle")) j = j["bundle"];  // accept the whole `query tx` answer
  auto bundle = api::parse_bundle(j);
  if (!bundle) return fail(bundle.status());
  PublicKey proposer;
  if (!a.proposer.empty()) {
    auto k = PublicKey::from_hex(a.proposer);
    if (!k) return fail(error(Code::kInvalidArgument, "--proposer must be 64 hex digits"));
    proposer = *k;
  } else if (!a.genesis.empty()) {
    auto g = Genesis::load(a.genesis);
    if (!g) return fail(g.status());
    proposer = g->validator;
  } else {
    return fail(error(Code::kInvalidArgument, "give --proposer or --genesis"));
  }
  auto v = verify_bundle(*bundle, proposer);
  if (!v) return fail(v.status());
  print_json({{"verified", true},
              {"tx_id", v->tx.id().hex()},
              {"sender", v->tx.sender.hex()},
              {"height", v->header.height},
              {"block_hash", v->header.hash().hex()},
              {"code", v->receipt.code},
              {"code_name", code_name(static_cast<Code>(v->receipt.code))}});
  return 0;
}

struct ChainArgs {
  std::string data;
  std::string genesis;
};

int verify_chain_command(const ChainArgs& a) {
  DataDir dir{a.data};
  auto genesis = Genesis::load(a.genesis.empty() ? dir.genesis_path() : a.genesis);
  if (!genesis) return fail(genesis.status());
  // Read-only: works beside a running node.
  auto store = Store::open(a.data + "/db", {.read_only = true});
  if (!store) return fail(store.status());
  auto modules = all_modules();
  std::string scratch =
      (std::filesystem::temp_directory_path() /
       ("gridpact-verify-" + KeyPair::generate().public_key().hex().substr(0, 12)))
          .string();
  auto report = verify_chain(*store.value(), *genesis, module_pointers(modules), scratch,
                             governed_validators(genesis->validator));
  std::filesystem::remove_all(scratch);
  if (!report) return fail(report.status());
  print_json({{"verified", true},
              {"blocks", report->blocks},
              {"transactions", report->txs},
              {"state_root", report->state_root.hex()}});
  return 0;
}

}  // namespace

void add_verify_commands(CLI::App& app) {
  auto r = std::make_shared<ReceiptArgs>();
  auto* vr = app.add_subcommand(
      "verify-receipt", "Check a receipt bundle offline against a block header and proposer key");
  vr->add_option("--bundle", r->bundle, "Bundle JSON file (or - for stdin), e.g. from `query tx`")
      ->required();
  vr->add_option("--proposer", r->proposer, "Proposer (validator) public key hex");
  vr->add_option("--genesis", r->genesis, "Take the proposer key from this genesis document");
  vr->callback([r] { finish(verify_receipt(*r)); });

  auto c = std::make_shared<ChainArgs>();
  auto* vc = app.add_subcommand(
      "verify-chain", "Re-execute a data directory's chain from genesis and compare every root");
  vc->add_option("--data", c->data, "Data directory")->required();
  vc->add_option("--genesis", c->genesis, "Genesis document (default: DATA/genesis.toml)");
  vc->callback([c] { finish(verify_chain_command(*c)); });
}

}  // namespace gridpact::cli
