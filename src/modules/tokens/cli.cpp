#include "modules/tokens/cli.hpp"

#include "modules/tokens/tokens.hpp"

namespace gridpact::tokens {
namespace {

struct Args {
  std::string to;
  std::string order;
  uint64_t amount = 0;
  std::string memo;
};

// A transaction command whose payload `make` builds from `Args`, with its --amount.
CLI::App& token_tx(cli::CommandHost& host, const std::string& name, const std::string& help,
                   const std::string& amount_help,
                   std::function<Result<cli::Payload>(const Args&)> make,
                   std::shared_ptr<Args> a = std::make_shared<Args>()) {
  auto& cmd = host.tx(name, help, [a, make]() { return make(*a); });
  cmd.add_option("--amount", a->amount, amount_help)->required();
  return cmd;
}

}  // namespace

void add_commands(cli::CommandHost& host) {
  register_tokens_codes();  // names of codes in the node's answers
  auto t = std::make_shared<Args>();
  auto& transfer = token_tx(
      host, "token-transfer", "Send green tokens to another account", "Micro-tokens",
      [](const Args& a) -> Result<cli::Payload> {
        auto to = PublicKey::from_hex(a.to);
        if (!to) return error(Code::kInvalidArgument, "--to must be 64 hex digits");
        return cli::Payload{kTransfer, encode(TransferPayload{*to, a.amount, a.memo})};
      },
      t);
  transfer.add_option("--to", t->to, "Recipient account (public key hex)")->required();
  transfer.add_option("--memo", t->memo, "A note (at most 128 bytes)");

  token_tx(host, "redeem", "Redeem green tokens for currency from the pool (at tokens.redeem_rate)",
           "Micro-tokens to redeem", [](const Args& a) -> Result<cli::Payload> {
             return cli::Payload{kRedeem, encode(RedeemPayload{a.amount})};
           });
  token_tx(host, "fund-pool", "Fund the token redemption pool with currency",
           "Currency micro-units", [](const Args& a) -> Result<cli::Payload> {
             return cli::Payload{kFundPool, encode(FundPoolPayload{a.amount})};
           });

  auto s = std::make_shared<Args>();
  auto& spend = token_tx(
      host, "spend-tokens",
      "Commit green tokens to one of your open bids: at settlement they pay part of its cost",
      "Micro-tokens to commit",
      [](const Args& a) -> Result<cli::Payload> {
        auto order = Hash32::from_hex(a.order);
        if (!order) return error(Code::kInvalidArgument, "--order must be 64 hex digits");
        return cli::Payload{kSpendOnBid, encode(SpendOnBidPayload{*order, a.amount})};
      },
      s);
  spend.add_option("--order", s->order, "Your bid's order id (its tx id)")->required();

  auto account = std::make_shared<std::string>();
  auto& tokens =
      host.query("tokens", "An account's green tokens: balance and mint history",
                 [account](const cli::Get& get) -> Result<nlohmann::json> {
                   auto balance = get("/v1/tokens/balance/" + *account);
                   if (!balance) return balance.status();
                   auto history = get("/v1/tokens/history/" + *account);
                   if (!history) return history.status();
                   nlohmann::json out = *balance, h = *history;
                   for (const char* k : {"by_source", "by_period", "entries", "truncated"})
                     out[k] = h[k];
                   return out;
                 });
  tokens.add_option("account", *account, "Account (public key hex)")->required();
  host.query("token-pool", "The token redemption pool: balance and totals",
             []() -> Result<std::string> { return std::string("/v1/tokens/pool"); });
  auto mg = std::make_shared<std::string>();
  auto who = std::make_shared<std::string>();
  auto& mix =
      host.query("token-mix", "A microgrid's renewable mix and the factors each source earns there",
                 [mg, who]() -> Result<std::string> {
                   std::string path = "/v1/tokens/microgrid/" + *mg;
                   if (!who->empty()) path += "?account=" + *who;
                   return path;
                 });
  mix.add_option("microgrid", *mg, "Microgrid name")->required();
  mix.add_option("--account", *who, "Also this account's owner factor and rates");
}

}  // namespace gridpact::tokens
