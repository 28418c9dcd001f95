// The meters module's records in state (key layout, codecs) and what its source files
// share: records.cpp (codecs and reads), payloads.cpp (payload codecs, digests),
// handlers.cpp (one handler per message), queries.cpp. Shared by the module's source files
// only; the interface is meters.hpp.
#pragma once

#include <mutex>
#include <unordered_map>

#include "attest/p256.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::meters {

constexpr std::string_view kParamsKey = "meters/params";
constexpr std::string_view kPeriodsPrefix = "meters/periods/";
constexpr std::string_view kPeriodParam = "meters.period_ms";
constexpr std::string_view kRootPrefix = "meters/root/";
constexpr std::string_view kMeterRootPrefix = "meters/mroot/";
// Whether a first reading counts only from the registration period (handlers.cpp).
constexpr std::string_view kFirstReadingParam = "meters.first_reading_from_registration";
constexpr std::string_view kMeasPrefix = "meters/meas/";
constexpr std::string_view kMeterPrefix = "meters/m/";
constexpr std::string_view kOwnerPrefix = "meters/own/";
constexpr std::string_view kMicrogridPrefix = "meters/mg/";
constexpr std::string_view kLastPrefix = "meters/last/";
constexpr std::string_view kReadingPrefix = "meters/r/";
constexpr std::string_view kReadingTag = "GRIDPACT/reading/v1";
constexpr std::string_view kRegistrationTag = "GRIDPACT/meters/register/v1";
constexpr uint8_t kRecordVersion = 1;

inline std::string meter_key(const Hash32& id) {
  return std::string(kMeterPrefix) + std::string(id.view());
}
inline std::string last_key(const Hash32& id) {
  return std::string(kLastPrefix) + std::string(id.view());
}
inline std::string owner_index_key(const PublicKey& owner, const Hash32& id) {
  return std::string(kOwnerPrefix) + std::string(owner.view()) + std::string(id.view());
}
inline std::string microgrid_index_key(std::string_view mg, const Hash32& id) {
  return std::string(kMicrogridPrefix) + std::string(mg) + "/" + std::string(id.view());
}
inline std::string reading_key(const Hash32& id, uint64_t period) {
  return std::string(kReadingPrefix) + std::string(id.view()) + encode_u64(period);
}

bool valid_microgrid(std::string_view mg);

Bytes encode_record(const MeterInfo& m);
Result<MeterInfo> decode_record(std::string_view v, const Hash32& id);
std::string encode_last(const LastReading& l);
std::string encode_stored(const StoredReading& r);
std::optional<StoredReading> decode_stored(std::string_view v, uint64_t period);
std::string encode_params(const Params& p);  // the authority only
void put_segment(StateOverlay& s, const PeriodSegment& g);
std::optional<Hash32> hash_from(std::string_view raw);
Status bad_genesis(const std::string& what);

// Parsed P-256 keys by meter id: parsing a point costs about as much as verifying, and a
// meter signs a reading every period. Only speed depends on it, never a result.
struct MetersModule::KeyCache {
  std::mutex mu;
  std::unordered_map<Hash32, attest::P256PublicKey, FixedBytesHasher> keys;
};

}  // namespace gridpact::meters
