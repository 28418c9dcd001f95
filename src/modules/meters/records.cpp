// The meters module's records: codecs of its state and the reads other modules use.
#include "modules/meters/records.hpp"

#include "attest/x509.hpp"
#include "codec/codec.hpp"
#include "ledger/development.hpp"

namespace gridpact::meters {

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
  std::string v(1, p.authority ? '\1' : '\0');
  v += std::string((p.authority ? *p.authority : PublicKey{}).view());
  return v;
}

void put_segment(StateOverlay& s, const PeriodSegment& g) {
  s.put(std::string(kPeriodsPrefix) + encode_u64(g.first_period),
        encode_u64(g.start_ms) + encode_u64(g.period_ms));
}

std::optional<Hash32> hash_from(std::string_view raw) {
  if (raw.size() != 32) return std::nullopt;
  return Hash32::from_span(reinterpret_cast<const uint8_t*>(raw.data()));
}

Status bad_genesis(const std::string& what) {
  return error(Code::kBadGenesis, "meters." + what);
}

// ---- Reads ----

Params params(const StateReader& s) {
  Params p;
  if (!s.get(param_key(kPeriodParam))) return p;  // no meters module on this chain
  p.period_ms = read_u64_param(s, kPeriodParam);
  p.allow_virtual = read_bool_param(s, "meters.allow_virtual");
  p.firmware_pcr = static_cast<uint8_t>(read_u64_param(s, "meters.firmware_pcr"));
  auto v = s.get(kParamsKey);
  if (v && v->size() == 1 + 32 && (*v)[0] != 0)
    p.authority = PublicKey::from_span(reinterpret_cast<const uint8_t*>(v->data() + 1));
  return p;
}

PeriodSchedule::PeriodSchedule(const StateReader& s) {
  s.scan(kPeriodsPrefix, [&](std::string_view k, std::string_view v) {
    if (k.size() != kPeriodsPrefix.size() + 8 || v.size() != 16) return true;
    segments_.push_back({decode_u64(k.substr(kPeriodsPrefix.size())).value(),
                         decode_u64(v.substr(0, 8)).value(), decode_u64(v.substr(8)).value()});
    return true;
  });
  if (segments_.empty()) segments_.push_back({});  // a chain without the meters module
}

uint64_t PeriodSchedule::at(uint64_t time_ms) const {
  const auto& g = segments_;
  size_t i = g.size() - 1;
  while (i > 0 && g[i].start_ms > time_ms) --i;
  if (time_ms < g[i].start_ms) return g[i].first_period;
  return g[i].first_period + (time_ms - g[i].start_ms) / g[i].period_ms;
}

uint64_t PeriodSchedule::start_ms(uint64_t period) const {
  const auto& g = segments_;
  size_t i = g.size() - 1;
  while (i > 0 && g[i].first_period > period) --i;
  if (period < g[i].first_period) return g[i].start_ms;
  auto off = checked_mul(period - g[i].first_period, g[i].period_ms);
  auto at = off ? checked_add(g[i].start_ms, *off) : std::nullopt;
  return at.value_or(UINT64_MAX);  // beyond any block time
}

uint64_t PeriodSchedule::end_ms(uint64_t period) const {
  return period == UINT64_MAX ? UINT64_MAX : start_ms(period + 1);
}

uint64_t PeriodSchedule::from(uint64_t time_ms) const {
  uint64_t p = at(time_ms);
  return start_ms(p) >= time_ms ? p : p + 1;
}

uint64_t period_length_ms(const StateReader& s) {
  return PeriodSchedule(s).length_ms();
}
uint64_t period_at(const StateReader& s, uint64_t time_ms) {
  return PeriodSchedule(s).at(time_ms);
}
uint64_t period_start_ms(const StateReader& s, uint64_t period) {
  return PeriodSchedule(s).start_ms(period);
}
uint64_t period_end_ms(const StateReader& s, uint64_t period) {
  return PeriodSchedule(s).end_ms(period);
}
uint64_t period_from(const StateReader& s, uint64_t time_ms) {
  return PeriodSchedule(s).from(time_ms);
}

attest::Policy policy(const StateReader& s, std::optional<int64_t> at_time_s) {
  Params p = params(s);
  attest::Policy pol;
  pol.allow_virtual = p.allow_virtual;
  pol.firmware_pcr = p.firmware_pcr;
  // A resettable PCR (16-23, the default 16 included) proves nothing: development only.
  pol.allow_resettable_pcrs = development_chain(s);
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

std::optional<MeterInfo> decode_meter(std::string_view record, const Hash32& id) {
  auto m = decode_record(record, id);
  if (!m) return std::nullopt;
  return std::move(m).value();
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

uint64_t next_contiguous_period(const StateReader& s, const MeterInfo& m) {
  auto last = last_reading(s, m.id);
  if (last && last->has_reading) return last->period + 1;
  return period_at(s, m.registered_time_ms);
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

}  // namespace gridpact::meters
