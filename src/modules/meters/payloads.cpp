// The meters module's payloads: sources, payload codecs, the reading digest and the
// registration challenge a meter's evidence answers.
#include "attest/virtual_platform.hpp"
#include "codec/codec.hpp"
#include "modules/meters/records.hpp"

namespace gridpact::meters {

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

Hash32 virtual_meter_id(const KeyPair& meter) {
  return meter_id_of(Bytes(meter.public_key().bytes.begin(), meter.public_key().bytes.end()));
}

}  // namespace gridpact::meters
