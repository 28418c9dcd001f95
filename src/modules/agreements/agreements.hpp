// The agreements module: generation assets, host premises, agreements with composable
// terms, automatic billing from meter data, and ratings.
//
// Assets (owner's generation systems) and premises (hosts' roofs and plots) are listed on
// chain; an asset's owner changes only by a transfer or at the end of an agreement whose
// terms say so. An agreement is a list of parties and composable terms (tariff, rebate,
// instalments, revenue shares, end-of-term disposition, payment discipline); the four
// templates of the paper (lease, lease-to-own, PPA, surplus sharing) are term presets.
// Every party signs the SHA-256 of the canonical terms in its own transaction; the
// agreement is active once all have signed. In end_block, each period that has ended is
// billed from the asset's meter (and the premises' connection meter): the host pays each
// recipient through the bank module. A payment that cannot be made becomes arrears; after
// grace_ms a penalty is added once, after default_ms the agreement defaults and the asset
// returns to its owner. After a settled period, owner and host may each rate the other
// once; a score is a Bayesian average weighted by the settled value, all of one
// counterparty's scores of an account weighing at most kMaxCounterpartyWeight together
// (ratings.cpp). Likewise the buyer and the seller of a market trade rate each other once
// each after the trade's period has settled (market::find_trade), weighted by the trade's
// settled value.
//
// Integers only: money in micro-units, energy in Wh, prices in micro-units per kWh,
// shares in basis points (10000 = 100%), time from the block.
//
// State keys (ids are u64 big-endian, periods u32 big-endian):
//   agr/next/{asset,prem,agt}        u64 last id issued
//   agr/asset/<id>                   Asset (encode_asset)
//   agr/prem/<id>                    Premises (encode_premises)
//   agr/nprem/<host pk>              u64 premises the host registered (at most
//                                    agreements.max_premises_per_account)
//   agr/terms/<id>                   Terms (encode_terms); its SHA-256 is the terms hash
//   agr/agt/<id>                     AgreementState, then the billing record: what billing
//                                    needs from the terms, asset and premises (parties'
//                                    accounts, host/owner index, shares, tariff, rebate,
//                                    instalment, volume, surplus price, schedule, penalty
//                                    and default rules, asset and premises meters), so a
//                                    billed period reads one agreements key
//   agr/amend/<id>                   pending amendment: Terms, then u32 signature mask
//   agr/due/<time u64><chunk u32>    packed u64 ids (up to 512 per chunk): agreements with
//                                    something due at `time`. Never edited one by one: a
//                                    rescheduled agreement leaves a stale entry (skipped:
//                                    its next_due_ms differs); a time's chunks are erased
//                                    when end_block reaches it
//   agr/duen/<time u64>              u64 number of ids appended for `time`
//   agr/pay/<id><period>             Payment (encode_payment), one per billed period
//   agr/rated/<id><period><rater pk> u8 score
//   agr/rating/<pk>                  RatingTotals (count, weight sum, weighted score sum)
//   agr/rpair/<ratee pk><rater pk>   u64 weight of the rater's scores of the ratee so far
//                                    (at most kMaxCounterpartyWeight)
//   agr/rated-trade/<u8 len><commodity><period u64><index u64><rater pk>
//                                    u8 score || ratee pk || u64 weight: a rating of the
//                                    counterparty of a settled market trade
//   agr/log/<height u64><seq u32>    u8 kind || u64 id [|| u32 period] [|| rater pk], or
//                                    kind 7 || trade part || rater pk (a trade rating), or
//                                    kind 8 || (u64 id || u32 period)* (up to 4096 billed
//                                    periods, read back as kBilled entries): what a block
//                                    changed, in order, for the SQL read model
//   agr/logc                         u64 height || u32 next seq of that height
//
// Codes 1300-1399 (names registered by register_agreements_codes()).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "ledger/module.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::agreements {

// Transaction types.
constexpr uint16_t kRegisterAsset = 0x0401;
constexpr uint16_t kTransferAsset = 0x0402;
constexpr uint16_t kRegisterPremises = 0x0403;
constexpr uint16_t kPropose = 0x0404;
constexpr uint16_t kSign = 0x0405;
constexpr uint16_t kAmend = 0x0406;
constexpr uint16_t kSignAmendment = 0x0407;
constexpr uint16_t kTerminate = 0x0408;
constexpr uint16_t kPay = 0x0409;
constexpr uint16_t kExecute = 0x040a;
constexpr uint16_t kRate = 0x040b;
constexpr uint16_t kRateTrade = 0x040c;

// Error codes: X(constant, number, name, meaning). 1316 (METER_NOT_FOUND before codes were
// unique) is retired; a missing meter is the meters module's METER_NOT_FOUND.
#define GRIDPACT_AGREEMENTS_CODES(X)                                                      \
  X(kAssetNotFound, 1300, "ASSET_NOT_FOUND", "no asset with that id")                     \
  X(kPremisesNotFound, 1301, "PREMISES_NOT_FOUND", "no premises with that id")            \
  X(kNotAssetOwner, 1302, "NOT_ASSET_OWNER", "the asset belongs to another account")      \
  X(kAssetInUse, 1303, "ASSET_IN_USE", "the asset already serves an agreement")           \
  X(kAgreementNotFound, 1304, "AGREEMENT_NOT_FOUND", "no agreement with that id")         \
  X(kNotAParty, 1305, "NOT_A_PARTY", "the sender is not a party to the agreement")        \
  X(kAlreadySigned, 1306, "ALREADY_SIGNED", "the party has signed already")               \
  X(kTermsHashMismatch, 1307, "TERMS_HASH_MISMATCH", "the signature is for other terms")  \
  X(kBadTerms, 1308, "BAD_TERMS", "the agreement terms are invalid")                      \
  X(kSharesNot100, 1309, "SHARES_NOT_100", "shares are missing or do not add up to 100%") \
  X(kWrongStatus, 1310, "WRONG_AGREEMENT_STATUS",                                         \
    "the agreement is not in a status that allows this")                                  \
  X(kNotStarted, 1311, "AGREEMENT_NOT_STARTED", "the agreement term has not started")     \
  X(kNothingDue, 1312, "NOTHING_DUE", "no billing period has ended yet")                  \
  X(kNoSettledInteraction, 1313, "NO_SETTLED_INTERACTION",                                \
    "the rater has no settled dealing with the ratee")                                    \
  X(kAlreadyRated, 1314, "ALREADY_RATED", "the rater rated this already")                 \
  X(kBadScore, 1315, "BAD_SCORE", "a score is 1 to 5")                                    \
  X(kNoArrears, 1317, "NO_ARREARS", "nothing is owed")                                    \
  X(kNoAmendment, 1318, "NO_AMENDMENT", "the agreement has no pending amendment")         \
  X(kBadListing, 1319, "BAD_LISTING", "the listing is invalid")                           \
  X(kTradeNotFound, 1320, "TRADE_NOT_FOUND", "no market trade with that id")              \
  X(kBadTokenShare, 1321, "BAD_TOKEN_SHARE", "the host's token share is above 10000 bps") \
  X(kTooManyPremises, 1322, "TOO_MANY_PREMISES",                                          \
    "the host has registered agreements.max_premises_per_account premises")
GRIDPACT_CODES(kAgreementsCodes, "agreements", 1300, GRIDPACT_AGREEMENTS_CODES);
using meters::kMeterNotFound;
void register_agreements_codes();

constexpr size_t kMaxName = 64;
constexpr size_t kMaxMicrogrid = 64;
constexpr size_t kMaxParties = 8;
constexpr size_t kMaxShares = 8;
constexpr size_t kMaxNote = 256;
constexpr uint32_t kMaxPeriods = 1200;
constexpr uint16_t kBps = 10000;

// Same numbers as meters::Source for the generating sources.
enum class AssetType : uint8_t { kPv = 1, kWind = 2, kHydro = 3, kBiomass = 4, kBattery = 5 };
std::string_view type_name(AssetType t);
std::optional<AssetType> parse_type(std::string_view name);
inline uint8_t type_bit(AssetType t) {
  return static_cast<uint8_t>(1u << static_cast<uint8_t>(t));
}

struct Asset {
  uint64_t id = 0;
  PublicKey owner;
  AssetType type = AssetType::kPv;
  uint64_t capacity_w = 0;
  Hash32 meter;  // the meter that measures its generation (export)
  std::string microgrid;
  int64_t lat_e6 = 0, lon_e6 = 0;    // micro-degrees
  uint64_t price_micro_per_kwh = 0;  // the price terms the owner offers
  uint64_t agreement = 0;            // the active agreement it serves, 0 if listed/free
  std::string name;
  // The registration fields: the payload of agreements/register-asset, and the asset's
  // state after its id, owner and agreement.
  static constexpr auto fields = std::tuple{
      codec::field("type", &Asset::type, codec::range(AssetType::kPv, AssetType::kBattery),
                   codec::names(type_name)),
      codec::field("capacity_w", &Asset::capacity_w),
      codec::field("meter", &Asset::meter),
      codec::field("microgrid", &Asset::microgrid, codec::max_len(kMaxMicrogrid)),
      codec::field("lat_e6", &Asset::lat_e6),
      codec::field("lon_e6", &Asset::lon_e6),
      codec::field("price_micro_per_kwh", &Asset::price_micro_per_kwh),
      codec::field("name", &Asset::name, codec::max_len(kMaxName))};
};

struct Premises {
  uint64_t id = 0;
  PublicKey host;
  uint64_t area_m2 = 0;
  int64_t lat_e6 = 0, lon_e6 = 0;
  std::string microgrid;
  uint8_t preferred_types = 0;           // bit type_bit(t) per preferred type; 0 = any
  uint64_t expected_consumption_wh = 0;  // per year
  Hash32 meter;  // the connection meter (its export is surplus sold), zero if none
  std::string name;
  // The registration fields (as Asset's). Preferred types are bits 1..5.
  static constexpr auto fields =
      std::tuple{codec::field("area_m2", &Premises::area_m2),
                 codec::field("lat_e6", &Premises::lat_e6),
                 codec::field("lon_e6", &Premises::lon_e6),
                 codec::field("microgrid", &Premises::microgrid, codec::max_len(kMaxMicrogrid)),
                 codec::field("preferred_types", &Premises::preferred_types, codec::mask(0x3e)),
                 codec::field("expected_consumption_wh", &Premises::expected_consumption_wh),
                 codec::field("meter", &Premises::meter),
                 codec::field("name", &Premises::name, codec::max_len(kMaxName))};
};

enum class Role : uint8_t { kOwner = 0, kHost = 1, kDso = 2, kTax = 3, kThirdParty = 4 };
std::string_view role_name(Role r);
enum class Kind : uint8_t { kLease = 0, kLeaseToOwn = 1, kPpa = 2, kSurplusShare = 3, kCustom = 4 };
std::string_view kind_name(Kind k);
std::optional<Kind> parse_kind(std::string_view name);
enum class Disposition : uint8_t { kReturnToOwner = 0, kTransferToHost = 1 };

struct Party {
  PublicKey account;
  Role role = Role::kOwner;
  static constexpr auto fields =
      std::tuple{codec::field("account", &Party::account),
                 codec::field("role", &Party::role, codec::range(Role::kOwner, Role::kThirdParty),
                              codec::names(role_name))};
};
struct Share {
  uint8_t party = 0;  // index into Terms::parties
  uint16_t bps = 0;
  static constexpr auto fields =
      std::tuple{codec::field("party", &Share::party), codec::field("bps", &Share::bps)};
};
constexpr uint8_t kTermsVersion = 1;

// Composable terms. The host pays, each period:
//   energy:     billed_wh * tariff / 1000, less rebate_bps of it returned as rent, split
//               by energy_shares (remainder of rounding to the first share);
//   instalment: instalment_micro to the owner;
//   surplus:    surplus_wh * surplus_price / 1000 (the host sold it to neighbours), split
//               by surplus_shares (the host's own share stays with it).
// billed_wh is the energy the host used (asset generation minus the premises' export),
// capped at volume_wh per period when volume_wh > 0 (a PPA's contracted volume).
struct Terms {
  Kind kind = Kind::kCustom;
  uint64_t asset = 0;
  uint64_t premises = 0;  // 0: none (a PPA without hosting)
  std::vector<Party> parties;
  uint64_t start_ms = 0;
  uint64_t period_ms = 0;
  uint32_t periods = 0;
  uint64_t tariff_micro_per_kwh = 0;
  uint16_t rebate_bps = 0;
  uint64_t instalment_micro = 0;
  uint64_t volume_wh = 0;
  uint64_t surplus_price_micro_per_kwh = 0;
  std::vector<Share> energy_shares;
  std::vector<Share> surplus_shares;
  Disposition disposition = Disposition::kReturnToOwner;
  uint64_t grace_ms = 0;               // unpaid this long: penalty
  uint16_t penalty_bps = 0;            // of the arrears, added once
  uint64_t default_ms = 0;             // unpaid this long: default, the asset returns to its owner
  uint64_t termination_fee_micro = 0;  // paid by the party that ends early to the other
  std::string note;
  // The host's share of the green tokens minted for the asset's meter (tokens.hpp), in bps;
  // the owner gets the rest. Absent: shared like the energy revenue (the host gets
  // rebate_bps, the rest goes by energy_shares).
  std::optional<uint16_t> host_token_share_bps;

  std::optional<size_t> party_index(const PublicKey& who) const;
  std::optional<size_t> role_index(Role r) const;
  // The canonical encoding (encode_terms), whose SHA-256 the parties sign.
  static constexpr auto fields = std::tuple{
      codec::constant("version", kTermsVersion, Code::kUnknownVersion),
      codec::field("kind", &Terms::kind, codec::range(Kind::kLease, Kind::kCustom),
                   codec::names(kind_name)),
      codec::field("asset", &Terms::asset),
      codec::field("premises", &Terms::premises),
      codec::field("parties", &Terms::parties, codec::max_len(kMaxParties)),
      codec::field("start_ms", &Terms::start_ms),
      codec::field("period_ms", &Terms::period_ms),
      codec::field("periods", &Terms::periods),
      codec::field("tariff_micro_per_kwh", &Terms::tariff_micro_per_kwh),
      codec::field("rebate_bps", &Terms::rebate_bps),
      codec::field("instalment_micro", &Terms::instalment_micro),
      codec::field("volume_wh", &Terms::volume_wh),
      codec::field("surplus_price_micro_per_kwh", &Terms::surplus_price_micro_per_kwh),
      codec::field("energy_shares", &Terms::energy_shares, codec::max_len(kMaxShares)),
      codec::field("surplus_shares", &Terms::surplus_shares, codec::max_len(kMaxShares)),
      codec::field("disposition", &Terms::disposition,
                   codec::range(Disposition::kReturnToOwner, Disposition::kTransferToHost)),
      codec::field("grace_ms", &Terms::grace_ms),
      codec::field("penalty_bps", &Terms::penalty_bps),
      codec::field("default_ms", &Terms::default_ms),
      codec::field("termination_fee_micro", &Terms::termination_fee_micro),
      codec::field("note", &Terms::note, codec::max_len(kMaxNote)),
      codec::field("host_token_share_bps", &Terms::host_token_share_bps)};
};

Bytes encode_terms(const Terms& t);
Result<Terms> decode_terms(const Bytes& b);
Hash32 terms_hash(const Terms& t);
json terms_json(const Terms& t);
Result<Terms> terms_from_json(const json& j);
// A plain-language rendering of the terms (the text the parties read before signing).
std::string render_terms(const Terms& t, const Hash32& hash);
// Checks the terms on their own (shares add up, ranges, roles); state checks come later.
Status validate_terms(const Terms& t);

// The four templates of the paper. Callers adjust any field afterwards.
struct TemplateArgs {
  uint64_t asset = 0, premises = 0;
  PublicKey owner, host;
  uint64_t start_ms = 0, period_ms = 0;
  uint32_t periods = 0;
  uint64_t price_micro_per_kwh = 0;  // tariff, PPA price or surplus price
  uint16_t rebate_bps = 0;           // lease rent rebate; surplus: the owner's share
  uint64_t instalment_micro = 0;     // lease-to-own
  uint64_t volume_wh = 0;            // PPA
};
Terms lease_template(const TemplateArgs& a);
Terms lease_to_own_template(const TemplateArgs& a);
Terms ppa_template(const TemplateArgs& a);
Terms surplus_share_template(const TemplateArgs& a);
Result<Terms> make_template(Kind kind, const TemplateArgs& a);

enum class Status8 : uint8_t {
  kProposed = 0,
  kActive = 1,
  kEnded = 2,
  kTerminated = 3,
  kDefaulted = 4
};
std::string_view status_name(Status8 s);

struct AgreementState {
  Status8 status = Status8::kProposed;
  uint32_t signed_mask = 0;
  uint32_t billed_periods = 0;
  uint32_t first_unpaid_period = 0;  // valid when arrears are owed
  std::vector<uint64_t> arrears;     // owed by the host to each party (by index)
  uint64_t arrears_since_ms = 0;     // due time of the oldest unpaid period
  bool penalty_applied = false;
  uint64_t next_due_ms = 0;  // key of its agr/due entry, 0 if none
  uint64_t total_paid = 0;
  uint64_t proposed_ms = 0, activated_ms = 0, closed_ms = 0;
  Hash32 terms_hash;
  uint64_t arrears_total() const;
};

enum class PaymentStatus : uint8_t { kPaid = 0, kMissed = 1, kPaidLate = 2 };
struct Payment {
  uint64_t agreement = 0;
  uint32_t period = 0;
  uint64_t from_ms = 0, to_ms = 0;
  uint64_t generated_wh = 0, surplus_wh = 0, billed_wh = 0;
  uint32_t missing_readings = 0;  // settlement periods without a reading (counted as 0)
  uint64_t energy_charge = 0, rebate = 0, instalment = 0, surplus_revenue = 0;
  uint64_t due = 0;  // what the host had to transfer to others this period
  PaymentStatus status = PaymentStatus::kPaid;
  uint64_t height = 0;
};

struct RatingTotals {
  uint64_t count = 0;
  uint64_t weight = 0;        // sum of weights (settled value in whole units, + 1 each)
  uint64_t weighted_sum = 0;  // sum of weight * score
};
// Bayesian average in thousandths (1000..5000): a prior of 3.0 with weight kPriorWeight.
constexpr uint64_t kPriorWeight = 10;
// All the scores one account gives another weigh at most this much together.
constexpr uint64_t kMaxCounterpartyWeight = kPriorWeight;
uint64_t rating_milli(const RatingTotals& t);

// A market trade: number `index` of the trades of (commodity, period). Written
// "<commodity>/<period>/<index>" (e.g. "electricity/1996/0").
struct TradeRef {
  std::string commodity = "electricity";
  uint64_t period = 0;
  uint64_t index = 0;
  std::string str() const;
  static std::optional<TradeRef> parse(std::string_view s);
  static constexpr size_t kMaxCommodity = 16;  // market::kMaxCommodity
  static constexpr auto fields = std::tuple{
      codec::field("commodity", &TradeRef::commodity, codec::max_len(kMaxCommodity)),
      codec::field("period", &TradeRef::period), codec::field("index", &TradeRef::index)};
};
// Payloads. Those with `fields`: their fields in order are their encoding
// (codec/fields.hpp). Registrations are encoded as the registration fields of Asset and
// Premises; proposals as encode_terms.
struct TransferAssetPayload {
  uint64_t asset = 0;
  PublicKey to;
  static constexpr auto fields = std::tuple{codec::field("asset", &TransferAssetPayload::asset),
                                            codec::field("to", &TransferAssetPayload::to)};
};
struct ProposePayload {
  Terms terms;
};
struct SignPayload {
  uint64_t agreement = 0;
  Hash32 terms_hash;
  static constexpr auto fields = std::tuple{codec::field("agreement", &SignPayload::agreement),
                                            codec::field("terms_hash", &SignPayload::terms_hash)};
};
struct AmendPayload {
  uint64_t agreement = 0;
  Terms terms;
  static constexpr auto fields = std::tuple{codec::field("agreement", &AmendPayload::agreement),
                                            codec::field("terms", &AmendPayload::terms)};
};
struct IdPayload {  // terminate, pay, execute
  uint64_t agreement = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &IdPayload::agreement)};
};
struct RatePayload {
  uint64_t agreement = 0;
  uint32_t period = 0;
  uint8_t score = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &RatePayload::agreement),
                                            codec::field("period", &RatePayload::period),
                                            codec::field("score", &RatePayload::score)};
};
struct RateTradePayload {
  TradeRef trade;
  uint8_t score = 0;
  static constexpr auto fields = std::tuple{codec::field("trade", &RateTradePayload::trade),
                                            codec::field("score", &RateTradePayload::score)};
};
Bytes encode(const Asset& a);  // registration payload: id and agreement are ignored
Bytes encode(const Premises& p);
Bytes encode(const TransferAssetPayload& p);
Bytes encode(const SignPayload& p);
Bytes encode(const AmendPayload& p);
Bytes encode(const IdPayload& p);
Bytes encode(const RatePayload& p);
Bytes encode(const RateTradePayload& p);

// Reads.
std::optional<Asset> find_asset(const StateReader& s, uint64_t id);
std::optional<Premises> find_premises(const StateReader& s, uint64_t id);
std::optional<Terms> find_terms(const StateReader& s, uint64_t id);
std::optional<AgreementState> find_agreement(const StateReader& s, uint64_t id);
std::optional<Payment> find_payment(const StateReader& s, uint64_t id, uint32_t period);
RatingTotals rating_totals(const StateReader& s, const PublicKey& account);
json asset_json(const Asset& a);
json premises_json(const Premises& p);
json agreement_json(const Terms& t, const AgreementState& st);
json payment_json(const Payment& p);

// The change log the SQL read model follows.
enum class LogKind : uint8_t {
  kAsset = 1,
  kPremises = 2,
  kAgreement = 3,
  kPayment = 4,
  kRating = 5,
  kBilled = 6,      // a period billed: its payment and the agreement changed (one entry)
  kTradeRating = 7  // a rating of a market trade's counterparty (trade, rater)
};
struct LogEntry {
  LogKind kind;
  uint64_t id = 0;
  uint32_t period = 0;  // payments and ratings
  PublicKey rater;      // ratings
  TradeRef trade;       // trade ratings
};
std::vector<LogEntry> block_log(const StateReader& s, uint64_t height);
std::optional<uint8_t> find_rating(const StateReader& s, uint64_t agreement, uint32_t period,
                                   const PublicKey& rater);
struct TradeRating {
  uint8_t score = 0;
  PublicKey ratee;
  uint64_t weight = 0;
};
std::optional<TradeRating> find_trade_rating(const StateReader& s, const TradeRef& trade,
                                             const PublicKey& rater);
// Every trade rating, in key order, until `fn` returns false.
void scan_trade_ratings(
    const StateReader& s,
    const std::function<bool(const TradeRef&, const PublicKey& rater, const TradeRating&)>& fn);

// Billing's one input from the meters: the energy a meter recorded over [from_ms, to_ms).
struct MeteredEnergy {
  uint64_t import_wh = 0, export_wh = 0;
  uint32_t missing = 0;  // settlement periods in the window without a reading
};
MeteredEnergy metered_energy(const StateReader& s, const Hash32& meter, uint64_t from_ms,
                             uint64_t to_ms);
// A period is billed one settlement period after it ends, so that its last reading can
// arrive: the settlement period length (meters::period_length_ms).
uint64_t reading_lag_ms(const StateReader& s);
// Whether `meter` is registered (and not revoked) and owned by `owner`.
Status check_meter(const StateReader& s, const Hash32& meter, const PublicKey& owner);

class AgreementsModule : public Module {
 public:
  // `billing_workers`: threads that bill a block's due agreements; 0 means
  // ledger::worker_count(). The state written is the same for any number.
  // Declares the messages (agreements.cpp, beside their handlers).
  explicit AgreementsModule(size_t billing_workers = 0);
  std::string_view name() const override { return "agreements"; }
  Status init_genesis(StateOverlay& state, const json& section) override;
  std::vector<state::SchemaEntry> schema() const override;
  std::vector<ParamSpec> param_table() const override;
  void end_block(BlockContext& ctx) override;
  std::vector<std::string> account_keys(const PublicKey& account) const override;

 private:
  void declare_routes();  // queries.cpp: the module's query routes
  size_t billing_workers_;
};

}  // namespace gridpact::agreements
