#include "attest/p256.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <stdexcept>

namespace gridpact::attest {
namespace {

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
  void operator()(BIGNUM* b) const { BN_free(b); }
};

std::shared_ptr<EVP_PKEY> key_from_point(const P256Point& point) {
  if (point.bytes[0] != 0x04) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  char group[] = "prime256v1";
  P256Point copy = point;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, copy.data(), copy.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) return nullptr;
  std::shared_ptr<EVP_PKEY> out(key, EVP_PKEY_free);
  // fromdata does not insist that the point lies on the curve; the quick check does (and
  // suffices: P-256 has cofactor 1, so every curve point is in the prime-order group).
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check_quick(check.get()) != 1) return nullptr;
  return out;
}

}  // namespace

void P256PublicKey::Free::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}

std::optional<P256PublicKey> P256PublicKey::parse(const P256Point& point) {
  auto key = key_from_point(point);
  if (!key) return std::nullopt;
  P256PublicKey out;
  out.key_ = std::move(key);
  return out;
}

bool P256PublicKey::verify(const uint8_t* msg, size_t size, const P256Signature& sig) const {
  return verify_digest(sha256(msg, size), sig);
}

bool P256PublicKey::verify_digest(const Hash32& digest, const P256Signature& sig) const {
  Bytes der = raw_to_der(sig);
  if (der.empty()) return false;
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0)
    return false;
  return EVP_PKEY_verify(ctx.get(), der.data(), der.size(), digest.data(), digest.size()) == 1;
}

bool verify_p256(const P256Point& pubkey, const uint8_t* msg, size_t size,
                 const P256Signature& sig) {
  auto key = P256PublicKey::parse(pubkey);
  return key && key->verify(msg, size, sig);
}

bool verify_p256_digest(const P256Point& pubkey, const Hash32& digest, const P256Signature& sig) {
  auto key = P256PublicKey::parse(pubkey);
  return key && key->verify_digest(digest, sig);
}

std::optional<P256Signature> der_to_raw(const uint8_t* der, size_t size) {
  const unsigned char* p = der;
  std::unique_ptr<ECDSA_SIG, CtxFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size)));
  if (!sig || p != der + size) return std::nullopt;
  P256Signature out;
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32) != 32)
    return std::nullopt;
  return out;
}

Bytes raw_to_der(const P256Signature& sig) {
  std::unique_ptr<ECDSA_SIG, CtxFree> s(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(sig.data(), 32, nullptr);
  BIGNUM* ss = BN_bin2bn(sig.data() + 32, 32, nullptr);
  if (!s || !r || !ss || ECDSA_SIG_set0(s.get(), r, ss) != 1) {
    BN_free(r);
    BN_free(ss);
    return {};
  }
  int n = i2d_ECDSA_SIG(s.get(), nullptr);
  if (n <= 0) return {};
  Bytes out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  i2d_ECDSA_SIG(s.get(), &p);
  return out;
}

std::optional<Bytes> ec_public_point(EVP_PKEY* key) {
  if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return std::nullopt;
  size_t n = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &n) != 1)
    return std::nullopt;
  Bytes out(n);
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out.data(), n, &n) != 1)
    return std::nullopt;
  out.resize(n);
  // Keys may be stored compressed; the ledger form is uncompressed.
  if (!out.empty() && out[0] != 0x04) {
    char group[64];
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &glen) != 1)
      return std::nullopt;
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef) nid = EC_curve_nist2nid(group);
    std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> g(EC_GROUP_new_by_curve_name(nid),
                                                          EC_GROUP_free);
    if (!g) return std::nullopt;
    std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> pt(EC_POINT_new(g.get()), EC_POINT_free);
    if (!pt || EC_POINT_oct2point(g.get(), pt.get(), out.data(), out.size(), nullptr) != 1)
      return std::nullopt;
    size_t m =
        EC_POINT_point2oct(g.get(), pt.get(), POINT_CONVERSION_UNCOMPRESSED, nullptr, 0, nullptr);
    out.resize(m);
    EC_POINT_point2oct(g.get(), pt.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), m, nullptr);
  }
  return out;
}

P256KeyPair P256KeyPair::generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("P-256 key generation failed");
  P256KeyPair kp;
  kp.key_.reset(key, EVP_PKEY_free);
  auto point = ec_public_point(key);
  if (!point || point->size() != kP256PointSize)
    throw std::runtime_error("P-256 key has no uncompressed point");
  kp.point_ = P256Point::from_span(point->data());
  return kp;
}

P256KeyPair P256KeyPair::adopt(EVP_PKEY* key, const P256Point& point) {
  P256KeyPair kp;
  kp.key_.reset(key, EVP_PKEY_free);
  kp.point_ = point;
  return kp;
}

P256Signature P256KeyPair::sign(const uint8_t* msg, size_t size) const {
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  size_t n = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &n, msg, size) != 1)
    throw std::runtime_error("P-256 signing failed");
  Bytes der(n);
  if (EVP_DigestSign(ctx.get(), der.data(), &n, msg, size) != 1)
    throw std::runtime_error("P-256 signing failed");
  auto raw = der_to_raw(der.data(), n);
  if (!raw) throw std::runtime_error("P-256 signature not DER");
  return *raw;
}

}  // namespace gridpact::attest
