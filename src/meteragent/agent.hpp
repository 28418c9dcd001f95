// The meter agent's logic (library gridpact_meteragent): one meter's signing platform, its
// reading sources, and a loop that signs readings and hands them to a publisher. It knows
// the reading encoding and signature (modules/meters) and the attestation library, and
// nothing else of the ledger; the `gridpact meter` command supplies the transport.
//
// Platforms:
//   virtual  an Ed25519 key file (gridpact keygen). INSECURE: no hardware behind it.
//   tpm2     a TPM 2.0 (swtpm in tests) reached by a TCTI string; its state directory holds
//            ak.blob, key.blob (TPM key blobs, useless on any other TPM) and
//            ak_chain_<i>.der (the AK certificate chain from the enrolment CA).
//
// Sources (each yields (period, import_wh, export_wh) with cumulative registers):
//   csv:PATH      lines "period,import_wh,export_wh" (a header line and # comments skipped)
//   stdin         the same lines on standard input
//   profile:KIND  a generated, deterministic profile (KIND consumer or pv) continuing from
//                 the meter's last committed registers
#pragma once

#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/enrol.hpp"
#include "attest/tpm2_device.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::meteragent {

class Platform {
 public:
  virtual ~Platform() = default;
  virtual attest::Platform kind() const = 0;
  virtual const Bytes& public_key() const = 0;  // 32-byte Ed25519 or 65-byte P-256 point
  Hash32 meter_id() const { return meters::meter_id_of(public_key()); }
  virtual Result<Signature> sign(const Hash32& digest) = 0;
  virtual Result<attest::Evidence> evidence(const Hash32& nonce) = 0;
  bool insecure() const { return kind() == attest::Platform::kVirtual; }
};

std::unique_ptr<Platform> virtual_platform(const KeyPair& key);
// Opens a provisioned tpm2 meter (see provision_tpm2).
Result<std::unique_ptr<Platform>> tpm2_platform(const std::string& tcti,
                                                const std::string& state_dir);

struct ProvisionOptions {
  std::string tcti;
  std::string state_dir;
  Hash32 firmware_measurement;  // extended into the firmware PCR after resetting it
  uint8_t firmware_pcr = attest::kDefaultFirmwarePcr;
  std::vector<Bytes> ek_intermediates;  // sent with the EK certificate at enrolment
};
// Creates an AK, enrols it with `ca` (the TCG credential-activation exchange, carried
// in-process), measures the firmware into the PCR, creates the meter's signing key and
// saves everything to the state directory. Refuses if the directory already holds a key.
Result<Hash32> provision_tpm2(const ProvisionOptions& options, const attest::EnrolmentCa& ca);

// The registration transaction payload for `owner`, with fresh evidence from the platform.
Result<meters::RegisterPayload> registration(Platform& platform, std::string_view chain_id,
                                             const PublicKey& owner,
                                             meters::RegisterPayload fields);

struct RegisterSample {
  uint64_t period = 0;
  uint64_t import_wh = 0;
  uint64_t export_wh = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  // The next sample, or nullopt at the end (a live profile waits for the period to end).
  virtual std::optional<RegisterSample> next() = 0;
};

// Parses one "period,import_wh,export_wh" line; nullopt for a header or comment, error for
// anything else malformed.
Result<std::optional<RegisterSample>> parse_csv_line(std::string_view line);
std::unique_ptr<Source> csv_source(std::unique_ptr<std::istream> in);
// `count` periods of a generated profile from `first_period` on, continuing from the
// given registers. `kind`: "consumer" or "pv". Deterministic in its inputs.
Result<std::unique_ptr<Source>> profile_source(std::string_view kind, uint64_t first_period,
                                               uint64_t count, uint64_t import_wh,
                                               uint64_t export_wh, const Hash32& meter_id);

class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual Status publish(const meters::Reading& reading) = 0;
  virtual Status flush() { return Status::ok(); }
};

struct Resume {
  uint64_t seq = 0;  // the last committed sequence number
  std::optional<uint64_t> period;
};

struct RunStats {
  uint64_t published = 0;
  uint64_t skipped = 0;  // samples at or before the committed period
};

// Signs each sample after `resume` with seq = last + 1, ... and publishes it. Samples for a
// period at or before the committed one are skipped (already on chain).
Result<RunStats> run(Platform& platform, std::string_view chain_id, Source& source,
                     Publisher& publisher, Resume resume);

}  // namespace gridpact::meteragent
