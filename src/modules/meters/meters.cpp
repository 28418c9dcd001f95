#include "modules/meters/meters.hpp"

#include "attest/codes.hpp"
#include "attest/x509.hpp"
#include "modules/meters/records.hpp"

namespace gridpact::meters {

void register_meter_codes() {
  attest::register_attest_codes();
  register_codes(kMeterCodes);
}

namespace {

Status check_register(const Transaction&, const RegisterPayload& p) {
  if (!valid_microgrid(p.microgrid))
    return error(kBadMeterField, "microgrid must be 1-64 characters of [A-Za-z0-9._-]");
  return ok();
}

json register_json(const RegisterPayload& p) {
  json j = {{"microgrid", p.microgrid},
            {"source", source_name(p.source)},
            {"location", p.location},
            {"firmware_version", p.firmware_version},
            {"initial_import_wh", p.initial_import_wh},
            {"initial_export_wh", p.initial_export_wh},
            {"evidence_bytes", p.evidence.size()}};
  if (auto e = attest::decode_evidence(p.evidence)) {
    j["platform"] = e->platform == attest::Platform::kTpm2 ? "tpm2" : "virtual";
    j["meter"] = meter_id_of(e->signing_key).hex();
    if (e->platform == attest::Platform::kVirtual)
      j["insecure"] = "INSECURE: virtual meter, software key";
  }
  return j;
}

}  // namespace

MetersModule::MetersModule() : cache_(std::make_unique<KeyCache>()) {
  register_meter_codes();
  message(kRegister, "meters/register", &MetersModule::deliver_register,
          {.check = check_register, .view = register_json});
  message(kRevoke, "meters/revoke", &MetersModule::deliver_revoke);
  message(kReading, "meters/reading", &MetersModule::deliver_reading,
          {.malformed = kMalformedReading});
  message(kPolicy, "meters/policy", &MetersModule::deliver_policy);
  declare_governed_actions();
  event<RegisteredEvent>();
  event<RevokedEvent>();
  event<ReadingEvent>();
  event<PolicyEvent>();
  declare_routes();
}
MetersModule::~MetersModule() = default;

// Virtual (software, INSECURE) meters are accepted on development chains only; the issuer
// doubles as the policy authority there.
std::string MetersModule::default_genesis(const DevelopmentAccounts& accounts) const {
  return "[meters]\nperiod_ms = 900000\nallow_virtual = true\nauthority = \"" +
         accounts.issuer.hex() + "\"\n";
}

std::vector<state::SchemaEntry> MetersModule::schema() const {
  return {{std::string(kParamsKey), "", "bool has_authority, fixed32 authority"},
          {std::string(kPeriodsPrefix), "<u64 first>", "u64 start_ms, u64 period_ms"},
          {std::string(kRootPrefix), "<sha256(der)>", "DER of a trusted enrolment-CA root"},
          {std::string(kMeasPrefix), "<measurement>", "\"\" : an allowed firmware measurement"},
          {std::string(kMeterPrefix), "<id>", "the meter record"},
          {std::string(kMeterRootPrefix), "<id>", "sha256(der) of the trusted root"},
          {std::string(kOwnerPrefix), "<owner><id>", "\"\"  index by owner"},
          {std::string(kMicrogridPrefix), "<microgrid>/<id>", "\"\"  index by microgrid"},
          {std::string(kLastPrefix), "<id>", "u64 seq, u64 period"},
          {std::string(kReadingPrefix), "<id><u64 period>", "u64 seq, u64 import_wh"},
          {"meters/use/", "<id>", "u8 kind, u64 id, u64 floor, u64 until"}};
}

std::vector<ParamSpec> MetersModule::param_table() const {
  return {ParamSpec::u64(std::string(kPeriodParam), kDefaultPeriodMs, 1000, 86'400'000,
                         "settlement period length, ms (a change applies from the next "
                         "period boundary)"),
          ParamSpec::boolean("meters.allow_virtual", false,
                             "virtual (INSECURE, software key) meters may register"),
          ParamSpec::u64("meters.firmware_pcr", attest::kDefaultFirmwarePcr, 0,
                         attest::kNumPcrs - 1, "the TPM PCR that holds the firmware measurement"),
          ParamSpec::boolean(std::string(kFirstReadingParam), true,
                             "a meter's first reading is accepted only from its registration "
                             "period and counts only for that period (off: any period, which "
                             "lets an owner put all energy since registration into one)")};
}

void MetersModule::end_block(BlockContext& ctx) {
  StateOverlay& s = ctx.state;
  if (!s.get(param_key(kPeriodParam))) return;  // not set up on this chain
  uint64_t want = read_u64_param(s, kPeriodParam);
  const PeriodSchedule schedule(s);
  const auto& g = schedule.segments();
  if (g.back().period_ms == want) return;
  // The period in progress keeps its length; the next one starts the new segment. A
  // segment that has not started yet is replaced (same first period and start).
  uint64_t now = schedule.at(ctx.block.time_ms);
  PeriodSegment next{now + 1, schedule.start_ms(now + 1), want};
  if (g.size() > 1 && g.back().first_period > now) {
    next.first_period = g.back().first_period;
    next.start_ms = g.back().start_ms;
  }
  put_segment(s, next);
}

Status MetersModule::init_genesis(StateOverlay& s, const json& section) {
  Params p;
  if (!section.is_null() && !section.is_object()) return bad_genesis("[meters] must be a table");
  auto sec = section.is_object() ? section : json::object();
  if (sec.contains("period_ms")) {
    if (!sec["period_ms"].is_number_integer() || sec["period_ms"].get<int64_t>() <= 0)
      return bad_genesis("period_ms must be a positive integer");
  }
  if (sec.contains("allow_virtual")) {
    if (!sec["allow_virtual"].is_boolean()) return bad_genesis("allow_virtual must be a boolean");
  }
  if (sec.contains("authority")) {
    auto a = sec["authority"].is_string() ? PublicKey::from_hex(sec["authority"].get<std::string>())
                                          : std::nullopt;
    if (!a) return bad_genesis("authority must be a 64-hex-digit public key");
    p.authority = *a;
  }
  if (sec.contains("firmware_pcr")) {
    if (!sec["firmware_pcr"].is_number_integer() || sec["firmware_pcr"].get<int64_t>() < 0 ||
        sec["firmware_pcr"].get<int64_t>() >= static_cast<int64_t>(attest::kNumPcrs))
      return bad_genesis("firmware_pcr must be 0..23");
  }
  if (Status st = init_params(s, param_table(), sec); !st) return st;
  put_segment(s, {0, 0, read_u64_param(s, kPeriodParam)});
  s.put(kParamsKey, encode_params(p));
  if (sec.contains("trusted_roots")) {
    std::vector<std::string> pems;
    if (sec["trusted_roots"].is_string()) {
      pems.push_back(sec["trusted_roots"].get<std::string>());
    } else if (sec["trusted_roots"].is_array()) {
      for (const auto& x : sec["trusted_roots"]) {
        if (!x.is_string()) return bad_genesis("trusted_roots must be PEM strings");
        pems.push_back(x.get<std::string>());
      }
    } else {
      return bad_genesis("trusted_roots must be a PEM string or an array of them");
    }
    for (const auto& pem : pems) {
      auto certs = attest::parse_certificates(pem);
      if (!certs) return bad_genesis("trusted_roots: " + certs.status().message);
      for (const Bytes& der : *certs)
        s.put(std::string(kRootPrefix) + std::string(sha256(der).view()),
              std::string(der.begin(), der.end()));
    }
  }
  if (sec.contains("allowed_measurements")) {
    if (!sec["allowed_measurements"].is_array())
      return bad_genesis("allowed_measurements must be an array of 64-hex-digit hashes");
    for (const auto& x : sec["allowed_measurements"]) {
      auto h = x.is_string() ? Hash32::from_hex(x.get<std::string>()) : std::nullopt;
      if (!h) return bad_genesis("allowed_measurements must be 64-hex-digit hashes");
      s.put(std::string(kMeasPrefix) + std::string(h->view()), "");
    }
  }
  return ok();
}

std::vector<std::string> MetersModule::account_keys(const PublicKey&) const {
  // A meter's records are keyed by meter id, not by account; GET /v1/meters/meters?owner=
  // lists an account's meters.
  return {};
}

}  // namespace gridpact::meters
