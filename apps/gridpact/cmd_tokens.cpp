// gridpact tx token-transfer|redeem|fund-pool|spend-tokens and gridpact query
// tokens|token-pool|token-mix: the green tokens (src/modules/tokens, docs/tokens.md).
// Token amounts are micro-tokens (1 token = 1,000,000), currency amounts micro-units.
#include <functional>

#include "app.hpp"
#include "client.hpp"
#include "modules/tokens/tokens.hpp"

namespace gridpact::cli {
namespace {

struct TokenTxArgs {
  std::string node = "http://127.0.0.1:8080";
  std::string key;
  std::string to;
  std::string order;
  uint64_t amount = 0;
  std::string memo;
  bool no_wait = false;
};

CLI::App* token_tx(CLI::App& tx, const std::string& name, const std::string& help,
                   std::shared_ptr<TokenTxArgs> a, const std::string& amount_help,
                   std::function<Result<Bytes>(const TokenTxArgs&)> payload, uint16_t type) {
  auto* cmd = tx.add_subcommand(name, help);
  cmd->add_option("--node", a->node, "Node API URL");
  cmd->add_option("--key", a->key, "Key file of the signer")->required();
  cmd->add_option("--amount", a->amount, amount_help)->required();
  cmd->add_flag("--no-wait", a->no_wait, "Return once accepted, without waiting for the commit");
  cmd->callback([a, payload, type] {
    auto p = payload(*a);
    if (!p) finish(fail(p.status()));
    finish(submit_and_print(a->node, a->key, !a->no_wait, type, std::move(*p)));
  });
  return cmd;
}

}  // namespace

void add_tokens_commands(CLI::App& app) {
  tokens::register_tokens_codes();  // names of codes in the node's answers
  auto* tx = app.get_subcommand("tx");
  auto t = std::make_shared<TokenTxArgs>();
  auto* transfer = token_tx(
      *tx, "token-transfer", "Send green tokens to another account", t, "Micro-tokens",
      [](const TokenTxArgs& a) -> Result<Bytes> {
        auto to = PublicKey::from_hex(a.to);
        if (!to) return error(Code::kInvalidArgument, "--to must be 64 hex digits");
        return tokens::encode(tokens::TransferPayload{*to, a.amount, a.memo});
      },
      tokens::kTransfer);
  transfer->add_option("--to", t->to, "Recipient account (public key hex)")->required();
  transfer->add_option("--memo", t->memo, "A note (at most 128 bytes)");

  auto r = std::make_shared<TokenTxArgs>();
  token_tx(
      *tx, "redeem", "Redeem green tokens for currency from the pool (at tokens.redeem_rate)", r,
      "Micro-tokens to redeem",
      [](const TokenTxArgs& a) -> Result<Bytes> {
        return tokens::encode(tokens::RedeemPayload{a.amount});
      },
      tokens::kRedeem);

  auto f = std::make_shared<TokenTxArgs>();
  token_tx(
      *tx, "fund-pool", "Fund the token redemption pool with currency", f, "Currency micro-units",
      [](const TokenTxArgs& a) -> Result<Bytes> {
        return tokens::encode(tokens::FundPoolPayload{a.amount});
      },
      tokens::kFundPool);

  auto s = std::make_shared<TokenTxArgs>();
  auto* spend = token_tx(
      *tx, "spend-tokens",
      "Commit green tokens to one of your open bids: at settlement they pay part of its cost", s,
      "Micro-tokens to commit",
      [](const TokenTxArgs& a) -> Result<Bytes> {
        auto order = Hash32::from_hex(a.order);
        if (!order) return error(Code::kInvalidArgument, "--order must be 64 hex digits");
        return tokens::encode(tokens::SpendOnBidPayload{*order, a.amount});
      },
      tokens::kSpendOnBid);
  spend->add_option("--order", s->order, "Your bid's order id (its tx id)")->required();

  auto* q = app.get_subcommand("query");
  auto get = [q](const std::string& path) -> json {
    ApiClient client(q->get_option("--node")->as<std::string>());
    auto answer = client.get(path);
    if (!answer) finish(fail(answer.status()));
    return *answer;
  };
  auto account = std::make_shared<std::string>();
  auto* tq = q->add_subcommand("tokens", "An account's green tokens: balance and mint history");
  tq->add_option("account", *account, "Account (public key hex)")->required();
  tq->callback([get, account] {
    json out = get("/v1/tokens/balance/" + *account);
    json h = get("/v1/tokens/history/" + *account);
    for (const char* k : {"by_source", "by_period", "entries", "truncated"}) out[k] = h[k];
    print_json(out);
  });
  q->add_subcommand("token-pool", "The token redemption pool: balance and totals")->callback([get] {
    print_json(get("/v1/tokens/pool"));
  });
  auto mg = std::make_shared<std::string>();
  auto who = std::make_shared<std::string>();
  auto* mix = q->add_subcommand(
      "token-mix", "A microgrid's renewable mix and the factors each source earns there");
  mix->add_option("microgrid", *mg, "Microgrid name")->required();
  mix->add_option("--account", *who, "Also this account's owner factor and rates");
  mix->callback([get, mg, who] {
    std::string path = "/v1/tokens/microgrid/" + *mg;
    if (!who->empty()) path += "?account=" + *who;
    print_json(get(path));
  });
}

}  // namespace gridpact::cli
