#include "modules/meters/meters.hpp"

#include <mutex>
#include <unordered_map>

#include "attest/codes.hpp"
#include "attest/p256.hpp"
#include "attest/virtual_platform.hpp"
#include "attest/x509.hpp"
#include "codec/codec.hpp"

namespace gridpact::meters {
namespace {

constexpr std::string_view kParamsKey = "meters/params";
constexpr std::string_view kRootPrefix = "meters/root/";
constexpr std::string_view kMeasPrefix = "meters/meas/";
constexpr std::string_view kMeterPrefix = "meters/m/";
constexpr std::string_view kOwnerPrefix = "meters/own/";
constexpr std::string_view kMicrogridPrefix = "meters/mg/";
constexpr std::string_view kLastPrefix = "meters/last/";
constexpr std::string_view kReadingPrefix = "meters/r/";
constexpr std::string_view kReadingTag = "GRIDPACT/reading/v1";
constexpr std::string_view kRegistrationTag = "GRIDPACT/meters/register/v1";
constexpr uint8_t kRecordVersion = 1;

std::string meter_key(const Hash32& id) {
  return std::string(kMeterPrefix) + std::string(id.view());
}
std::string last_key(const Hash32& id) {
  return std::string(kLastPrefix) + std::string(id.view());
}
std::string owner_index_key(const PublicKey& owner, const Hash32& id) {
  return std::string(kOwnerPrefix) + std::string(owner.view()) + std::string(id.view());
}
std::string microgrid_index_key(std::string_view mg, const Hash32& id) {
  return std::string(kMicrogridPrefix) + std::string(mg) + "/" + std::string(id.view());
}
std::string reading_key(const Hash32& id, uint64_t period) {
  return std::string(kReadingPrefix) + std::string(id.view()) + encode_u64(period);
}

bool valid_microgrid(std::string_view mg) {
  if (mg.empty() || mg.size() > kMaxMicrogrid) return false;
  for (char c : mg)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

Bytes encode_record(const MeterInfo& m) {
  codec::Writer w;
  w.u8(kRecordVersion)
      .u8(static_cast<uint8_t>(m.platform))
      .bytes(m.public_key, attest::kP256PointSize)
      .fixed(m.owner)
      .str(m.microgrid, kMaxMicrogrid)
      .u8(static_cast<uint8_t>(m.source))
      .str(m.location, kMaxLocation)
      .str(m.firmware_version, kMaxFirmwareVersion)
      .boolean(m.revoked)
      .boolean(m.insecure)
      .boolean(m.measurement.has_value());
  if (m.measurement) w.fixed(*m.measurement);
  w.u64(m.registered_height).u64(m.registered_time_ms);
  return w.take();
}

Result<MeterInfo> decode_record(std::string_view v, const Hash32& id) {
  auto rec = codec::decode<MeterInfo>(
      reinterpret_cast<const uint8_t*>(v.data()), v.size(), [](codec::Reader& r) {
        MeterInfo m;
        if (r.u8() != kRecordVersion) throw Error(Code::kUnknownVersion, "meter record version");
        m.platform = static_cast<attest::Platform>(r.u8());
        m.public_key = r.bytes(attest::kP256PointSize);
        m.owner = r.fixed<32>();
        m.microgrid = r.str(kMaxMicrogrid);
        m.source = static_cast<Source>(r.u8());
        m.location = r.str(kMaxLocation);
        m.firmware_version = r.str(kMaxFirmwareVersion);
        m.revoked = r.boolean();
        m.insecure = r.boolean();
        if (r.boolean()) m.measurement = r.fixed<32>();
        m.registered_height = r.u64();
        m.registered_time_ms = r.u64();
        return m;
      });
  if (rec) rec.value().id = id;
  return rec;
}

std::string encode_last(const LastReading& l) {
  return encode_u64(l.seq) + encode_u64(l.period) + encode_u64(l.import_wh) +
         encode_u64(l.export_wh) + std::string(1, l.has_reading ? '\1' : '\0');
}

std::string encode_stored(const StoredReading& r) {
  return encode_u64(r.seq) + encode_u64(r.import_wh) + encode_u64(r.export_wh) +
         encode_u64(r.import_delta_wh) + encode_u64(r.export_delta_wh) +
         std::string(1, r.contiguous ? '\1' : '\0');
}

std::optional<StoredReading> decode_stored(std::string_view v, uint64_t period) {
  if (v.size() != 41) return std::nullopt;
  StoredReading r;
  r.period = period;
  r.seq = decode_u64(v.substr(0, 8)).value();
  r.import_wh = decode_u64(v.substr(8, 8)).value();
  r.export_wh = decode_u64(v.substr(16, 8)).value();
  r.import_delta_wh = decode_u64(v.substr(24, 8)).value();
  r.export_delta_wh = decode_u64(v.substr(32, 8)).value();
  r.contiguous = v[40] != 0;
  return r;
}

std::string encode_params(const Params& p) {
  std::string v = encode_u64(p.period_ms);
  v += p.allow_virtual ? '\1' : '\0';
  v += p.authority ? '\1' : '\0';
  v += std::string((p.authority ? *p.authority : PublicKey{}).view());
  v += static_cast<char>(p.firmware_pcr);
  return v;
}

std::optional<Hash32> hash_from(std::string_view raw) {
  if (raw.size() != 32) return std::nullopt;
  return Hash32::from_span(reinterpret_cast<const uint8_t*>(raw.data()));
}

Status bad_genesis(const std::string& what) {
  return error(Code::kBadGenesis, "meters." + what);
}

}  // namespace

void register_meter_codes() {
  attest::register_attest_codes();
  register_codes(kMeterCodes);
}

// ---- Sources ----

namespace {
constexpr std::string_view kSourceNames[] = {"consumer", "pv",      "wind", "hydro",
                                             "biomass",  "battery", "grid"};
}

bool is_renewable(Source s) {
  return s == Source::kPv || s == Source::kWind || s == Source::kHydro || s == Source::kBiomass;
}
std::string_view source_name(Source s) {
  auto i = static_cast<size_t>(s);
  return i < std::size(kSourceNames) ? kSourceNames[i] : "unknown";
}
std::optional<Source> parse_source(std::string_view name) {
  for (size_t i = 0; i < std::size(kSourceNames); ++i)
    if (kSourceNames[i] == name) return static_cast<Source>(i);
  return std::nullopt;
}

// ---- Codecs ----

Bytes encode(const RegisterPayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const RevokePayload& p) {
  return codec::encode_fields(p);
}
Bytes encode(const Reading& r) {
  return codec::encode_fields(r);
}
Bytes encode(const PolicyPayload& p) {
  return codec::encode_fields(p);
}
Result<RegisterPayload> decode_register(const Bytes& b) {
  return codec::decode_fields<RegisterPayload>(b);
}
Result<RevokePayload> decode_revoke(const Bytes& b) {
  return codec::decode_fields<RevokePayload>(b);
}
Result<Reading> decode_reading(const uint8_t* data, size_t size) {
  return codec::decode_fields<Reading>(data, size);
}
Result<PolicyPayload> decode_policy(const Bytes& b) {
  return codec::decode_fields<PolicyPayload>(b);
}

Hash32 meter_id_of(const Bytes& public_key) {
  return sha256(public_key);
}

Hash32 reading_digest(std::string_view chain_id, const Reading& r) {
  Bytes msg = codec::Writer()
                  .raw(reinterpret_cast<const uint8_t*>(kReadingTag.data()), kReadingTag.size())
                  .str(chain_id, kMaxChainId)
                  .fixed(r.meter_id)
                  .u64(r.period)
                  .u64(r.seq)
                  .u64(r.import_wh)
                  .u64(r.export_wh)
                  .take();
  return sha256(msg);
}

Bytes registration_challenge(const PublicKey& owner, const RegisterPayload& p) {
  Bytes msg =
      codec::Writer()
          .raw(reinterpret_cast<const uint8_t*>(kRegistrationTag.data()), kRegistrationTag.size())
          .fixed(owner)
          .str(p.microgrid, kMaxMicrogrid)
          .u8(static_cast<uint8_t>(p.source))
          .str(p.location, kMaxLocation)
          .str(p.firmware_version, kMaxFirmwareVersion)
          .u64(p.initial_import_wh)
          .u64(p.initial_export_wh)
          .take();
  Hash32 h = sha256(msg);
  return Bytes(h.bytes.begin(), h.bytes.end());
}

void sign_virtual(Reading& r, std::string_view chain_id, const KeyPair& key) {
  r.signature = key.sign(reading_digest(chain_id, r));
}

RegisterPayload virtual_registration(const KeyPair& meter, const PublicKey& owner,
                                     std::string_view chain_id, RegisterPayload p) {
  p.evidence.clear();
  Bytes key(meter.public_key().bytes.begin(), meter.public_key().bytes.end());
  auto nonce = attest::attestation_nonce(chain_id, key, registration_challenge(owner, p));
  p.evidence = attest::encode_evidence(attest::make_virtual_evidence(meter, nonce));
  return p;
}

Hash32 virtual_meter_id(const KeyPair& meter) {
  return meter_id_of(Bytes(meter.public_key().bytes.begin(), meter.public_key().bytes.end()));
}

Reading virtual_reading(const KeyPair& meter, std::string_view chain_id, uint64_t period,
                        uint64_t seq, uint64_t import_wh, uint64_t export_wh) {
  Reading r{virtual_meter_id(meter), period, seq, import_wh, export_wh, {}};
  sign_virtual(r, chain_id, meter);
  return r;
}

// ---- Reads ----

Params params(const StateReader& s) {
  Params p;
  auto v = s.get(kParamsKey);
  if (!v || v->size() != 8 + 1 + 1 + 32 + 1) return p;
  p.period_ms = decode_u64(std::string_view(*v).substr(0, 8)).value();
  p.allow_virtual = (*v)[8] != 0;
  if ((*v)[9] != 0)
    p.authority = PublicKey::from_span(reinterpret_cast<const uint8_t*>(v->data() + 10));
  p.firmware_pcr = static_cast<uint8_t>((*v)[42]);
  return p;
}

uint64_t period_length_ms(const StateReader& s) {
  return params(s).period_ms;
}

attest::Policy policy(const StateReader& s, std::optional<int64_t> at_time_s) {
  Params p = params(s);
  attest::Policy pol;
  pol.allow_virtual = p.allow_virtual;
  pol.firmware_pcr = p.firmware_pcr;
  pol.at_time = at_time_s;
  s.scan(kRootPrefix, [&](std::string_view, std::string_view v) {
    pol.trusted_roots.emplace_back(v.begin(), v.end());
    return true;
  });
  s.scan(kMeasPrefix, [&](std::string_view k, std::string_view) {
    if (auto h = hash_from(k.substr(kMeasPrefix.size()))) pol.allowed_measurements.push_back(*h);
    return true;
  });
  return pol;
}

std::optional<MeterInfo> find_meter(const StateReader& s, const Hash32& id) {
  auto v = s.get(meter_key(id));
  if (!v) return std::nullopt;
  auto m = decode_record(*v, id);
  if (!m) return std::nullopt;
  return std::move(m).value();
}

std::optional<LastReading> last_reading(const StateReader& s, const Hash32& id) {
  auto v = s.get(last_key(id));
  if (!v || v->size() != 33) return std::nullopt;
  std::string_view sv(*v);
  return LastReading{decode_u64(sv.substr(0, 8)).value(), decode_u64(sv.substr(8, 8)).value(),
                     decode_u64(sv.substr(16, 8)).value(), decode_u64(sv.substr(24, 8)).value(),
                     sv[32] != 0};
}

std::optional<StoredReading> stored_reading(const StateReader& s, const Hash32& id,
                                            uint64_t period) {
  auto v = s.get(reading_key(id, period));
  if (!v) return std::nullopt;
  return decode_stored(*v, period);
}

std::optional<PeriodEnergy> period_energy(const StateReader& s, const Hash32& id, uint64_t period) {
  auto r = stored_reading(s, id, period);
  if (!r || !r->contiguous) return std::nullopt;
  return PeriodEnergy{r->import_delta_wh, r->export_delta_wh};
}

std::vector<StoredReading> readings(const StateReader& s, const Hash32& id, uint64_t from,
                                    uint64_t to, size_t limit) {
  std::vector<StoredReading> out;
  std::string prefix = std::string(kReadingPrefix) + std::string(id.view());
  // Keys sort by big-endian period, so the scan is in period order; stop past `to`.
  s.scan(prefix, [&](std::string_view k, std::string_view v) {
    auto period = decode_u64(k.substr(prefix.size())).value_or(0);
    if (period > to || out.size() >= limit) return false;
    if (period >= from)
      if (auto r = decode_stored(v, period)) out.push_back(*r);
    return true;
  });
  return out;
}

std::vector<Hash32> meters_of_owner(const StateReader& s, const PublicKey& owner, size_t limit) {
  std::vector<Hash32> out;
  std::string prefix = std::string(kOwnerPrefix) + std::string(owner.view());
  s.scan(prefix, [&](std::string_view k, std::string_view) {
    if (out.size() >= limit) return false;
    if (auto h = hash_from(k.substr(prefix.size()))) out.push_back(*h);
    return true;
  });
  return out;
}

std::vector<Hash32> meters_in_microgrid(const StateReader& s, std::string_view mg, size_t limit) {
  std::vector<Hash32> out;
  if (!valid_microgrid(mg)) return out;
  std::string prefix = std::string(kMicrogridPrefix) + std::string(mg) + "/";
  s.scan(prefix, [&](std::string_view k, std::string_view) {
    if (out.size() >= limit) return false;
    if (auto h = hash_from(k.substr(prefix.size()))) out.push_back(*h);
    return true;
  });
  return out;
}

void import_meter(StateOverlay& s, const MeterInfo& m, uint64_t initial_import_wh,
                  uint64_t initial_export_wh) {
  Bytes rec = encode_record(m);
  s.put(meter_key(m.id), std::string(rec.begin(), rec.end()));
  s.put(owner_index_key(m.owner, m.id), "");
  s.put(microgrid_index_key(m.microgrid, m.id), "");
  s.put(last_key(m.id), encode_last({0, 0, initial_import_wh, initial_export_wh, false}));
}

json meter_json(const MeterInfo& m) {
  json j = {{"id", m.id.hex()},
            {"owner", m.owner.hex()},
            {"microgrid", m.microgrid},
            {"source", source_name(m.source)},
            {"renewable", is_renewable(m.source)},
            {"revoked", m.revoked},
            {"platform", m.platform == attest::Platform::kTpm2 ? "tpm2" : "virtual"},
            {"public_key", to_hex(m.public_key)},
            {"location", m.location},
            {"firmware_version", m.firmware_version},
            {"registered_height", m.registered_height},
            {"registered_time_ms", m.registered_time_ms}};
  if (m.measurement) j["measurement"] = m.measurement->hex();
  if (m.insecure) j["insecure"] = "INSECURE: virtual meter, software key, no hardware attestation";
  return j;
}

json reading_json(const StoredReading& r) {
  return {{"period", r.period},
          {"seq", r.seq},
          {"import_wh", r.import_wh},
          {"export_wh", r.export_wh},
          {"import_delta_wh", r.import_delta_wh},
          {"export_delta_wh", r.export_delta_wh},
          {"contiguous", r.contiguous}};
}

// ---- The module ----

// Parsed P-256 keys by meter id: parsing a point costs about as much as verifying, and a
// meter signs a reading every period. Only speed depends on it, never a result.
struct MetersModule::KeyCache {
  std::mutex mu;
  std::unordered_map<Hash32, attest::P256PublicKey, FixedBytesHasher> keys;
};

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
}
MetersModule::~MetersModule() = default;

// Virtual (software, INSECURE) meters are accepted on development chains only; the issuer
// doubles as the policy authority there.
std::string MetersModule::default_genesis(const DevelopmentAccounts& accounts) const {
  return "[meters]\nperiod_ms = 900000\nallow_virtual = true\nauthority = \"" +
         accounts.issuer.hex() + "\"\n";
}

std::vector<state::SchemaEntry> MetersModule::schema() const {
  return {{std::string(kParamsKey), "", "u64 period_ms, bool allow_virtual"},
          {std::string(kRootPrefix), "<sha256(der)>", "DER of a trusted enrolment-CA root"},
          {std::string(kMeasPrefix), "<measurement>", "\"\" : an allowed firmware measurement"},
          {std::string(kMeterPrefix), "<id>", "the meter record"},
          {std::string(kOwnerPrefix), "<owner><id>", "\"\"  index by owner"},
          {std::string(kMicrogridPrefix), "<microgrid>/<id>", "\"\"  index by microgrid"},
          {std::string(kLastPrefix), "<id>", "u64 seq, u64 period"},
          {std::string(kReadingPrefix), "<id><u64 period>", "u64 seq, u64 import_wh"}};
}

Status MetersModule::init_genesis(StateOverlay& s, const json& section) {
  Params p;
  if (!section.is_null() && !section.is_object()) return bad_genesis("[meters] must be a table");
  auto sec = section.is_object() ? section : json::object();
  if (sec.contains("period_ms")) {
    if (!sec["period_ms"].is_number_integer() || sec["period_ms"].get<int64_t>() <= 0)
      return bad_genesis("period_ms must be a positive integer");
    p.period_ms = sec["period_ms"].get<uint64_t>();
  }
  if (sec.contains("allow_virtual")) {
    if (!sec["allow_virtual"].is_boolean()) return bad_genesis("allow_virtual must be a boolean");
    p.allow_virtual = sec["allow_virtual"].get<bool>();
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
    p.firmware_pcr = sec["firmware_pcr"].get<uint8_t>();
  }
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

Status MetersModule::deliver_register(TxContext& ctx, const RegisterPayload& p) {
  auto ev = attest::decode_evidence(p.evidence);
  if (!ev) return error(attest::kMalformedEvidence, "evidence: " + ev.status().to_string());
  auto pol = policy(ctx.state, static_cast<int64_t>(ctx.block.time_ms / 1000));
  auto verified = attest::verify_evidence_for_chain(*ev, ctx.block.chain_id,
                                                    registration_challenge(ctx.tx.sender, p), pol);
  if (!verified) return verified.status();

  MeterInfo m;
  m.public_key = verified->signing_key;
  m.id = meter_id_of(m.public_key);
  if (ctx.state.get(meter_key(m.id)))
    return error(kMeterExists, "meter " + m.id.hex() + " is already registered");
  m.owner = ctx.tx.sender;
  m.microgrid = p.microgrid;
  m.source = p.source;
  m.platform = verified->platform;
  m.location = p.location;
  m.firmware_version = p.firmware_version;
  m.measurement = verified->measurement;
  m.insecure = verified->insecure;
  m.registered_height = ctx.block.height;
  m.registered_time_ms = ctx.block.time_ms;
  import_meter(ctx.state, m, p.initial_import_wh, p.initial_export_wh);
  ctx.events.push_back(
      make_event(RegisteredEvent{m.id, m.owner, m.microgrid, m.source, m.platform, m.insecure}));
  return ok();
}

Status MetersModule::deliver_revoke(TxContext& ctx, const RevokePayload& p) {
  auto m = find_meter(ctx.state, p.meter_id);
  if (!m) return error(kMeterNotFound, "no meter " + p.meter_id.hex());
  if (m->revoked) return error(kMeterRevoked, "meter " + m->id.hex() + " is already revoked");
  auto authority = params(ctx.state).authority;
  if (m->owner != ctx.tx.sender && authority != ctx.tx.sender)
    return error(kNotMeterOwner, "only the meter's owner or the meters authority may revoke it");
  m->revoked = true;
  Bytes rec = encode_record(*m);
  ctx.state.put(meter_key(m->id), std::string(rec.begin(), rec.end()));
  ctx.events.push_back(make_event(RevokedEvent{m->id, ctx.tx.sender}));
  return ok();
}

bool MetersModule::verify_reading_signature(const MeterInfo& m, const Hash32& digest,
                                            const Signature& sig) const {
  if (m.platform == attest::Platform::kVirtual) {
    if (m.public_key.size() != PublicKey::kSize) return false;
    return verify(PublicKey::from_span(m.public_key.data()), digest, sig);
  }
  if (m.public_key.size() != attest::kP256PointSize) return false;
  std::optional<attest::P256PublicKey> key;
  {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->keys.find(m.id);
    if (it != cache_->keys.end()) key = it->second;
  }
  if (!key) {
    key = attest::P256PublicKey::parse(attest::P256Point::from_span(m.public_key.data()));
    if (!key) return false;
    std::lock_guard lock(cache_->mu);
    if (cache_->keys.size() >= 100'000) cache_->keys.clear();  // bounded memory
    cache_->keys.emplace(m.id, *key);
  }
  return key->verify_digest(digest, sig);
}

Status MetersModule::deliver_reading(TxContext& ctx, const Reading& r) {
  auto m = find_meter(ctx.state, r.meter_id);
  if (!m) return error(kMeterNotFound, "no meter " + r.meter_id.hex());
  if (m->revoked) return error(kMeterRevoked, "meter " + m->id.hex() + " is revoked");
  if (!verify_reading_signature(*m, reading_digest(ctx.block.chain_id, r), r.signature))
    return error(kReadingBadSignature, "reading is not signed by meter " + m->id.hex());
  auto last = last_reading(ctx.state, m->id).value_or(LastReading{});
  if (r.seq <= last.seq)
    return error(kReadingReplayed, "sequence " + std::to_string(r.seq) +
                                       " is not after the last one, " + std::to_string(last.seq));
  if (ctx.state.get(reading_key(m->id, r.period)))
    return error(kDuplicateReading,
                 "period " + std::to_string(r.period) + " already has a reading");
  if (last.has_reading && r.period < last.period)
    return error(kPeriodOutOfOrder, "period " + std::to_string(r.period) +
                                        " is before the last reading's, " +
                                        std::to_string(last.period));
  uint64_t period_ms = params(ctx.state).period_ms;
  if (r.period > ctx.block.time_ms / period_ms)
    return error(kPeriodInFuture, "period " + std::to_string(r.period) + " has not started");
  if (r.import_wh < last.import_wh || r.export_wh < last.export_wh)
    return error(kRegisterBackwards,
                 "a register went backwards (import " + std::to_string(last.import_wh) + " -> " +
                     std::to_string(r.import_wh) + ", export " + std::to_string(last.export_wh) +
                     " -> " + std::to_string(r.export_wh) + ")");
  StoredReading st;
  st.period = r.period;
  st.seq = r.seq;
  st.import_wh = r.import_wh;
  st.export_wh = r.export_wh;
  st.import_delta_wh = r.import_wh - last.import_wh;
  st.export_delta_wh = r.export_wh - last.export_wh;
  st.contiguous = !last.has_reading || last.period + 1 == r.period;
  ctx.state.put(reading_key(m->id, r.period), encode_stored(st));
  ctx.state.put(last_key(m->id), encode_last({r.seq, r.period, r.import_wh, r.export_wh, true}));
  ctx.events.push_back(
      make_event(ReadingEvent{m->id, st.period, st.seq, st.import_delta_wh, st.export_delta_wh}));
  return ok();
}

Status MetersModule::deliver_policy(TxContext& ctx, const PolicyPayload& p) {
  if (params(ctx.state).authority != ctx.tx.sender)
    return error(kNotMeterAuthority, "only the meters authority may change the policy");
  return change_policy(ctx.state, ctx.events, p);
}

Status change_policy(StateOverlay& state, std::vector<Event>& events, const PolicyPayload& p) {
  std::string what;
  switch (p.op) {
    case PolicyOp::kAddRoot: {
      auto certs = attest::parse_certificates(
          std::string_view(reinterpret_cast<const char*>(p.data.data()), p.data.size()));
      if (!certs || certs->size() != 1)
        return error(attest::kBadPolicy, "add-root needs exactly one DER certificate");
      const Bytes& der = certs->front();
      state.put(std::string(kRootPrefix) + std::string(sha256(der).view()),
                std::string(der.begin(), der.end()));
      what = "add-root " + sha256(der).hex();
      break;
    }
    case PolicyOp::kRemoveRoot:
    case PolicyOp::kAddMeasurement:
    case PolicyOp::kRemoveMeasurement: {
      if (p.data.size() != 32) return error(attest::kBadPolicy, "needs a 32-byte hash");
      auto h = Hash32::from_span(p.data.data());
      std::string key = std::string(p.op == PolicyOp::kRemoveRoot ? kRootPrefix : kMeasPrefix) +
                        std::string(h.view());
      bool present = state.get(key).has_value();
      if (p.op == PolicyOp::kAddMeasurement) {
        state.put(key, "");
        what = "add-measurement " + h.hex();
      } else {
        if (!present) return error(Code::kNotFound, "policy has no " + h.hex());
        state.erase(key);
        what = (p.op == PolicyOp::kRemoveRoot ? "remove-root " : "remove-measurement ") + h.hex();
      }
      break;
    }
  }
  events.push_back(make_event(PolicyEvent{what}));
  return ok();
}

std::vector<std::string> MetersModule::account_keys(const PublicKey&) const {
  // A meter's records are keyed by meter id, not by account; GET /v1/meters/meters?owner=
  // lists an account's meters.
  return {};
}

namespace {

Result<Hash32> parse_id(std::string_view hex) {
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, "meter id must be 64 hex digits");
  return *h;
}

Result<uint64_t> param_u64(const json& params, const char* name, uint64_t dflt) {
  if (!params.contains(name)) return dflt;
  const json& v = params[name];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) return error(Code::kInvalidArgument, std::string(name) + " must be a number");
  const std::string& s = v.get_ref<const std::string&>();
  uint64_t out = 0;
  if (s.empty() || s.size() > 20)
    return error(Code::kInvalidArgument, std::string(name) + " must be a number");
  for (char c : s) {
    if (c < '0' || c > '9')
      return error(Code::kInvalidArgument, std::string(name) + " must be a number");
    auto next = checked_mul(out, 10);
    if (next) next = checked_add(*next, static_cast<uint64_t>(c - '0'));
    if (!next) return error(Code::kInvalidArgument, std::string(name) + " is too large");
    out = *next;
  }
  return out;
}

json meter_list(const StateReader& s, const std::vector<Hash32>& ids) {
  json list = json::array();
  for (const Hash32& id : ids)
    if (auto m = find_meter(s, id)) list.push_back(meter_json(*m));
  return list;
}

}  // namespace

Result<json> MetersModule::query(const StateReader& s, std::string_view path, const json& q) const {
  if (path == "params") {
    Params p = params(s);
    json roots = json::array(), meas = json::array();
    s.scan(kRootPrefix, [&](std::string_view k, std::string_view) {
      roots.push_back(to_hex(reinterpret_cast<const uint8_t*>(k.data()) + kRootPrefix.size(),
                             k.size() - kRootPrefix.size()));
      return true;
    });
    s.scan(kMeasPrefix, [&](std::string_view k, std::string_view) {
      meas.push_back(to_hex(reinterpret_cast<const uint8_t*>(k.data()) + kMeasPrefix.size(),
                            k.size() - kMeasPrefix.size()));
      return true;
    });
    json j = {{"period_ms", p.period_ms},
              {"allow_virtual", p.allow_virtual},
              {"firmware_pcr", p.firmware_pcr},
              {"trusted_roots", roots},
              {"allowed_measurements", meas}};
    if (p.authority) j["authority"] = p.authority->hex();
    if (p.allow_virtual) j["insecure"] = "INSECURE: virtual (software) meters are accepted";
    return j;
  }
  if (path.starts_with("meter/")) {
    auto id = parse_id(path.substr(6));
    if (!id) return id.status();
    auto m = find_meter(s, *id);
    if (!m) return error(kMeterNotFound, "no meter " + id->hex());
    json j = meter_json(*m);
    if (auto l = last_reading(s, *id)) {
      j["last_seq"] = l->seq;
      if (l->has_reading) j["last_period"] = l->period;
      j["import_wh"] = l->import_wh;
      j["export_wh"] = l->export_wh;
    }
    return j;
  }
  if (path == "meters") {
    auto limit = param_u64(q, "limit", kMaxQueryResults);
    if (!limit) return limit.status();
    size_t n = static_cast<size_t>(std::min<uint64_t>(*limit, kMaxQueryResults));
    if (q.contains("owner")) {
      auto owner = q["owner"].is_string() ? PublicKey::from_hex(q["owner"].get<std::string>())
                                          : std::nullopt;
      if (!owner) return error(Code::kInvalidArgument, "owner must be 64 hex digits");
      return json{{"meters", meter_list(s, meters_of_owner(s, *owner, n))}};
    }
    if (q.contains("microgrid") && q["microgrid"].is_string()) {
      auto mg = q["microgrid"].get<std::string>();
      if (!valid_microgrid(mg)) return error(Code::kInvalidArgument, "bad microgrid name");
      return json{{"meters", meter_list(s, meters_in_microgrid(s, mg, n))}};
    }
    return error(Code::kInvalidArgument, "meters needs owner=<pk> or microgrid=<name>");
  }
  if (path.starts_with("readings/")) {
    auto id = parse_id(path.substr(9));
    if (!id) return id.status();
    if (!find_meter(s, *id)) return error(kMeterNotFound, "no meter " + id->hex());
    auto from = param_u64(q, "from", 0);
    auto to = param_u64(q, "to", UINT64_MAX);
    auto limit = param_u64(q, "limit", kMaxQueryResults);
    if (!from) return from.status();
    if (!to) return to.status();
    if (!limit) return limit.status();
    json list = json::array();
    for (const auto& r : readings(
             s, *id, *from, *to, static_cast<size_t>(std::min<uint64_t>(*limit, kMaxQueryResults))))
      list.push_back(reading_json(r));
    return json{{"meter", id->hex()}, {"readings", list}};
  }
  if (path.starts_with("latest/")) {
    auto id = parse_id(path.substr(7));
    if (!id) return id.status();
    auto l = last_reading(s, *id);
    if (!l) return error(kMeterNotFound, "no meter " + id->hex());
    json j = {{"meter", id->hex()},
              {"seq", l->seq},
              {"import_wh", l->import_wh},
              {"export_wh", l->export_wh},
              {"has_reading", l->has_reading}};
    if (l->has_reading) j["period"] = l->period;
    return j;
  }
  if (path.starts_with("energy/")) {
    auto rest = path.substr(7);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos)
      return error(Code::kInvalidArgument, "energy/<meter>/<period>");
    auto id = parse_id(rest.substr(0, slash));
    if (!id) return id.status();
    auto period = param_u64(json{{"period", std::string(rest.substr(slash + 1))}}, "period", 0);
    if (!period) return period.status();
    auto e = period_energy(s, *id, *period);
    if (!e) return error(Code::kNotFound, "no contiguous reading for that period");
    return json{{"meter", id->hex()},
                {"period", *period},
                {"import_wh", e->import_wh},
                {"export_wh", e->export_wh}};
  }
  return error(Code::kNotFound, "no meters query " + std::string(path));
}

}  // namespace gridpact::meters
