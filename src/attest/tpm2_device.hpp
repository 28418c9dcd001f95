// A TPM 2.0 reached through tpm2-tss ESYS, with just the operations a meter or node agent
// needs to enrol and attest. Every method leaves no transient object behind (without a
// resource manager the TPM holds only a few; see src/attest/README.md, "Working with the
// swtpm emulator").
//
// Keys live as *blobs*: the TPM2B_PUBLIC and TPM2B_PRIVATE that TPM2_Create returns. The
// private part is encrypted under its parent, a primary key that the TPM re-derives from
// its hierarchy seed on every use, so a blob saved to a file (save_key_blob) is useless
// on any other TPM and needs no persistent handle. Parents:
//   AK           under the endorsement key (EK), as TPM2_ActivateCredential requires;
//   signing key  under an ECC P-256 storage root key in the owner hierarchy (the
//                standard tpm2_createprimary -C o -G ecc template).
// The EK is the persistent one at 0x81010016 that swtpm_setup (and tpm2_createek -c
// 0x81010016) leaves; if absent, the TCG low-range ECC P-256 EK is created, and used
// through a PolicySecret(endorsement) session.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attest/evidence.hpp"

namespace gridpact::attest {

struct Tpm2KeyBlob {
  enum class Parent : uint8_t { kEndorsement = 1, kOwner = 2 };
  Parent parent = Parent::kOwner;
  Bytes public_area;   // marshalled TPM2B_PUBLIC
  Bytes private_area;  // marshalled TPM2B_PRIVATE (encrypted by the parent)
};

// Canonical: u8 version 1, u8 parent, bytes public (<= 1024), bytes private (<= 1024).
Bytes encode_key_blob(const Tpm2KeyBlob& blob);
Result<Tpm2KeyBlob> decode_key_blob(const Bytes& bytes);
Status save_key_blob(const std::string& path, const Tpm2KeyBlob& blob);
Result<Tpm2KeyBlob> load_key_blob(const std::string& path);

// The key's TPMT_PUBLIC and P-256 point, read from the blob (no TPM needed).
Result<Bytes> blob_tpmt_public(const Tpm2KeyBlob& blob);
Result<P256Point> blob_p256_point(const Tpm2KeyBlob& blob);

struct Tpm2Attestation {
  Bytes attest;                // TPMS_ATTEST as signed
  P256Signature signature;     // r || s
  std::vector<PcrValue> pcrs;  // quote only: values read right after quoting
};

// One ESYS context on one TCTI connection. Not thread-safe: give each thread its own
// device, or serialise calls (a TPM executes one command at a time anyway).
class Tpm2Device {
 public:
  // `tcti`: e.g. "swtpm:host=127.0.0.1,port=2321" or "device:/dev/tpmrm0".
  static Result<std::unique_ptr<Tpm2Device>> open(const std::string& tcti);
  ~Tpm2Device();
  Tpm2Device(const Tpm2Device&) = delete;
  Tpm2Device& operator=(const Tpm2Device&) = delete;

  // The ECC EK's TPM2B_PUBLIC (derived, or read from 0x81010016) and its certificate
  // (DER) from NV 0x1c00016 (swtpm's ECC EK), else 0x1c0000a (low-range ECC). RSA EKs
  // (certificate at 0x1c00002, readable with read_nv) are not supported by enrolment.
  Result<Bytes> ek_public();
  Result<Bytes> read_ek_certificate();
  Result<Bytes> read_nv(uint32_t index);

  // A restricted ECDSA P-256 / SHA-256 signing key under the EK.
  Result<Tpm2KeyBlob> create_ak();
  // TPM2_ActivateCredential with the AK and the EK; returns the wrapped secret.
  Result<Bytes> activate_credential(const Tpm2KeyBlob& ak, const Bytes& id_object,
                                    const Bytes& encrypted_secret);

  // SHA-256 bank only.
  Status extend_pcr(uint8_t pcr, const Hash32& measurement);
  Status reset_pcr(uint8_t pcr);  // PCRs 16 and 23 only, by TPM rules
  Result<std::vector<PcrValue>> read_pcrs(const std::vector<uint8_t>& indices);

  // An unrestricted, sign-only ECDSA P-256 / SHA-256 key (the meter's reading key).
  Result<Tpm2KeyBlob> create_signing_key();
  // ECDSA over a SHA-256 digest computed by the caller; r || s.
  Result<P256Signature> sign(const Tpm2KeyBlob& key, const Hash32& digest);

  Result<Tpm2Attestation> quote(const Tpm2KeyBlob& ak, const Hash32& nonce,
                                const std::vector<uint8_t>& pcrs);
  // TPM2_Certify: the AK vouches that `key` is loaded in this TPM.
  Result<Tpm2Attestation> certify(const Tpm2KeyBlob& ak, const Tpm2KeyBlob& key,
                                  const Hash32& nonce);

 private:
  struct Impl;
  explicit Tpm2Device(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Quote + certify over `nonce` (normally attestation_nonce(chain_id, signing key point,
// challenge)), assembled into tpm2 evidence.
Result<Evidence> make_tpm2_evidence(Tpm2Device& tpm, const Tpm2KeyBlob& ak,
                                    const std::vector<Bytes>& ak_cert_chain,
                                    const Tpm2KeyBlob& signing_key, const Hash32& nonce,
                                    const std::vector<uint8_t>& pcrs = {16});

}  // namespace gridpact::attest
