#include "app.hpp"
#include "client.hpp"
#include "modules/bank/bank.hpp"

namespace gridpact::cli {
namespace {

struct TxArgs {
  std::string node = "http://127.0.0.1:8080";
  std::string key;
  std::string to;
  uint64_t amount = 0;
  std::string memo;
  bool no_wait = false;
};

Result<PublicKey> parse_account(const std::string& hex) {
  auto k = PublicKey::from_hex(hex);
  if (!k) return error(Code::kInvalidArgument, "account '" + hex + "' is not 64 hex digits");
  return *k;
}

// Signs and submits; prints the node's answer (with the receipt once committed). A
// transaction committed with a failed receipt exits 1.
int send(const TxArgs& a, uint16_t type, Bytes payload) {
  return submit_and_print(a.node, a.key, !a.no_wait, type, std::move(payload));
}

CLI::App* tx_command(CLI::App& parent, const std::string& name, const std::string& help,
                     std::shared_ptr<TxArgs> a) {
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("--node", a->node, "Node API URL");
  cmd->add_option("--key", a->key, "Key file of the signer")->required();
  cmd->add_flag("--no-wait", a->no_wait, "Return once accepted, without waiting for the commit");
  return cmd;
}

}  // namespace

void add_tx_commands(CLI::App& app) {
  auto* tx = app.add_subcommand("tx", "Sign and submit a transaction");
  tx->require_subcommand(1);

  auto t = std::make_shared<TxArgs>();
  auto* transfer = tx_command(*tx, "transfer", "Transfer currency (micro-units)", t);
  transfer->add_option("--to", t->to, "Recipient account (public key hex)")->required();
  transfer->add_option("--amount", t->amount, "Amount in micro-units")->required();
  transfer->add_option("--memo", t->memo, "A note kept with the transfer (<= 128 bytes)");
  transfer->callback([t] {
    auto to = parse_account(t->to);
    if (!to) finish(fail(to.status()));
    finish(send(*t, bank::kTransfer, bank::encode(bank::TransferPayload{*to, t->amount, t->memo})));
  });

  auto m = std::make_shared<TxArgs>();
  auto* mint = tx_command(*tx, "mint", "Mint currency (issuer only)", m);
  mint->add_option("--to", m->to, "Recipient account")->required();
  mint->add_option("--amount", m->amount, "Amount in micro-units")->required();
  mint->callback([m] {
    auto to = parse_account(m->to);
    if (!to) finish(fail(to.status()));
    finish(send(*m, bank::kMint, bank::encode(bank::MintPayload{*to, m->amount})));
  });

  auto b = std::make_shared<TxArgs>();
  auto* burn = tx_command(*tx, "burn", "Burn currency from the issuer's balance (issuer only)", b);
  burn->add_option("--amount", b->amount, "Amount in micro-units")->required();
  burn->callback(
      [b] { finish(send(*b, bank::kBurn, bank::encode(bank::BurnPayload{b->amount}))); });

  add_submit_file_command(*tx);
}

}  // namespace gridpact::cli
