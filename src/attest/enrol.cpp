#include "attest/enrol.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "attest/codes.hpp"

namespace gridpact::attest {

Result<EnrolmentChallenge> EnrolmentCa::challenge(const EnrolmentRequest& req) const {
  register_attest_codes();
  if (Status s = verify_chain(req.ek_cert_chain, ek_roots_, at_time_); !s) return s;
  auto cert_point = certificate_ec_point(req.ek_cert_chain.front());
  auto ek_point = tpm2b_public_ecc_point(req.ek_public);
  if (!cert_point || !ek_point || *cert_point != *ek_point)
    return error(kEnrolmentRejected, "EK certificate does not certify this EK");
  auto ak = parse_public(req.ak_public);
  if (!ak || !is_tpm_p256_signing_key(*ak, /*restricted=*/true))
    return error(kEnrolmentRejected, "AK is not a restricted TPM-resident ECDSA P-256 key");
  auto name = object_name(req.ak_public);
  if (!name) return name.status();
  EnrolmentChallenge out;
  out.pending.secret.resize(32);
  if (RAND_bytes(out.pending.secret.data(), 32) != 1)
    return error(kEnrolmentRejected, "no randomness");
  out.pending.ak_point = P256Point::from_span(ak->point.data());
  auto cred = make_credential(req.ek_public, *name, out.pending.secret);
  if (!cred) return cred.status();
  out.credential = std::move(*cred);
  return out;
}

Result<Bytes> EnrolmentCa::complete(const PendingEnrolment& pending, const Bytes& activated,
                                    const std::string& common_name) const {
  register_attest_codes();
  if (activated.size() != pending.secret.size() ||
      CRYPTO_memcmp(activated.data(), pending.secret.data(), activated.size()) != 0)
    return error(kEnrolmentRejected, "activated credential does not match");
  return ca_.issue(pending.ak_point, common_name);
}

}  // namespace gridpact::attest
