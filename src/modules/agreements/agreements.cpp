#include "modules/agreements/agreements.hpp"

#include "modules/agreements/events.hpp"
#include "modules/agreements/handlers.hpp"

namespace gridpact::agreements {

void register_agreements_codes() {
  meters::register_meter_codes();  // kMeterNotFound
  register_codes(kAgreementsCodes);
}

namespace {

Status check_score(uint8_t score) {
  return score >= 1 && score <= 5 ? ok() : error(kBadScore, "a score is 1 to 5");
}
Result<Asset> decode_asset_payload(const Bytes& b) {
  return codec::decode<Asset>(b.data(), b.size(), read_asset_payload);
}
Result<Premises> decode_premises_payload(const Bytes& b) {
  return codec::decode<Premises>(b.data(), b.size(), read_premises_payload);
}
json asset_payload_json(const Asset& a) {
  json j = asset_json(a);
  j.erase("id"), j.erase("owner"), j.erase("agreement"), j.erase("listed");
  return j;
}
json premises_payload_json(const Premises& p) {
  json j = premises_json(p);
  j.erase("id"), j.erase("host");
  return j;
}

}  // namespace

AgreementsModule::AgreementsModule(size_t billing_workers) : billing_workers_(billing_workers) {
  register_agreements_codes();
  message(kRegisterAsset, "agreements/register-asset",
          +[](TxContext& ctx, const Asset& a) { return register_asset(ctx, a); },
          {.view = asset_payload_json, .decode = decode_asset_payload});
  message(kTransferAsset, "agreements/transfer-asset", transfer_asset);
  message(kRegisterPremises, "agreements/register-premises",
          +[](TxContext& ctx, const Premises& p) { return register_premises(ctx, p); },
          {.view = premises_payload_json, .decode = decode_premises_payload});
  message(kPropose, "agreements/propose", propose,
          {.check = [](const Transaction&, const Terms& t) { return validate_terms(t); },
           .view = [](const Terms& t) -> json {
             return {{"terms", terms_json(t)}, {"terms_hash", terms_hash(t).hex()}};
           },
           .decode = decode_terms});
  message(kSign, "agreements/sign", sign);
  message(
      kAmend, "agreements/amend", amend,
      {.check = [](const Transaction&, const AmendPayload& p) { return validate_terms(p.terms); },
       .view = [](const AmendPayload& p) -> json {
         return {{"agreement", p.agreement},
                 {"terms", terms_json(p.terms)},
                 {"terms_hash", terms_hash(p.terms).hex()}};
       },
       .decode =
           [](const Bytes& b) {
             return codec::decode<AmendPayload>(b.data(), b.size(), read_amend);
           }});
  message(kSignAmendment, "agreements/sign-amendment", sign_amendment);
  message(kTerminate, "agreements/terminate", terminate);
  message(kPay, "agreements/pay", pay);
  message(kExecute, "agreements/execute", execute);
  message(kRate, "agreements/rate", rate,
          {.check = [](const Transaction&, const RatePayload& p) { return check_score(p.score); }});
  message(kRateTrade, "agreements/rate-trade", rate_trade,
          {.check =
               [](const Transaction&, const RateTradePayload& p) {
                 if (p.trade.commodity.empty()) return error(Code::kBadEncoding, "empty commodity");
                 return check_score(p.score);
               },
           .view = [](const RateTradePayload& p) -> json {
             return {{"trade", p.trade.str()}, {"score", p.score}};
           }});
  event<AssetEvent>();
  event<PremisesEvent>();
  event<AssetTransferEvent>();
  event<ProposedEvent>();
  event<SignedEvent>();
  event<AmendmentEvent>();
  event<AmendmentSignedEvent>();
  event<TerminatedEvent>();
  event<PaidEvent>();
  event<ExecutedEvent>();
  event<RatedEvent>();
  event<RatedTradeEvent>();
  event<BillingEvent>();
  declare_routes();
}

std::vector<state::SchemaEntry> AgreementsModule::schema() const {
  return {{"agr/next/", "{asset,prem,agt}", "u64 last id issued"},
          {"agr/asset/", "<id>", "Asset"},
          {"agr/prem/", "<id>", "Premises"},
          {"agr/nprem/", "<host pk>", "u64 premises the host registered"},
          {"agr/terms/", "<id>", "Terms"},
          {"agr/agt/", "<id>", "AgreementState, then the billing record"},
          {"agr/amend/", "<id>", "pending amendment: Terms"},
          {"agr/due/", "<time u64><chunk u32>", "packed u64 ids"},
          {"agr/duen/", "<time u64>", "u64 number of ids"},
          {"agr/pay/", "<id><period>", "Payment"},
          {"agr/rated/", "<id><period><rater pk>", "u8 score"},
          {"agr/rating/", "<pk>", "RatingTotals"},
          {"agr/rpair/", "<ratee pk><rater pk>", "u64 weight of the rater's scores"},
          {std::string(kTradeRatedPrefix), "<u8 len><commodity><period u64><index u64><rater pk>",
           "u8 score || ratee pk || u64 weight"},
          {"agr/log/", "<height u64><seq u32>", "u8 kind"},
          {std::string(kLogCounter), "", "u64 height || u32 next seq"}};
}

Status AgreementsModule::init_genesis(StateOverlay& state, const json& section) {
  if (!section.is_object()) return error(Code::kBadGenesis, "[agreements] must be a table");
  return init_params(state, param_table(), section);
}

std::vector<ParamSpec> AgreementsModule::param_table() const {
  return {ParamSpec::u64("agreements.max_periods_billed_per_block", 16, 1, kMaxPeriods,
                         "periods one agreement bills in one block (or transaction); an "
                         "agreement further behind catches up over the next blocks"),
          ParamSpec::u64("agreements.max_premises_per_account", 100, 1, 1'000'000,
                         "premises one account may register (premises cost nothing and need "
                         "no meter, so without a bound one key could fill state)")};
}

}  // namespace gridpact::agreements
