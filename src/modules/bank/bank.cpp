#include "modules/bank/bank.hpp"

#include <array>

#include "codec/codec.hpp"

namespace gridpact::bank {
namespace {

constexpr std::string_view kIssuerKey = "bank/issuer";
constexpr std::string_view kSupplyKey = "bank/supply";

std::string balance_key(const PublicKey& a) {
  return account_key("bank/bal/", a);
}
std::string locked_key(const PublicKey& a) {
  return account_key("bank/locked/", a);
}
std::string escrow_key(std::string_view id) {
  return "bank/esc/" + std::string(id);
}

void put_u64(StateOverlay& s, const std::string& key, uint64_t v) {
  if (v == 0)
    s.erase(key);  // zero balances take no space in the state
  else
    s.put(key, encode_u64(v));
}

Status add_to(StateOverlay& s, const std::string& key, uint64_t amount) {
  auto v = checked_add(get_u64(s, key), amount);
  if (!v) return error(Code::kOverflow, "amount overflows");
  put_u64(s, key, *v);
  return ok();
}

Status take_from(StateOverlay& s, const std::string& key, uint64_t amount) {
  uint64_t have = get_u64(s, key);
  auto v = checked_sub(have, amount);
  if (!v)
    return error(Code::kInsufficientFunds,
                 "needs " + std::to_string(amount) + ", has " + std::to_string(have));
  put_u64(s, key, *v);
  return ok();
}

std::optional<PublicKey> parse_key(const json& j) {
  if (!j.is_string()) return std::nullopt;
  return PublicKey::from_hex(j.get<std::string>());
}

}  // namespace

Bytes encode(const TransferPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const MintPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const BurnPayload& p) {
  return codec::encode_fields(p);
}
Result<TransferPayload> decode_transfer(const Bytes& b) {
  return codec::decode_fields<TransferPayload>(b);
}
Result<MintPayload> decode_mint(const Bytes& b) {
  return codec::decode_fields<MintPayload>(b);
}
Result<BurnPayload> decode_burn(const Bytes& b) {
  return codec::decode_fields<BurnPayload>(b);
}

uint64_t balance(const StateReader& s, const PublicKey& a) {
  return get_u64(s, balance_key(a));
}
uint64_t locked(const StateReader& s, const PublicKey& a) {
  return get_u64(s, locked_key(a));
}
uint64_t supply(const StateReader& s) {
  return get_u64(s, kSupplyKey);
}

uint64_t holdings(const StateReader& s) {
  uint64_t sum = 0;
  s.scan("bank/bal/", [&](std::string_view, std::string_view v) {
    sum += decode_u64(v).value_or(0);
    return true;
  });
  s.scan("bank/esc/", [&](std::string_view, std::string_view v) {
    if (v.size() == 40) sum += decode_u64(v.substr(32)).value_or(0);
    return true;
  });
  return sum;
}

std::optional<PublicKey> issuer(const StateReader& s) {
  auto v = s.get(kIssuerKey);
  if (!v || v->size() != 32) return std::nullopt;
  return PublicKey::from_span(reinterpret_cast<const uint8_t*>(v->data()));
}

std::optional<Escrow> escrow(const StateReader& s, std::string_view id) {
  auto v = s.get(escrow_key(id));
  if (!v || v->size() != 40) return std::nullopt;
  return Escrow{PublicKey::from_span(reinterpret_cast<const uint8_t*>(v->data())),
                decode_u64(std::string_view(*v).substr(32)).value()};
}

Status transfer(StateOverlay& s, const PublicKey& from, const PublicKey& to, uint64_t amount) {
  if (amount == 0) return error(Code::kZeroAmount, "amount must be positive");
  if (from == to) return error(Code::kSelfTransfer, "transfer to self");
  // Each balance is read once, and both are checked before either is written, so a
  // failure changes nothing.
  std::string from_key = balance_key(from), to_key = balance_key(to);
  uint64_t have = get_u64(s, from_key);
  if (have < amount)
    return error(Code::kInsufficientFunds,
                 "needs " + std::to_string(amount) + ", has " + std::to_string(have));
  auto credited = checked_add(get_u64(s, to_key), amount);
  if (!credited) return error(Code::kOverflow, "balance overflows");
  put_u64(s, from_key, have - amount);
  put_u64(s, to_key, *credited);
  return ok();
}

Status pay_many(StateOverlay& s, const PublicKey& from, std::span<const Payout> payouts) {
  uint64_t total = 0;
  for (size_t i = 0; i < payouts.size(); ++i) {
    if (payouts[i].amount == 0) return error(Code::kZeroAmount, "amount must be positive");
    if (payouts[i].to == from) return error(Code::kSelfTransfer, "transfer to self");
    for (size_t j = 0; j < i; ++j)
      if (payouts[j].to == payouts[i].to)
        return error(Code::kInvalidArgument, "a recipient is listed twice");
    auto t = checked_add(total, payouts[i].amount);
    if (!t) return error(Code::kOverflow, "amount overflows");
    total = *t;
  }
  if (payouts.empty()) return ok();
  std::string from_key = balance_key(from);
  uint64_t have = get_u64(s, from_key);
  if (have < total)
    return error(Code::kInsufficientFunds,
                 "needs " + std::to_string(total) + ", has " + std::to_string(have));
  // Read every recipient before writing any, so a failure changes nothing.
  std::array<uint64_t, 16> after_small{};
  std::vector<uint64_t> after_large;
  uint64_t* after = after_small.data();
  if (payouts.size() > after_small.size()) {
    after_large.resize(payouts.size());
    after = after_large.data();
  }
  for (size_t i = 0; i < payouts.size(); ++i) {
    auto v = checked_add(get_u64(s, balance_key(payouts[i].to)), payouts[i].amount);
    if (!v) return error(Code::kOverflow, "balance overflows");
    after[i] = *v;
  }
  put_u64(s, from_key, have - total);
  for (size_t i = 0; i < payouts.size(); ++i) put_u64(s, balance_key(payouts[i].to), after[i]);
  return ok();
}

Status lock(StateOverlay& s, const PublicKey& owner, std::string_view id, uint64_t amount) {
  if (amount == 0) return error(Code::kZeroAmount, "escrow amount must be positive");
  if (id.empty() || id.size() > kMaxEscrowId) return error(Code::kInvalidArgument, "bad escrow id");
  if (s.get(escrow_key(id))) return error(Code::kEscrowExists, "escrow exists");
  if (balance(s, owner) < amount)
    return error(Code::kInsufficientFunds, "escrow needs " + std::to_string(amount) + ", has " +
                                               std::to_string(balance(s, owner)));
  if (!checked_add(locked(s, owner), amount)) return error(Code::kOverflow, "locked overflows");
  (void)take_from(s, balance_key(owner), amount);
  (void)add_to(s, locked_key(owner), amount);
  std::string v(owner.view());
  v += encode_u64(amount);
  s.put(escrow_key(id), std::move(v));
  return ok();
}

namespace {

// Pays `amount` of escrow `e` (read from `id`) to `to`.
Status pay_out(StateOverlay& s, std::string_view id, const Escrow& e, const PublicKey& to,
               uint64_t amount) {
  if (amount > e.amount)
    return error(Code::kInsufficientFunds, "escrow holds " + std::to_string(e.amount));
  const std::string to_key = balance_key(to);
  if (!checked_add(get_u64(s, to_key), amount)) return error(Code::kOverflow, "balance overflows");
  (void)take_from(s, locked_key(e.owner), amount);
  (void)add_to(s, to_key, amount);
  if (e.amount == amount) {
    s.erase(escrow_key(id));
  } else {
    std::string v(e.owner.view());
    v += encode_u64(e.amount - amount);
    s.put(escrow_key(id), std::move(v));
  }
  return ok();
}

}  // namespace

Status release(StateOverlay& s, std::string_view id, const PublicKey& to, uint64_t amount) {
  auto e = escrow(s, id);
  if (!e) return error(Code::kEscrowNotFound, "no escrow " + std::string(id));
  return pay_out(s, id, *e, to, amount);
}

Status refund(StateOverlay& s, std::string_view id) {
  auto e = escrow(s, id);
  if (!e) return error(Code::kEscrowNotFound, "no escrow " + std::string(id));
  return pay_out(s, id, *e, e->owner, e->amount);
}

namespace {

Status positive(const Transaction&, const MintPayload& p) {
  return p.amount == 0 ? error(Code::kZeroAmount, "amount must be positive") : ok();
}
Status positive_burn(const Transaction&, const BurnPayload& p) {
  return p.amount == 0 ? error(Code::kZeroAmount, "amount must be positive") : ok();
}
Status check_transfer(const Transaction& tx, const TransferPayload& p) {
  if (p.amount == 0) return error(Code::kZeroAmount, "amount must be positive");
  if (p.to == tx.sender) return error(Code::kSelfTransfer, "transfer to self");
  return ok();
}

}  // namespace

BankModule::BankModule() {
  message(kTransfer, "bank/transfer", &BankModule::on_transfer, {.check = check_transfer});
  message(kMint, "bank/mint", &BankModule::on_mint, {.check = positive});
  message(kBurn, "bank/burn", &BankModule::on_burn, {.check = positive_burn});
  event<TransferEvent>();
  event<MintEvent>();
  event<BurnEvent>();
  declare_routes();
}

std::string BankModule::default_genesis(const DevelopmentAccounts& accounts) const {
  std::string s = "[bank]\nissuer = \"" + accounts.issuer.hex() + "\"\n";
  if (!accounts.balances.empty()) {
    s += "\n[bank.balances]\n";
    for (const auto& [k, v] : accounts.balances)
      s += "\"" + k.hex() + "\" = " + std::to_string(v) + "\n";
  }
  return s;
}

std::vector<state::SchemaEntry> BankModule::schema() const {
  return {{std::string(kIssuerKey), "", "issuer public key"},
          {std::string(kSupplyKey), "", "u64"},
          {"bank/bal/", "<pk>", "u64 balance"},
          {"bank/locked/", "<pk>", "u64 sum of the account's open escrows"},
          {"bank/esc/", "<id>", "owner pk (32) || u64 amount"}};
}

Status BankModule::init_genesis(StateOverlay& s, const json& section) {
  auto iss = section.contains("issuer") ? parse_key(section["issuer"]) : std::nullopt;
  if (!iss) return error(Code::kBadGenesis, "bank.issuer must be a 64-hex-digit public key");
  s.put(kIssuerKey, std::string(iss->view()));
  uint64_t total = 0;
  if (section.contains("balances")) {
    if (!section["balances"].is_object())
      return error(Code::kBadGenesis, "bank.balances must be a table of key = amount");
    for (const auto& [hex, amount] : section["balances"].items()) {
      auto who = PublicKey::from_hex(hex);
      if (!who || !amount.is_number_integer() || amount.get<int64_t>() <= 0)
        return error(Code::kBadGenesis, "bad genesis balance for " + hex);
      auto a = amount.get<uint64_t>();
      auto t = checked_add(total, a);
      if (!t) return error(Code::kBadGenesis, "genesis supply overflows");
      total = *t;
      if (Status st = add_to(s, balance_key(*who), a); !st) return st;
    }
  }
  put_u64(s, std::string(kSupplyKey), total);
  return ok();
}

Status BankModule::on_transfer(TxContext& ctx, const TransferPayload& p) {
  if (Status s = transfer(ctx.state, ctx.tx.sender, p.to, p.amount); !s) return s;
  ctx.events.push_back(make_event(TransferEvent{ctx.tx.sender, p.to, p.amount}));
  return ok();
}

Status BankModule::on_mint(TxContext& ctx, const MintPayload& p) {
  if (issuer(ctx.state) != ctx.tx.sender) return error(Code::kNotIssuer, "only the issuer mints");
  auto new_supply = checked_add(supply(ctx.state), p.amount);
  if (!new_supply || !checked_add(balance(ctx.state, p.to), p.amount))
    return error(Code::kOverflow, "mint overflows");
  (void)add_to(ctx.state, balance_key(p.to), p.amount);
  put_u64(ctx.state, std::string(kSupplyKey), *new_supply);
  ctx.events.push_back(make_event(MintEvent{p.to, p.amount}));
  return ok();
}

Status BankModule::on_burn(TxContext& ctx, const BurnPayload& p) {
  if (issuer(ctx.state) != ctx.tx.sender) return error(Code::kNotIssuer, "only the issuer burns");
  if (Status s = take_from(ctx.state, balance_key(ctx.tx.sender), p.amount); !s) return s;
  put_u64(ctx.state, std::string(kSupplyKey), supply(ctx.state) - p.amount);
  ctx.events.push_back(make_event(BurnEvent{p.amount}));
  return ok();
}

std::vector<std::string> BankModule::account_keys(const PublicKey& account) const {
  return {balance_key(account), locked_key(account)};
}

void BankModule::declare_routes() {
  route("/supply", "total supply", {}, [](const StateReader& s, const QueryArgs&) -> Result<json> {
    return json{{"supply", supply(s)}};
  });
  route("/issuer", "the issuer's account", {},
        [](const StateReader& s, const QueryArgs&) -> Result<json> {
          auto i = issuer(s);
          return json{{"issuer", i ? i->hex() : ""}};
        });
  route("/accounts/{account}", "an account's balance and locked amount",
        {{"account", RouteParam::Type::kHex32, "the account"}},
        [](const StateReader& s, const QueryArgs& q) -> Result<json> {
          PublicKey who = PublicKey::from_span(q.hex32("account")->bytes.data());
          return json{
              {"account", who.hex()}, {"balance", balance(s, who)}, {"locked", locked(s, who)}};
        });
}

}  // namespace gridpact::bank
