// The tokens module: green tokens minted from settled, attested renewable export, with a
// reward per kWh that favours owners of several source types and the sources their
// microgrid lacks (docs/tokens.md: the formula with a worked example, the design of
// paying for energy with tokens).
//
// Units: token amounts in micro-tokens (1 token = 1,000,000), energy in Wh, currency in
// the bank's micro-units, rates and factors in parts per million (ppm).
//
// Minting, in end_block (after the market's). Period p is final once the block time is at
// least (p + 1) x period_ms + market.settlement_deadline_ms (one period_ms without a
// market) and the market has no unsettled electricity book for p. Then, for every meter
// that is registered, not revoked, of a renewable source (pv, wind, hydro, biomass) and
// tpm2 (virtual only when tokens.allow_virtual; such mints are labelled virtual), with a
// contiguous reading for p (meters::period_energy) exporting E Wh:
//   k        = distinct renewable sources the meter's owner exported in the window
//              [p - window_periods + 1, p] (this period included)
//   owner    = 1e6 + diversity_step_ppm x (k - 1)
//   share    = 1e6 x (the source's export in the meter's microgrid over the window)
//                   / (all renewable export of that microgrid over the window)
//   scarcity = 1e6 + scarcity_bonus_ppm x (target - share) / target   if share < target
//              1e6                                                       otherwise
//              (target = scarcity_target_ppm)
//   rate     = base_rate_<source> x owner / 1e6 x scarcity / 1e6   micro-tokens per kWh
//   amount   = E x rate / 1000 (floor)
// Every division floors. If the period's amounts would take the epoch (epoch_periods
// periods) past epoch_cap, each is scaled by the room left / their sum (floor). A meter
// that an active agreement's asset names has its amount shared: the host first gets the
// terms' rebate_bps (the rent rebate of the energy revenue), the rest goes by the energy
// revenue shares (surplus shares when there are none; remainder to the first share), or
// all to the meter's owner without shares. A marker per (meter, period) keeps each Wh
// from minting twice. At most kMaxPeriodsPerBlock periods are minted per block.
//
// Use. Tokens transfer between accounts. The pool is currency in the bank account
// pool_account() (a key nobody holds): any account funds it; tokens redeem from it at
// tokens.redeem_rate micro-units per token, never beyond what it holds; governance drains
// it (the governed action tokens/drain_pool). A buyer commits tokens to its own open electricity
// bid; once the bid's period has settled, tokens worth up to the bid's settled energy value are
// burned and the pool pays the buyer that value in currency (what the pool cannot pay is not
// burned); the rest of the commitment returns to the buyer. A cancelled or unfilled bid returns all
// of it. Commitments close oldest period first: a block reads only the periods that have
// ended (at most kMaxCommitPeriodsPerBlock of them), steps over a period whose market
// settlement is pending without reading its commitments, and closes at most
// kMaxClosedPerBlock (the rest in the next blocks); so a block's work is bounded however
// many commitments wait.
//
// Invariants: minted - burned = sum of balances + sum of commitments;
// funded - redeemed - reimbursed - drained = the pool account's bank balance.
//
// State keys ([name:type]: typed key parts, ledger/collections.hpp):
//   tokens/supply                               Supply: minted, burned (u64 each)
//   tokens/pool                                 PoolTotals: funded, redeemed, reimbursed,
//                                               drained (u64 each)
//   tokens/next                                 u64 the next period to mint
//   tokens/bal/[account:32]                     u64 micro-tokens
//   tokens/commit/[order:32]                    Commitment: owner, amount, period
//   tokens/cdue/[period:u64][order:32]          Unit: a commitment, by its bid's period
//   tokens/cper/[period:u64]                    u64 commitments open for the period
//   tokens/minted/[meter:32][period:u64]        MintRecord: the marker and what it minted
//   tokens/hist/[account:32][period:u64][meter:32]  MintShare: an account's part of a mint
//                                               shared under an agreement (an owner's own
//                                               mints are read from its meters' records)
//   tokens/osrc/[owner:32]                      SourceMarks: by source, 1 + the last period
//                                               the owner exported it (0: never)
//   tokens/mgx/[microgrid:str][period:u64][source:u8]  u64 Wh exported (kept kMaxWindow)
//   tokens/epoch/[epoch:u64]                    u64 micro-tokens minted in the epoch
//   tokens/log/[height:u64][account:32]         Unit: a balance changed in the block
//                                               other than by minting (the SQL read model
//                                               follows this log and the next)
//   tokens/mlog/[height:u64][period:u64]        Unit: the period was minted in the block
//
// Codes 1700-1799 (register_tokens_codes()).
#pragma once

#include <array>
#include <functional>

#include "ledger/module.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::tokens {

constexpr uint16_t kTransfer = 0x0601;
constexpr uint16_t kFundPool = 0x0602;
constexpr uint16_t kRedeem = 0x0603;
constexpr uint16_t kSpendOnBid = 0x0604;

constexpr uint64_t kPpm = 1'000'000;
constexpr uint64_t kMicroPerToken = 1'000'000;
constexpr uint64_t kMaxWindow = 2880;  // window_periods' upper bound (30 days of 15 min)
constexpr uint64_t kMaxPeriodsPerBlock = 16;
constexpr size_t kMaxCommitPeriodsPerBlock = 64;  // periods with commitments read per block
constexpr size_t kMaxClosedPerBlock = 10'000;     // commitments closed per block
constexpr size_t kMaxMemo = 128;
constexpr size_t kMaxHistory = 1000;  // entries per history query

// Error codes: X(constant, number, name, meaning).
#define GRIDPACT_TOKENS_CODES(X)                                                               \
  X(kInsufficientTokens, 1700, "INSUFFICIENT_TOKENS", "the token balance does not cover it")   \
  X(kPoolInsufficient, 1701, "POOL_INSUFFICIENT", "the pool holds less currency than it owes") \
  X(kNotOwnBid, 1702, "NOT_OWN_BID", "the order is not an electricity bid of the sender")      \
  X(kBidNotOpen, 1703, "BID_NOT_OPEN", "the bid has cleared or is cancelled")                  \
  X(kAlreadyCommitted, 1704, "ALREADY_COMMITTED", "tokens are already committed to the bid")   \
  X(kRedeemTooSmall, 1705, "REDEEM_TOO_SMALL", "the amount redeems for no currency at the rate")
GRIDPACT_CODES(kTokensCodes, "tokens", 1700, GRIDPACT_TOKENS_CODES);
void register_tokens_codes();

// Payloads: their fields in order are their encoding (codec/fields.hpp) and their JSON.
struct TransferPayload {
  PublicKey to;
  uint64_t amount = 0;  // micro-tokens
  std::string memo;
  static constexpr auto fields = std::tuple{
      codec::field("to", &TransferPayload::to), codec::field("amount", &TransferPayload::amount),
      codec::field("memo", &TransferPayload::memo, codec::max_len(kMaxMemo))};
};
struct FundPoolPayload {
  uint64_t amount = 0;  // currency micro-units
  static constexpr auto fields = std::tuple{codec::field("amount", &FundPoolPayload::amount)};
};
struct RedeemPayload {
  uint64_t amount = 0;  // micro-tokens
  static constexpr auto fields = std::tuple{codec::field("amount", &RedeemPayload::amount)};
};
struct SpendOnBidPayload {
  Hash32 order;         // an open electricity bid of the sender
  uint64_t amount = 0;  // micro-tokens committed
  static constexpr auto fields = std::tuple{codec::field("order", &SpendOnBidPayload::order),
                                            codec::field("amount", &SpendOnBidPayload::amount)};
};
// Governed action "tokens/drain_pool" (ledger/module.hpp): only a passed governance
// proposal pays the pool's currency out.
struct DrainPoolAction {
  PublicKey to;
  uint64_t amount = 0;  // currency micro-units
  static constexpr auto fields = std::tuple{codec::field("to", &DrainPoolAction::to),
                                            codec::field("amount", &DrainPoolAction::amount)};
};
Bytes encode(const TransferPayload& p);
Bytes encode(const FundPoolPayload& p);
Bytes encode(const RedeemPayload& p);
Bytes encode(const SpendOnBidPayload& p);

// Events (receipt data: the canonical encoding of these fields).
struct TransferEvent {
  static constexpr std::string_view kType = "tokens/transfer";
  PublicKey from, to;
  uint64_t amount = 0;
  static constexpr auto fields =
      std::tuple{codec::field("from", &TransferEvent::from), codec::field("to", &TransferEvent::to),
                 codec::field("amount", &TransferEvent::amount)};
};
struct PoolEvent {  // funded, redeemed, reimbursed or drained
  static constexpr std::string_view kType = "tokens/pool";
  std::string what;
  PublicKey account;
  uint64_t tokens = 0, currency = 0, pool_balance = 0;
  static constexpr auto fields = std::tuple{
      codec::field("what", &PoolEvent::what, codec::max_len(16)),
      codec::field("account", &PoolEvent::account), codec::field("tokens", &PoolEvent::tokens),
      codec::field("currency", &PoolEvent::currency),
      codec::field("pool_balance", &PoolEvent::pool_balance)};
};
struct CommitEvent {
  static constexpr std::string_view kType = "tokens/commit";
  Hash32 order;
  uint64_t amount = 0, period = 0;
  static constexpr auto fields = std::tuple{codec::field("order", &CommitEvent::order),
                                            codec::field("amount", &CommitEvent::amount),
                                            codec::field("period", &CommitEvent::period)};
};
struct SpentEvent {  // a commitment closed at settlement
  static constexpr std::string_view kType = "tokens/spent";
  Hash32 order;
  PublicKey buyer;
  uint64_t settled_value = 0, burned = 0, reimbursed = 0, returned = 0;
  static constexpr auto fields =
      std::tuple{codec::field("order", &SpentEvent::order),
                 codec::field("buyer", &SpentEvent::buyer),
                 codec::field("settled_value", &SpentEvent::settled_value),
                 codec::field("burned", &SpentEvent::burned),
                 codec::field("reimbursed", &SpentEvent::reimbursed),
                 codec::field("returned", &SpentEvent::returned)};
};
struct MintedEvent {  // one per minted period; the details are in state (MintRecord)
  static constexpr std::string_view kType = "tokens/minted";
  uint64_t period = 0, meters = 0, wh = 0, virtual_wh = 0, amount = 0, uncapped = 0;
  static constexpr auto fields = std::tuple{codec::field("period", &MintedEvent::period),
                                            codec::field("meters", &MintedEvent::meters),
                                            codec::field("wh", &MintedEvent::wh),
                                            codec::field("virtual_wh", &MintedEvent::virtual_wh),
                                            codec::field("amount", &MintedEvent::amount),
                                            codec::field("uncapped", &MintedEvent::uncapped)};
};

// State records.
struct Supply {
  uint64_t minted = 0, burned = 0;
};
struct PoolTotals {
  uint64_t funded = 0, redeemed = 0, reimbursed = 0, drained = 0;
};
struct Commitment {
  PublicKey owner;
  uint64_t amount = 0, period = 0;
};
struct MintRecord {
  PublicKey owner;
  meters::Source source = meters::Source::kPv;
  std::string microgrid;
  bool is_virtual = false;
  uint64_t wh = 0, rate = 0, amount = 0;  // rate: micro-tokens per kWh, before the cap
  uint64_t owner_factor_ppm = 0, scarcity_factor_ppm = 0, share_ppm = 0, sources = 0;
  uint64_t agreement = 0;  // 0: all to the owner; else shared (MintShare entries)
};
struct MintShare {
  meters::Source source = meters::Source::kPv;
  bool is_virtual = false;
  uint64_t wh = 0, amount = 0, rate = 0;
  uint64_t agreement = 0;  // 0: the meter's own, else the agreement that shared it
};
void encode_value(codec::Writer& w, const Supply& v);
void decode_value(codec::Reader& r, Supply& v);
void encode_value(codec::Writer& w, const PoolTotals& v);
void decode_value(codec::Reader& r, PoolTotals& v);
void encode_value(codec::Writer& w, const Commitment& v);
void decode_value(codec::Reader& r, Commitment& v);
void encode_value(codec::Writer& w, const MintRecord& v);
void decode_value(codec::Reader& r, MintRecord& v);
// By renewable source (index: meters::Source 1..4), 1 + the last period an owner exported it.
struct SourceMarks {
  uint64_t last[5] = {0, 0, 0, 0, 0};
};
void encode_value(codec::Writer& w, const SourceMarks& v);
void decode_value(codec::Reader& r, SourceMarks& v);
void encode_value(codec::Writer& w, const MintShare& v);
void decode_value(codec::Reader& r, MintShare& v);

// The parameters, read from state (each "tokens.<name>" in the parameter table).
struct Params {
  uint64_t base_rate[5] = {0, 0, 0, 0, 0};  // by meters::Source 1..4 (index 0 unused)
  uint64_t diversity_step_ppm = 0, scarcity_target_ppm = 1, scarcity_bonus_ppm = 0;
  uint64_t window_periods = 1, epoch_periods = 1, epoch_cap = 0, redeem_rate = 0;
  bool allow_virtual = false;
};
Params load_params(const StateReader& s);

// The formula's pieces (pure; docs/tokens.md).
uint64_t owner_factor_ppm(const Params& p, uint64_t sources);
uint64_t scarcity_factor_ppm(const Params& p, uint64_t share_ppm);
uint64_t rate_per_kwh(const Params& p, meters::Source source, uint64_t owner_ppm,
                      uint64_t scarcity_ppm);
uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c);  // floor(a x b / c), saturating
// How many sources `m` marks in the window ending at `period`.
uint64_t sources_in_window(const Params& p, const SourceMarks& m, uint64_t period);

// Reads.
PublicKey pool_account();  // SHA-256("GRIDPACT/tokens/pool"): nobody holds its key
uint64_t balance(const StateReader& s, const PublicKey& account);
Supply supply(const StateReader& s);
PoolTotals pool_totals(const StateReader& s);
uint64_t pool_balance(const StateReader& s);  // the pool account's bank balance
// Sum of balances and of commitments, in key order (audits: equals minted - burned).
uint64_t holdings(const StateReader& s);
std::optional<Commitment> commitment(const StateReader& s, const Hash32& order);
std::optional<MintRecord> mint_record(const StateReader& s, const Hash32& meter, uint64_t period);
std::optional<uint64_t> next_period(const StateReader& s);  // nullopt before the first block
// A microgrid's export by source over the window ending at `period` (index: Source).
std::array<uint64_t, 5> microgrid_window(const StateReader& s, const Params& p,
                                         const std::string& microgrid, uint64_t period);
// Renewable sources `owner` exported in the window ending at `period`.
uint64_t owner_sources(const StateReader& s, const Params& p, const PublicKey& owner,
                       uint64_t period);

// For the SQL read model (src/db): what block `height` changed, and the rows it mirrors.
std::vector<PublicKey> touched_in(const StateReader& s, uint64_t height);
std::vector<uint64_t> minted_in(const StateReader& s, uint64_t height);
// Every meter's mint of `period` (meter id order); every mint of the chain.
std::vector<std::pair<Hash32, MintRecord>> mints_of_period(const StateReader& s, uint64_t period);
void each_mint(const StateReader& s,
               const std::function<bool(const Hash32&, uint64_t, const MintRecord&)>& fn);
void each_balance(const StateReader& s, const std::function<bool(const PublicKey&, uint64_t)>& fn);
// An account's part of a mint shared under an agreement.
std::optional<MintShare> mint_share(const StateReader& s, const PublicKey& account, uint64_t period,
                                    const Hash32& meter);

// Writes, for governance: pays `amount` of the pool's currency to `to`.
Status drain_pool(StateOverlay& s, const PublicKey& to, uint64_t amount);

class TokensModule : public Module {
 public:
  // `workers`: threads that read a period's meters when minting; 0 means worker_count().
  // The state written is the same for any number.
  explicit TokensModule(size_t workers = 0);
  std::string_view name() const override { return "tokens"; }
  Status init_genesis(StateOverlay& state, const json& section) override;
  std::string default_genesis(const DevelopmentAccounts& accounts) const override;
  void end_block(BlockContext& ctx) override;
  std::vector<std::string> account_keys(const PublicKey& account) const override;
  std::vector<ParamSpec> param_table() const override;
  std::vector<state::SchemaEntry> schema() const override;

 private:
  // Query routes: balance/{account}, history/{account}?from&to, microgrid/{name}?period&account,
  // mint/{meter}/{period}, commitments/{order}, pool, supply, params (queries.cpp).
  void declare_routes();
  Status on_transfer(TxContext& ctx, const TransferPayload& p);
  Status on_fund_pool(TxContext& ctx, const FundPoolPayload& p);
  Status on_redeem(TxContext& ctx, const RedeemPayload& p);
  Status on_spend_on_bid(TxContext& ctx, const SpendOnBidPayload& p);
  Status apply_drain(GovernedContext& ctx, const DrainPoolAction& a);
  size_t workers_;
};

// Internals shared by the module's files (mint.cpp, spend.cpp).
namespace detail {
void mint_final_periods(BlockContext& ctx, size_t workers);
void settle_commitments(BlockContext& ctx);
Status credit(StateOverlay& s, const PublicKey& account, uint64_t amount);
Status debit(StateOverlay& s, const PublicKey& account, uint64_t amount);
void put_supply(StateOverlay& s, const Supply& v);
void put_pool(StateOverlay& s, const PoolTotals& v);
// Notes that `account`'s balance changed in block `height` (tokens/log).
void touched(StateOverlay& s, uint64_t height, const PublicKey& account);
}  // namespace detail

}  // namespace gridpact::tokens
