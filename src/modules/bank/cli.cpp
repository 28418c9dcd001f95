#include "modules/bank/cli.hpp"

#include "modules/bank/bank.hpp"

namespace gridpact::bank {
namespace {

struct Args {
  std::string to;
  uint64_t amount = 0;
  std::string memo;
};

Result<PublicKey> parse_account(const std::string& hex) {
  auto k = PublicKey::from_hex(hex);
  if (!k) return error(Code::kInvalidArgument, "account '" + hex + "' is not 64 hex digits");
  return *k;
}

}  // namespace

void add_commands(cli::CommandHost& host) {
  auto t = std::make_shared<Args>();
  auto& transfer =
      host.tx("transfer", "Transfer currency (micro-units)", [t]() -> Result<cli::Payload> {
        auto to = parse_account(t->to);
        if (!to) return to.status();
        return cli::Payload{kTransfer, encode(TransferPayload{*to, t->amount, t->memo})};
      });
  transfer.add_option("--to", t->to, "Recipient account (public key hex)")->required();
  transfer.add_option("--amount", t->amount, "Amount in micro-units")->required();
  transfer.add_option("--memo", t->memo, "A note kept with the transfer (<= 128 bytes)");

  auto m = std::make_shared<Args>();
  auto& mint = host.tx("mint", "Mint currency (issuer only)", [m]() -> Result<cli::Payload> {
    auto to = parse_account(m->to);
    if (!to) return to.status();
    return cli::Payload{kMint, encode(MintPayload{*to, m->amount})};
  });
  mint.add_option("--to", m->to, "Recipient account")->required();
  mint.add_option("--amount", m->amount, "Amount in micro-units")->required();

  auto b = std::make_shared<Args>();
  auto& burn = host.tx("burn", "Burn currency from the issuer's balance (issuer only)",
                       [b]() -> Result<cli::Payload> {
                         return cli::Payload{kBurn, encode(BurnPayload{b->amount})};
                       });
  burn.add_option("--amount", b->amount, "Amount in micro-units")->required();
}

}  // namespace gridpact::bank
