// The meters module: a registry of attested energy meters and their signed readings.
//
// A meter is registered by its owner with attestation evidence (src/attest) for the key
// that signs its readings. The evidence must verify against the policy held in state
// (trusted enrolment-CA roots, allowed firmware measurements, whether `virtual` software
// meters are allowed at all) at the block's time, and its nonce must be
// attestation_nonce(chain_id, signing key, registration_challenge(...)), which binds the
// quote to this chain, this key, the owner and every registered field: copying evidence
// out of a transaction cannot register the meter to anyone else or elsewhere.
//
// Readings: per settlement period, the cumulative import (OBIS 1.8.0) and export (OBIS
// 2.8.0) registers in Wh at the end of the period, a sequence number, signed by the
// meter's key over reading_digest() (Ed25519 for virtual meters, ECDSA P-256 r||s from
// the TPM for tpm2 meters). Any account may relay a reading: the meter's signature is
// what counts. A virtual meter may also send its reading itself (the transaction's
// sender is the meter's key): the transaction's signature, checked before any handler
// runs and covering the chain id and the whole reading, is then the meter's, and the
// reading's own signature field is not checked (one signature per reading, not two).
// Energy of a period is the register delta to the meter's previous reading (its initial
// registers for the first one).
//
// Transactions (payload encodings in codec rules):
//   0x0201 meters/register  bytes evidence (<= 24 KiB), str microgrid (<= 64,
//                           [A-Za-z0-9._-]), u8 source, str location (<= 128),
//                           str firmware_version (<= 64), u64 initial_import_wh,
//                           u64 initial_export_wh.        The sender becomes the owner.
//   0x0202 meters/revoke    fixed32 meter_id.             Owner or policy authority.
//   0x0203 meters/reading   the encoded Reading below.    Any sender (a relay).
//   0x0204 meters/policy    u8 op (1 add root, 2 remove root, 3 add measurement,
//                           4 remove measurement), bytes data (DER certificate, <= 4096,
//                           or a 32-byte root hash / measurement). Authority only.
//
// The attestation policy is the consortium's: governance proposals change it through the
// governed actions meters/add_root (bytes der, a DER or PEM certificate), meters/remove_root
// (fixed32 root), meters/add_measurement and meters/remove_measurement (fixed32
// measurement), see governed.cpp. The genesis option `authority` keeps a single key that
// may also change it with meters/policy (development chains name the issuer); a chain
// without it changes its policy by governance only.
//
// Registration refusals: BAD_METER_FIELD (microgrid name), the attest codes of
// verify_evidence (MALFORMED_EVIDENCE, VIRTUAL_NOT_ALLOWED, BAD_QUOTE_SIGNATURE,
// ATTEST_NONCE_MISMATCH, PCR_MISMATCH, MEASUREMENT_NOT_ALLOWED, UNTRUSTED_CA,
// KEY_NOT_CERTIFIED), METER_EXISTS (also for a revoked meter: a key is never reused).
// Revocation: METER_NOT_FOUND, METER_REVOKED, NOT_METER_OWNER. Policy: NOT_METER_AUTHORITY,
// BAD_ATTEST_POLICY, NOT_FOUND (removing what is not there).
//
// Reading encoding (also the MQTT payload and what the agent publishes):
//   u8 version = 1, fixed32 meter_id, u64 period, u64 seq, u64 import_wh, u64 export_wh,
//   fixed64 signature
// reading_digest = SHA-256("GRIDPACT/reading/v1" || u32 len || chain_id || meter_id ||
//                          u64 period || u64 seq || u64 import_wh || u64 export_wh)
//
// Reading checks, in order: meter known (METER_NOT_FOUND), not revoked (METER_REVOKED),
// signature unless the meter sent it (READING_BAD_SIGNATURE), seq > last seq
// (READING_REPLAYED), a reading for the period already on chain (DUPLICATE_READING),
// period before the last one
// (PERIOD_OUT_OF_ORDER), period > block time / period_ms (PERIOD_IN_FUTURE), a register
// below the previous value (REGISTER_BACKWARDS).
// A reading for the period still in progress is accepted: a meter normally reports just
// after a period ends, and whatever it reports first for a period is final.
//
// Parameters (ledger/params.hpp; governance changes them): meters.period_ms (1 s to 1 day),
// meters.allow_virtual, meters.firmware_pcr (0..23). The attestation policy reads the last
// two at each registration.
//
// Period schedule. Period indices are continuous and never go back, whatever the length:
// the schedule is a list of segments, each (first period, its start time, length). The
// period in progress at time t is first + (t - start) / length of the last segment that has
// started by t; period p starts at start + (p - first) x length of the last segment with
// first <= p. When meters.period_ms differs from the last segment's length, the meters
// end_block adds a segment that starts at the next period boundary (or replaces a segment
// that has not started yet): the period in progress keeps its length, the next one uses
// the new length. Every module reads period times through PeriodSchedule (or the
// period_at / period_start_ms shorthands): market gates and settlement, agreements
// billing, tokens minting, readings.
//
// State keys (ids and keys as raw bytes, numbers big-endian):
//   meters/params               bool has_authority, fixed32 authority
//   meters/periods/<u64 first>  u64 start_ms, u64 period_ms: a segment of the schedule
//   meters/root/<sha256(der)>   DER of a trusted enrolment-CA root
//   meters/meas/<measurement>   "" : an allowed firmware measurement (32 bytes)
//   meters/m/<id>               the meter record (encode_meter_record)
//   meters/mroot/<id>           sha256(der) of the trusted root a tpm2 meter's AK chained
//                               to at registration
//   meters/own/<owner><id>      ""  index by owner
//   meters/mg/<microgrid>/<id>  ""  index by microgrid
//   meters/last/<id>            u64 seq, u64 period, u64 import_wh, u64 export_wh,
//                               bool has_reading (registers start at the initial ones)
//   meters/r/<id><u64 period>   u64 seq, u64 import_wh, u64 export_wh, u64 import_delta,
//                               u64 export_delta, bool contiguous
//   meters/use/<id>             u8 kind, u64 id, u64 floor, u64 until: the meter's use
//
// Uses: a generating meter's export is paid by one use at a time, so no Wh is paid twice:
// either the market (offers on the meter, id 0) or one agreement (the agreements module
// binds its asset's and premises' meters from its start period to its end when it becomes
// active). A use holds the meter for settlement periods [floor, until); a different use may
// bind it only from `until` on (METER_IN_USE), and then holds it from there. Offers extend
// the market's use to their period (a cancelled offer does not shorten it); an agreement
// ended early or defaulted gives the meter back from the period it closed in.
//
// A reading is "contiguous" when it is the meter's first and for its registration period
// (the period of the registration block's time; delta from the registration's initial
// registers) or the previous reading is for period - 1. A first reading for an earlier
// period is refused (PERIOD_OUT_OF_ORDER); one for a later period is accepted but not
// contiguous, so a meter that starts reporting late first reports the periods since its
// registration (next_contiguous_period()). The parameter
// meters.first_reading_from_registration (on by default) turns this rule off when false: a
// first reading of any period then counts. period_energy() returns
// only contiguous readings: a reading after a gap covers several periods and is not
// attributed to any one of them (so nobody can bunch energy into one period by skipping).
//
// A tpm2 meter is bound to the trusted root its AK chained to at registration (mroot).
// When the authority removes that root, the meter's readings are refused
// (METER_ROOT_REMOVED) from then on; readings already committed stay, and adding the root
// back restores it. To move a meter under another root, revoke it and register a new key.
//
// Codes 1100-1199 (names registered by register_meter_codes()).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "attest/evidence.hpp"
#include "attest/verifier.hpp"
#include "ledger/module.hpp"

namespace gridpact::meters {

// ---- The contract other modules read ----

enum class Source : uint8_t {
  kConsumer = 0,
  kPv = 1,
  kWind = 2,
  kHydro = 3,
  kBiomass = 4,
  kBattery = 5,
  kGrid = 6
};
bool is_renewable(Source s);  // pv, wind, hydro, biomass
std::string_view source_name(
    Source s);  // "consumer","pv","wind","hydro","biomass","battery","grid"
std::optional<Source> parse_source(std::string_view name);

struct MeterInfo {
  Hash32 id;              // SHA-256 of the meter's public key bytes
  PublicKey owner;        // the account that owns the meter
  std::string microgrid;  // e.g. "mg-north" (<= 64 bytes)
  Source source = Source::kConsumer;
  bool revoked = false;
  // Beyond the contract: what the registry also records.
  attest::Platform platform = attest::Platform::kVirtual;
  Bytes public_key;  // 32-byte Ed25519 (virtual) or 65-byte SEC1 P-256 (tpm2)
  std::string location;
  std::string firmware_version;
  std::optional<Hash32> measurement;  // tpm2: the allowed measurement the quote matched
  bool insecure = true;               // virtual meters: always labelled INSECURE
  uint64_t registered_height = 0;
  uint64_t registered_time_ms = 0;
};
std::optional<MeterInfo> find_meter(const StateReader& s, const Hash32& meter_id);
// A meter record as stored under meters/m/<id> (for readers that scan the records).
std::optional<MeterInfo> decode_meter(std::string_view record, const Hash32& meter_id);

struct PeriodEnergy {
  uint64_t import_wh = 0;
  uint64_t export_wh = 0;
};
// Energy metered in settlement period `period` (register deltas), or nullopt if that
// period's reading is not (yet) on chain or follows a gap (see above).
std::optional<PeriodEnergy> period_energy(const StateReader& s, const Hash32& meter_id,
                                          uint64_t period);
// The meter's current use (see "Uses" above), if it ever had one.
enum class UseKind : uint8_t { kMarket = 1, kAgreement = 2 };
struct MeterUse {
  UseKind kind = UseKind::kMarket;
  uint64_t id = 0;
  uint64_t floor = 0, until = 0;  // holds periods [floor, until)
};
std::optional<MeterUse> meter_use(const StateReader& s, const Hash32& meter);
// Binds `meter` to use (kind, id) for periods [from_period, until_period), extending the
// use it already serves; METER_IN_USE if another use holds it at from_period or later.
Status bind_meter(StateOverlay& s, const Hash32& meter, UseKind kind, uint64_t id,
                  uint64_t from_period, uint64_t until_period);
// Use (kind, id) ends before `until_period` (if it still holds the meter).
void end_meter_use(StateOverlay& s, const Hash32& meter, UseKind kind, uint64_t id,
                   uint64_t until_period);
struct PeriodSegment {
  uint64_t first_period = 0, start_ms = 0, period_ms = 900'000;
};
// The period schedule (see "Period schedule"), read from state once: reading it is a scan,
// so a handler that asks it several questions keeps one.
class PeriodSchedule {
 public:
  explicit PeriodSchedule(const StateReader& s);
  // Settlement period length in ms of the period in progress at the latest segment
  // (genesis [meters] period_ms, default 900000 = 15 min, then governance).
  uint64_t length_ms() const { return segments_.back().period_ms; }
  // The period in progress at `time_ms`, and when period `period` starts and ends.
  uint64_t at(uint64_t time_ms) const;
  uint64_t start_ms(uint64_t period) const;
  uint64_t end_ms(uint64_t period) const;
  // The first period that starts at or after `time_ms`.
  uint64_t from(uint64_t time_ms) const;
  const std::vector<PeriodSegment>& segments() const { return segments_; }  // never empty

 private:
  std::vector<PeriodSegment> segments_;
};
// The same questions, each reading the schedule afresh.
uint64_t period_length_ms(const StateReader& s);
uint64_t period_at(const StateReader& s, uint64_t time_ms);
uint64_t period_start_ms(const StateReader& s, uint64_t period);
uint64_t period_end_ms(const StateReader& s, uint64_t period);
uint64_t period_from(const StateReader& s, uint64_t time_ms);

// ---- Transactions and codes ----

constexpr uint16_t kRegister = 0x0201;
constexpr uint16_t kRevoke = 0x0202;
constexpr uint16_t kReading = 0x0203;
constexpr uint16_t kPolicy = 0x0204;

constexpr uint64_t kDefaultPeriodMs = 900'000;
constexpr size_t kMaxEvidence = 24 * 1024;
constexpr size_t kMaxMicrogrid = 64;
constexpr size_t kMaxLocation = 128;
constexpr size_t kMaxFirmwareVersion = 64;
constexpr size_t kMaxPolicyData = 4096;
constexpr uint8_t kReadingVersion = 1;
constexpr size_t kReadingSize = 1 + 32 + 8 * 4 + 64;
constexpr size_t kMaxQueryResults = 1000;

// Error codes: X(constant, number, name, meaning).
#define GRIDPACT_METERS_CODES(X)                                                                   \
  X(kMeterNotFound, 1100, "METER_NOT_FOUND", "no meter is registered with that id")                \
  X(kMeterExists, 1101, "METER_EXISTS", "a meter with that key is or was registered")              \
  X(kMeterRevoked, 1102, "METER_REVOKED", "the meter is revoked")                                  \
  X(kReadingBadSignature, 1103, "READING_BAD_SIGNATURE",                                           \
    "the reading is not signed by the meter key")                                                  \
  X(kReadingReplayed, 1104, "READING_REPLAYED", "the reading sequence is not above the last one")  \
  X(kDuplicateReading, 1105, "DUPLICATE_READING",                                                  \
    "the meter already has a reading for the period")                                              \
  X(kRegisterBackwards, 1106, "REGISTER_BACKWARDS", "a register is below its previous value")      \
  X(kPeriodInFuture, 1107, "PERIOD_IN_FUTURE", "the reading is for a period after the block time") \
  X(kPeriodOutOfOrder, 1108, "PERIOD_OUT_OF_ORDER",                                                \
    "the reading is for a period before the last one")                                             \
  X(kNotMeterOwner, 1109, "NOT_METER_OWNER", "only the meter owner (or authority) may do this")    \
  X(kNotMeterAuthority, 1110, "NOT_METER_AUTHORITY",                                               \
    "only the meters policy authority may do this")                                                \
  X(kBadMeterField, 1111, "BAD_METER_FIELD", "a registration field is malformed")                  \
  X(kMalformedReading, 1112, "MALFORMED_READING", "a published reading does not decode")           \
  X(kTopicMismatch, 1113, "TOPIC_MISMATCH", "an MQTT topic names another meter than its reading")  \
  X(kMeterInUse, 1114, "METER_IN_USE",                                                             \
    "the meter's export is already sold by another use for those periods")                         \
  X(kMeterRootRemoved, 1115, "METER_ROOT_REMOVED",                                                 \
    "the enrolment root the meter was registered under is no longer trusted")
GRIDPACT_CODES(kMeterCodes, "meters", 1100, GRIDPACT_METERS_CODES);
void register_meter_codes();

struct RegisterPayload {
  Bytes evidence;  // attest::encode_evidence
  std::string microgrid;
  Source source = Source::kConsumer;
  std::string location;
  std::string firmware_version;
  uint64_t initial_import_wh = 0;
  uint64_t initial_export_wh = 0;
  static constexpr auto fields = std::tuple{
      codec::field("evidence", &RegisterPayload::evidence, codec::max_len(kMaxEvidence)),
      codec::field("microgrid", &RegisterPayload::microgrid, codec::max_len(kMaxMicrogrid)),
      codec::field("source", &RegisterPayload::source,
                   codec::range(Source::kConsumer, Source::kGrid), codec::names(source_name)),
      codec::field("location", &RegisterPayload::location, codec::max_len(kMaxLocation)),
      codec::field("firmware_version", &RegisterPayload::firmware_version,
                   codec::max_len(kMaxFirmwareVersion)),
      codec::field("initial_import_wh", &RegisterPayload::initial_import_wh),
      codec::field("initial_export_wh", &RegisterPayload::initial_export_wh)};
};
struct RevokePayload {
  Hash32 meter_id;
  static constexpr auto fields = std::tuple{codec::field("meter", &RevokePayload::meter_id)};
};
struct Reading {
  Hash32 meter_id;
  uint64_t period = 0;
  uint64_t seq = 0;
  uint64_t import_wh = 0;  // OBIS 1.8.0, cumulative
  uint64_t export_wh = 0;  // OBIS 2.8.0, cumulative
  Signature signature;     // Ed25519, or P-256 r||s
  static constexpr auto fields =
      std::tuple{codec::constant("version", kReadingVersion, Code::kUnknownVersion),
                 codec::field("meter", &Reading::meter_id),
                 codec::field("period", &Reading::period),
                 codec::field("seq", &Reading::seq),
                 codec::field("import_wh", &Reading::import_wh),
                 codec::field("export_wh", &Reading::export_wh),
                 codec::field("signature", &Reading::signature)};
};
enum class PolicyOp : uint8_t {
  kAddRoot = 1,
  kRemoveRoot = 2,
  kAddMeasurement = 3,
  kRemoveMeasurement = 4
};
struct PolicyPayload {
  PolicyOp op = PolicyOp::kAddMeasurement;
  Bytes data;
  static constexpr auto fields =
      std::tuple{codec::field("op", &PolicyPayload::op,
                              codec::range(PolicyOp::kAddRoot, PolicyOp::kRemoveMeasurement)),
                 codec::field("data", &PolicyPayload::data, codec::max_len(kMaxPolicyData))};
};

// Governed actions (payloads of governance proposals).
struct RootAction {
  Bytes der;  // one certificate, DER or PEM
  static constexpr auto fields =
      std::tuple{codec::field("der", &RootAction::der, codec::max_len(kMaxPolicyData))};
};
struct RootHashAction {
  Hash32 root;  // sha256 of the root's DER
  static constexpr auto fields = std::tuple{codec::field("root", &RootHashAction::root)};
};
struct MeasurementAction {
  Hash32 measurement;
  static constexpr auto fields =
      std::tuple{codec::field("measurement", &MeasurementAction::measurement)};
};
// The policy change of meters/policy and of the governed actions, without the authority
// check: BAD_ATTEST_POLICY for a bad certificate, NOT_FOUND for removing what is not there.
Status change_policy(StateOverlay& state, std::vector<Event>& events, const PolicyPayload& p);

// Events (receipt data: the canonical encoding of these fields).
inline std::string_view platform_name(attest::Platform p) {
  return p == attest::Platform::kTpm2 ? "tpm2" : "virtual";
}
struct RegisteredEvent {
  static constexpr std::string_view kType = "meters/registered";
  Hash32 meter;
  PublicKey owner;
  std::string microgrid;
  Source source = Source::kConsumer;
  attest::Platform platform = attest::Platform::kVirtual;
  bool insecure = true;
  static constexpr auto fields = std::tuple{
      codec::field("meter", &RegisteredEvent::meter),
      codec::field("owner", &RegisteredEvent::owner),
      codec::field("microgrid", &RegisteredEvent::microgrid, codec::max_len(kMaxMicrogrid)),
      codec::field("source", &RegisteredEvent::source,
                   codec::range(Source::kConsumer, Source::kGrid), codec::names(source_name)),
      codec::field("platform", &RegisteredEvent::platform,
                   codec::range(attest::Platform::kVirtual, attest::Platform::kTpm2),
                   codec::names(platform_name)),
      codec::field("insecure", &RegisteredEvent::insecure)};
};
struct RevokedEvent {
  static constexpr std::string_view kType = "meters/revoked";
  Hash32 meter;
  PublicKey by;
  static constexpr auto fields = std::tuple{codec::field("meter", &RevokedEvent::meter),
                                            codec::field("by", &RevokedEvent::by)};
};
struct ReadingEvent {
  static constexpr std::string_view kType = "meters/reading";
  Hash32 meter;
  uint64_t period = 0, seq = 0, import_delta_wh = 0, export_delta_wh = 0;
  static constexpr auto fields = std::tuple{
      codec::field("meter", &ReadingEvent::meter), codec::field("period", &ReadingEvent::period),
      codec::field("seq", &ReadingEvent::seq),
      codec::field("import_delta_wh", &ReadingEvent::import_delta_wh),
      codec::field("export_delta_wh", &ReadingEvent::export_delta_wh)};
};
struct PolicyEvent {
  static constexpr std::string_view kType = "meters/policy";
  std::string change;  // e.g. "add-measurement <hex>"
  static constexpr auto fields =
      std::tuple{codec::field("change", &PolicyEvent::change, codec::max_len(128))};
};

Bytes encode(const RegisterPayload& p);
Bytes encode(const RevokePayload& p);
Bytes encode(const Reading& r);
Bytes encode(const PolicyPayload& p);
Result<RegisterPayload> decode_register(const Bytes& b);
Result<RevokePayload> decode_revoke(const Bytes& b);
// Strict: TRUNCATED, TRAILING_BYTES, UNKNOWN_VERSION.
Result<Reading> decode_reading(const uint8_t* data, size_t size);
inline Result<Reading> decode_reading(const Bytes& b) {
  return decode_reading(b.data(), b.size());
}
Result<PolicyPayload> decode_policy(const Bytes& b);

Hash32 meter_id_of(const Bytes& public_key);
// What the meter signs.
Hash32 reading_digest(std::string_view chain_id, const Reading& r);
// The attestation challenge of a registration: binds the evidence to the owner and every
// registered field. The evidence nonce is attestation_nonce(chain_id, key, challenge).
Bytes registration_challenge(const PublicKey& owner, const RegisterPayload& p);
// Signs a reading with a virtual meter's Ed25519 key (tpm2 meters sign reading_digest()
// in the TPM).
void sign_virtual(Reading& r, std::string_view chain_id, const KeyPair& key);
// A virtual meter's id: meter_id_of(its key's 32 bytes). Registration and reading helpers
// for tests and tools are in testing.hpp (target gridpact_meters_testing).
Hash32 virtual_meter_id(const KeyPair& meter);

// ---- Reads beyond the contract ----

struct Params {
  uint64_t period_ms = kDefaultPeriodMs;
  bool allow_virtual = false;
  std::optional<PublicKey> authority;
  uint8_t firmware_pcr = attest::kDefaultFirmwarePcr;
};
Params params(const StateReader& s);
// The attestation policy in state, with certificate validity checked at `at_time_s`.
attest::Policy policy(const StateReader& s, std::optional<int64_t> at_time_s);

struct LastReading {
  uint64_t seq = 0;
  uint64_t period = 0;
  uint64_t import_wh = 0;
  uint64_t export_wh = 0;
  bool has_reading = false;
};
std::optional<LastReading> last_reading(const StateReader& s, const Hash32& meter_id);
// The period a meter's next reading must be for to count as contiguous: the one after its
// last reading, or its registration period before the first. A client that starts later
// first reports the periods in between with unchanged registers (quiet periods).
uint64_t next_contiguous_period(const StateReader& s, const MeterInfo& m);

struct StoredReading {
  uint64_t period = 0;
  uint64_t seq = 0;
  uint64_t import_wh = 0;
  uint64_t export_wh = 0;
  uint64_t import_delta_wh = 0;
  uint64_t export_delta_wh = 0;
  bool contiguous = false;
};
std::optional<StoredReading> stored_reading(const StateReader& s, const Hash32& meter_id,
                                            uint64_t period);
// Readings of a meter with from <= period <= to, ascending, at most `limit`.
std::vector<StoredReading> readings(const StateReader& s, const Hash32& meter_id, uint64_t from,
                                    uint64_t to, size_t limit);
std::vector<Hash32> meters_of_owner(const StateReader& s, const PublicKey& owner, size_t limit);
std::vector<Hash32> meters_in_microgrid(const StateReader& s, std::string_view microgrid,
                                        size_t limit);

// Writes a meter record and its indexes as a registration would, without evidence. For
// benchmarks and tests that need many meters in state (the ledger itself writes meters
// only through meters/register, which verifies evidence).
void import_meter(StateOverlay& s, const MeterInfo& m, uint64_t initial_import_wh,
                  uint64_t initial_export_wh);

json meter_json(const MeterInfo& m);
json reading_json(const StoredReading& r);

class MetersModule : public Module {
 public:
  MetersModule();
  ~MetersModule() override;
  std::string_view name() const override { return "meters"; }
  // [meters] period_ms = 900000, allow_virtual = false, authority = "<64 hex>",
  // firmware_pcr = 16, trusted_roots = "<PEM>" (or an array of PEM strings),
  // allowed_measurements = ["<64 hex>", ...]. An absent section gives the defaults.
  Status init_genesis(StateOverlay& state, const json& section) override;
  std::string default_genesis(const DevelopmentAccounts& accounts) const override;
  std::vector<state::SchemaEntry> schema() const override;
  std::vector<std::string> account_keys(const PublicKey& account) const override;
  std::vector<ParamSpec> param_table() const override;
  // A changed meters.period_ms: the schedule's next segment (see "Period schedule").
  void end_block(BlockContext& ctx) override;

 private:
  void declare_routes();  // queries.cpp: the module's query routes
  struct KeyCache;
  // One handler per message, declared in the constructor.
  Status deliver_register(TxContext& ctx, const RegisterPayload& p);
  Status deliver_revoke(TxContext& ctx, const RevokePayload& p);
  Status deliver_reading(TxContext& ctx, const Reading& r);
  Status deliver_policy(TxContext& ctx, const PolicyPayload& p);
  // Governed actions (governed.cpp).
  void declare_governed_actions();
  Status apply_add_root(GovernedContext& ctx, const RootAction& a);
  Status apply_remove_root(GovernedContext& ctx, const RootHashAction& a);
  Status apply_add_measurement(GovernedContext& ctx, const MeasurementAction& a);
  Status apply_remove_measurement(GovernedContext& ctx, const MeasurementAction& a);
  bool verify_reading_signature(const MeterInfo& m, const Hash32& digest,
                                const Signature& sig) const;
  std::unique_ptr<KeyCache> cache_;
};

}  // namespace gridpact::meters
