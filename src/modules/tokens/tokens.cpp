#include "modules/tokens/tokens.hpp"

#include "ledger/parallel.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/tokens/keys.hpp"

namespace gridpact::tokens {

void register_tokens_codes() {
  register_codes(kTokensCodes);
}

Bytes encode(const TransferPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const FundPoolPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const RedeemPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const SpendOnBidPayload& p) {
  return codec::encode_fields(p);
}

// ---- Records ------------------------------------------------------------------------------

void encode_value(codec::Writer& w, const Supply& v) {
  w.u64(v.minted).u64(v.burned);
}
void decode_value(codec::Reader& r, Supply& v) {
  v.minted = r.u64();
  v.burned = r.u64();
}
void encode_value(codec::Writer& w, const PoolTotals& v) {
  w.u64(v.funded).u64(v.redeemed).u64(v.reimbursed).u64(v.drained);
}
void decode_value(codec::Reader& r, PoolTotals& v) {
  v.funded = r.u64();
  v.redeemed = r.u64();
  v.reimbursed = r.u64();
  v.drained = r.u64();
}
void encode_value(codec::Writer& w, const Commitment& v) {
  w.fixed(v.owner).u64(v.amount).u64(v.period);
}
void decode_value(codec::Reader& r, Commitment& v) {
  v.owner = r.fixed<32>();
  v.amount = r.u64();
  v.period = r.u64();
}
namespace {
meters::Source read_source(codec::Reader& r) {
  uint8_t s = r.u8();
  if (s < 1 || s > 4) throw Error(Code::kBadEncoding, "not a renewable source");
  return static_cast<meters::Source>(s);
}
}  // namespace
void encode_value(codec::Writer& w, const MintRecord& v) {
  w.fixed(v.owner).u8(static_cast<uint8_t>(v.source)).str(v.microgrid, meters::kMaxMicrogrid);
  w.boolean(v.is_virtual).u64(v.wh).u64(v.rate).u64(v.amount);
  w.u64(v.owner_factor_ppm).u64(v.scarcity_factor_ppm).u64(v.share_ppm).u64(v.sources);
  w.u64(v.agreement);
}
void decode_value(codec::Reader& r, MintRecord& v) {
  v.owner = r.fixed<32>();
  v.source = read_source(r);
  v.microgrid = r.str(meters::kMaxMicrogrid);
  v.is_virtual = r.boolean();
  for (uint64_t* x : {&v.wh, &v.rate, &v.amount, &v.owner_factor_ppm, &v.scarcity_factor_ppm,
                      &v.share_ppm, &v.sources, &v.agreement})
    *x = r.u64();
}
void encode_value(codec::Writer& w, const SourceMarks& v) {
  for (int i = 1; i <= 4; ++i) w.u64(v.last[i]);
}
void decode_value(codec::Reader& r, SourceMarks& v) {
  for (int i = 1; i <= 4; ++i) v.last[i] = r.u64();
}
void encode_value(codec::Writer& w, const MintShare& v) {
  w.u8(static_cast<uint8_t>(v.source)).boolean(v.is_virtual);
  w.u64(v.wh).u64(v.amount).u64(v.rate).u64(v.agreement);
}
void decode_value(codec::Reader& r, MintShare& v) {
  v.source = read_source(r);
  v.is_virtual = r.boolean();
  for (uint64_t* x : {&v.wh, &v.amount, &v.rate, &v.agreement}) *x = r.u64();
}

// ---- Parameters and the formula -----------------------------------------------------------

namespace {
constexpr const char* kBaseNames[5] = {"", "tokens.base_rate_pv", "tokens.base_rate_wind",
                                       "tokens.base_rate_hydro", "tokens.base_rate_biomass"};
}  // namespace

std::vector<ParamSpec> TokensModule::param_table() const {
  std::vector<ParamSpec> t;
  for (int s = 1; s <= 4; ++s)
    t.push_back(ParamSpec::u64(kBaseNames[s], kMicroPerToken, 0, 1'000'000'000,
                               "micro-tokens per kWh of this source before the factors"));
  t.push_back(ParamSpec::u64("tokens.diversity_step_ppm", 250'000, 0, kPpm,
                             "owner factor added per extra renewable source type the owner "
                             "exported in the window"));
  t.push_back(ParamSpec::u64("tokens.scarcity_target_ppm", 250'000, 1, kPpm,
                             "a source below this share of its microgrid's renewable export "
                             "earns the scarcity bonus"));
  t.push_back(ParamSpec::u64("tokens.scarcity_bonus_ppm", kPpm, 0, 10 * kPpm,
                             "scarcity factor added for a source with no share at all"));
  t.push_back(ParamSpec::u64("tokens.window_periods", 96, 1, kMaxWindow,
                             "trailing window of the owner and scarcity factors, periods"));
  t.push_back(ParamSpec::u64("tokens.epoch_periods", 96, 1, 1'000'000, "periods per epoch"));
  t.push_back(ParamSpec::u64("tokens.epoch_cap", 1'000'000 * kMicroPerToken, 0,
                             1'000'000'000'000'000'000ull,
                             "micro-tokens minted per epoch at most (pro rata beyond)"));
  t.push_back(ParamSpec::u64("tokens.redeem_rate", 100'000, 0, 1'000'000'000,
                             "currency micro-units paid by the pool per token"));
  t.push_back(ParamSpec::boolean("tokens.allow_virtual", false,
                                 "virtual (INSECURE) meters mint, labelled virtual"));
  return t;
}

Params load_params(const StateReader& s) {
  Params p;
  for (int i = 1; i <= 4; ++i) p.base_rate[i] = read_u64_param(s, kBaseNames[i]);
  p.diversity_step_ppm = read_u64_param(s, "tokens.diversity_step_ppm");
  p.scarcity_target_ppm = read_u64_param(s, "tokens.scarcity_target_ppm");
  p.scarcity_bonus_ppm = read_u64_param(s, "tokens.scarcity_bonus_ppm");
  p.window_periods = read_u64_param(s, "tokens.window_periods");
  p.epoch_periods = read_u64_param(s, "tokens.epoch_periods");
  p.epoch_cap = read_u64_param(s, "tokens.epoch_cap");
  p.redeem_rate = read_u64_param(s, "tokens.redeem_rate");
  p.allow_virtual = read_bool_param(s, "tokens.allow_virtual");
  return p;
}

uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
  __extension__ using u128 = unsigned __int128;
  if (c == 0) return 0;
  u128 v = static_cast<u128>(a) * b / c;
  return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v);
}

uint64_t owner_factor_ppm(const Params& p, uint64_t sources) {
  return kPpm + p.diversity_step_ppm * (sources > 1 ? sources - 1 : 0);
}

uint64_t scarcity_factor_ppm(const Params& p, uint64_t share_ppm) {
  if (share_ppm >= p.scarcity_target_ppm) return kPpm;
  return kPpm +
         mul_div(p.scarcity_bonus_ppm, p.scarcity_target_ppm - share_ppm, p.scarcity_target_ppm);
}

uint64_t rate_per_kwh(const Params& p, meters::Source source, uint64_t owner_ppm,
                      uint64_t scarcity_ppm) {
  auto i = static_cast<size_t>(source);
  if (i < 1 || i > 4) return 0;
  return mul_div(mul_div(p.base_rate[i], owner_ppm, kPpm), scarcity_ppm, kPpm);
}

// ---- Reads --------------------------------------------------------------------------------

PublicKey pool_account() {
  return sha256(std::string_view("GRIDPACT/tokens/pool"));
}
uint64_t balance(const StateReader& s, const PublicKey& account) {
  return keys::kBalances.get(s, account).value_or(0);
}
Supply supply(const StateReader& s) {
  return keys::kSupply.get_or(s, {});
}
PoolTotals pool_totals(const StateReader& s) {
  return keys::kPool.get_or(s, {});
}
uint64_t pool_balance(const StateReader& s) {
  return bank::balance(s, pool_account());
}
uint64_t holdings(const StateReader& s) {
  uint64_t sum = 0;
  keys::kBalances.each(s, SIZE_MAX, [&](const PublicKey&, uint64_t v) {
    sum += v;
    return true;
  });
  keys::kCommits.each(s, SIZE_MAX, [&](const Hash32&, const Commitment& c) {
    sum += c.amount;
    return true;
  });
  return sum;
}
std::optional<Commitment> commitment(const StateReader& s, const Hash32& order) {
  return keys::kCommits.get(s, order);
}
std::optional<MintRecord> mint_record(const StateReader& s, const Hash32& meter, uint64_t period) {
  return keys::kMinted.get(s, {meter, period});
}
std::optional<uint64_t> next_period(const StateReader& s) {
  return keys::kNext.get(s);
}

std::array<uint64_t, 5> microgrid_window(const StateReader& s, const Params& p,
                                         const std::string& microgrid, uint64_t period) {
  std::array<uint64_t, 5> out{};
  uint64_t from = period + 1 >= p.window_periods ? period + 1 - p.window_periods : 0;
  keys::kMix.range(s, {microgrid, from, 0}, keys::MixKey{microgrid, period + 1, 0}, SIZE_MAX,
                   [&](const keys::MixKey& k, uint64_t wh) {
                     auto src = std::get<2>(k);
                     if (src >= 1 && src <= 4) out[src] += wh;
                     return true;
                   });
  return out;
}

uint64_t sources_in_window(const Params& p, const SourceMarks& m, uint64_t period) {
  uint64_t from = period + 1 >= p.window_periods ? period + 1 - p.window_periods : 0;
  uint64_t n = 0;
  for (int i = 1; i <= 4; ++i)
    if (m.last[i] > from && m.last[i] <= period + 1) ++n;  // last[i] - 1 in [from, period]
  return n;
}

uint64_t owner_sources(const StateReader& s, const Params& p, const PublicKey& owner,
                       uint64_t period) {
  return sources_in_window(p, keys::kOwnerSources.get(s, owner).value_or(SourceMarks{}), period);
}

std::vector<PublicKey> touched_in(const StateReader& s, uint64_t height) {
  std::vector<PublicKey> out;
  keys::kLog.each_with(
      s, SIZE_MAX,
      [&](const std::pair<uint64_t, PublicKey>& k, state::Unit) {
        out.push_back(k.second);
        return true;
      },
      height);
  return out;
}
std::vector<uint64_t> minted_in(const StateReader& s, uint64_t height) {
  std::vector<uint64_t> out;
  keys::kMintLog.each_with(
      s, SIZE_MAX,
      [&](const std::pair<uint64_t, uint64_t>& k, state::Unit) {
        out.push_back(k.second);
        return true;
      },
      height);
  return out;
}
std::vector<std::pair<Hash32, MintRecord>> mints_of_period(const StateReader& s, uint64_t period) {
  std::vector<std::pair<Hash32, MintRecord>> out;
  constexpr std::string_view kPrefix = "meters/m/";
  s.scan(kPrefix, [&](std::string_view k, std::string_view) {
    if (k.size() != kPrefix.size() + 32) return true;
    Hash32 id = Hash32::from_span(reinterpret_cast<const uint8_t*>(k.data() + kPrefix.size()));
    if (auto r = keys::kMinted.get(s, {id, period})) out.emplace_back(id, std::move(*r));
    return true;
  });
  return out;
}
void each_mint(const StateReader& s,
               const std::function<bool(const Hash32&, uint64_t, const MintRecord&)>& fn) {
  keys::kMinted.each(s, SIZE_MAX, [&](const keys::MeterPeriod& k, const MintRecord& r) {
    return fn(k.first, k.second, r);
  });
}
void each_balance(const StateReader& s, const std::function<bool(const PublicKey&, uint64_t)>& fn) {
  keys::kBalances.each(s, SIZE_MAX, fn);
}
std::optional<MintShare> mint_share(const StateReader& s, const PublicKey& account, uint64_t period,
                                    const Hash32& meter) {
  return keys::kHistory.get(s, {account, period, meter});
}

// ---- Writes -------------------------------------------------------------------------------

namespace detail {
Status credit(StateOverlay& s, const PublicKey& account, uint64_t amount) {
  auto v = checked_add(balance(s, account), amount);
  if (!v) return error(Code::kOverflow, "token balance overflows");
  keys::kBalances.put(s, account, *v);
  return ok();
}
Status debit(StateOverlay& s, const PublicKey& account, uint64_t amount) {
  uint64_t have = balance(s, account);
  if (have < amount)
    return error(kInsufficientTokens,
                 "needs " + std::to_string(amount) + " micro-tokens, has " + std::to_string(have));
  if (have == amount)
    keys::kBalances.erase(s, account);  // zero balances take no space
  else
    keys::kBalances.put(s, account, have - amount);
  return ok();
}
void put_supply(StateOverlay& s, const Supply& v) {
  keys::kSupply.put(s, v);
}
void put_pool(StateOverlay& s, const PoolTotals& v) {
  keys::kPool.put(s, v);
}
void touched(StateOverlay& s, uint64_t height, const PublicKey& account) {
  keys::kLog.put(s, {height, account}, {});
}
}  // namespace detail

Status drain_pool(StateOverlay& s, const PublicKey& to, uint64_t amount) {
  if (amount == 0) return error(Code::kZeroAmount, "amount must be positive");
  if (pool_balance(s) < amount)
    return error(kPoolInsufficient, "the pool holds " + std::to_string(pool_balance(s)));
  if (Status st = bank::transfer(s, pool_account(), to, amount); !st) return st;
  PoolTotals t = pool_totals(s);
  t.drained += amount;
  detail::put_pool(s, t);
  return ok();
}

// ---- Messages -----------------------------------------------------------------------------

namespace {

Status check_transfer(const Transaction& tx, const TransferPayload& p) {
  if (p.amount == 0) return error(Code::kZeroAmount, "amount must be positive");
  if (p.to == tx.sender) return error(Code::kSelfTransfer, "transfer to self");
  return ok();
}
Status check_fund(const Transaction&, const FundPoolPayload& p) {
  return p.amount == 0 ? error(Code::kZeroAmount, "amount must be positive") : ok();
}
Status check_redeem(const Transaction&, const RedeemPayload& p) {
  return p.amount == 0 ? error(Code::kZeroAmount, "amount must be positive") : ok();
}
Status check_spend(const Transaction&, const SpendOnBidPayload& p) {
  return p.amount == 0 ? error(Code::kZeroAmount, "amount must be positive") : ok();
}

Status check_drain(const StateReader& s, const DrainPoolAction& a) {
  if (a.amount == 0) return error(Code::kZeroAmount, "amount must be positive");
  if (a.to == pool_account()) return error(Code::kSelfTransfer, "drain to the pool itself");
  if (pool_balance(s) < a.amount)
    return error(kPoolInsufficient, "drains " + std::to_string(a.amount) + ", the pool holds " +
                                        std::to_string(pool_balance(s)));
  return ok();
}

}  // namespace

TokensModule::TokensModule(size_t workers) : workers_(workers ? workers : worker_count()) {
  register_tokens_codes();
  message(kTransfer, "tokens/transfer", &TokensModule::on_transfer, {.check = check_transfer});
  message(kFundPool, "tokens/fund_pool", &TokensModule::on_fund_pool, {.check = check_fund});
  message(kRedeem, "tokens/redeem", &TokensModule::on_redeem, {.check = check_redeem});
  message(kSpendOnBid, "tokens/spend_on_bid", &TokensModule::on_spend_on_bid,
          {.check = check_spend});
  governed<DrainPoolAction>("tokens/drain_pool", &TokensModule::apply_drain,
                            {.check = check_drain});
  event<TransferEvent>();
  event<PoolEvent>();
  event<CommitEvent>();
  event<SpentEvent>();
  event<MintedEvent>();
  declare_routes();
}

Status TokensModule::on_transfer(TxContext& ctx, const TransferPayload& p) {
  // The recipient is checked before the sender is debited, so a failure changes nothing.
  if (!checked_add(balance(ctx.state, p.to), p.amount))
    return error(Code::kOverflow, "token balance overflows");
  if (Status s = detail::debit(ctx.state, ctx.tx.sender, p.amount); !s) return s;
  (void)detail::credit(ctx.state, p.to, p.amount);
  detail::touched(ctx.state, ctx.block.height, ctx.tx.sender);
  detail::touched(ctx.state, ctx.block.height, p.to);
  ctx.events.push_back(make_event(TransferEvent{ctx.tx.sender, p.to, p.amount}));
  return ok();
}

Status TokensModule::on_fund_pool(TxContext& ctx, const FundPoolPayload& p) {
  PoolTotals t = pool_totals(ctx.state);
  auto funded = checked_add(t.funded, p.amount);
  if (!funded) return error(Code::kOverflow, "pool total overflows");
  if (Status s = bank::transfer(ctx.state, ctx.tx.sender, pool_account(), p.amount); !s) return s;
  t.funded = *funded;
  detail::put_pool(ctx.state, t);
  ctx.events.push_back(
      make_event(PoolEvent{"funded", ctx.tx.sender, 0, p.amount, pool_balance(ctx.state)}));
  return ok();
}

Status TokensModule::on_redeem(TxContext& ctx, const RedeemPayload& p) {
  Params prm = load_params(ctx.state);
  uint64_t pays = mul_div(p.amount, prm.redeem_rate, kMicroPerToken);
  uint64_t have = balance(ctx.state, ctx.tx.sender);
  if (have < p.amount)
    return error(kInsufficientTokens, "redeems " + std::to_string(p.amount) +
                                          " micro-tokens, has " + std::to_string(have));
  if (pays == 0) return error(kRedeemTooSmall, "pays no currency at the rate");
  if (pool_balance(ctx.state) < pays)
    return error(kPoolInsufficient, "pays " + std::to_string(pays) + ", the pool holds " +
                                        std::to_string(pool_balance(ctx.state)));
  if (Status s = bank::transfer(ctx.state, pool_account(), ctx.tx.sender, pays); !s) return s;
  (void)detail::debit(ctx.state, ctx.tx.sender, p.amount);
  detail::touched(ctx.state, ctx.block.height, ctx.tx.sender);
  Supply sup = supply(ctx.state);
  sup.burned += p.amount;
  detail::put_supply(ctx.state, sup);
  PoolTotals t = pool_totals(ctx.state);
  t.redeemed += pays;
  detail::put_pool(ctx.state, t);
  ctx.events.push_back(
      make_event(PoolEvent{"redeemed", ctx.tx.sender, p.amount, pays, pool_balance(ctx.state)}));
  return ok();
}

Status TokensModule::on_spend_on_bid(TxContext& ctx, const SpendOnBidPayload& p) {
  auto o = market::find_order(ctx.state, p.order);
  if (!o || o->owner != ctx.tx.sender || o->side != market::Side::kBid ||
      o->commodity != market::kElectricity)
    return error(kNotOwnBid, "no electricity bid " + p.order.hex() + " of the sender");
  if (o->status != market::OrderStatus::kOpen || o->filled > 0)
    return error(kBidNotOpen, "the bid is no longer open");
  if (keys::kCommits.has(ctx.state, p.order))
    return error(kAlreadyCommitted, "tokens are already committed to the bid");
  if (Status s = detail::debit(ctx.state, ctx.tx.sender, p.amount); !s) return s;
  keys::kCommits.put(ctx.state, p.order, Commitment{ctx.tx.sender, p.amount, o->period});
  keys::kCommitsDue.put(ctx.state, {o->period, p.order}, state::Unit{});
  keys::kCommitPeriods.put(ctx.state, o->period,
                           keys::kCommitPeriods.get(ctx.state, o->period).value_or(0) + 1);
  detail::touched(ctx.state, ctx.block.height, ctx.tx.sender);
  ctx.events.push_back(make_event(CommitEvent{p.order, p.amount, o->period}));
  return ok();
}

Status TokensModule::apply_drain(GovernedContext& ctx, const DrainPoolAction& a) {
  if (Status s = drain_pool(ctx.state, a.to, a.amount); !s) return s;
  ctx.events.push_back(
      make_event(PoolEvent{"drained", a.to, 0, a.amount, pool_balance(ctx.state)}));
  return ok();
}

void TokensModule::end_block(BlockContext& ctx) {
  if (!ctx.state.get(param_key("tokens.epoch_cap"))) return;  // not set up on this chain
  detail::mint_final_periods(ctx, workers_);
  detail::settle_commitments(ctx);
}

// ---- Genesis, schema --------------------------------------------------------------------------

Status TokensModule::init_genesis(StateOverlay& state, const json& section) {
  if (!section.is_null() && !section.is_object())
    return error(Code::kBadGenesis, "[tokens] must be a table");
  return init_params(state, param_table(), section.is_null() ? json::object() : section);
}

std::string TokensModule::default_genesis(const DevelopmentAccounts&) const {
  // Development chains register virtual (INSECURE) meters; let them mint, labelled.
  return "[tokens]\nallow_virtual = true\n";
}

std::vector<state::SchemaEntry> TokensModule::schema() const {
  return {{keys::kSupply.key(), "", "Supply: minted, burned (u64 each)"},
          {keys::kPool.key(), "", "PoolTotals: funded, redeemed, reimbursed, drained (u64 each)"},
          {keys::kNext.key(), "", "u64 the next period to mint"},
          {keys::kBalances.prefix(), "[account:32]", "u64 micro-tokens"},
          {keys::kCommits.prefix(), "[order:32]", "Commitment: owner, amount, period"},
          {keys::kCommitsDue.prefix(), "[period:u64][order:32]",
           "Unit: a commitment, by its bid's period"},
          {keys::kCommitPeriods.prefix(), "[period:u64]", "u64 commitments open for the period"},
          {keys::kMinted.prefix(), "[meter:32][period:u64]", "MintRecord"},
          {keys::kHistory.prefix(), "[account:32][period:u64][meter:32]", "MintShare"},
          {keys::kOwnerSources.prefix(), "[owner:32]", "SourceMarks: by source, 1 + the last"},
          {keys::kMix.prefix(), "[microgrid:str][period:u64][source:u8]", "u64 Wh exported"},
          {keys::kEpochs.prefix(), "[epoch:u64]", "u64 micro-tokens minted in the epoch"},
          {keys::kLog.prefix(), "[height:u64][account:32]", "Unit: a balance changed in the block"},
          {keys::kMintLog.prefix(), "[height:u64][period:u64]", "Unit: the period was minted in"}};
}

std::vector<std::string> TokensModule::account_keys(const PublicKey& account) const {
  return {keys::kBalances.key(account)};
}

}  // namespace gridpact::tokens
