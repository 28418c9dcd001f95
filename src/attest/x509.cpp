#include "attest/x509.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

#include "attest/codes.hpp"

namespace gridpact::attest {
namespace {

struct Free {
  void operator()(X509* x) const { X509_free(x); }
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
  void operator()(BIO* b) const { BIO_free(b); }
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509Ptr = std::unique_ptr<X509, Free>;

X509Ptr from_der(const Bytes& der) {
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x && p != der.data() + der.size()) return nullptr;  // trailing bytes
  return x;
}

Bytes to_der(X509* x) {
  int n = i2d_X509(x, nullptr);
  if (n <= 0) return {};
  Bytes out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  i2d_X509(x, &p);
  return out;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Builds and signs a certificate; `issuer` null means self-signed.
// Valid for `days` from `valid_from` (unix seconds), or from an hour ago.
X509Ptr make_cert(EVP_PKEY* subject_key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                  bool is_ca, int days, std::optional<int64_t> valid_from = std::nullopt) {
  X509Ptr x(X509_new());
  if (!x) return nullptr;
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  if (valid_from) {
    const auto from = static_cast<time_t>(*valid_from);
    ASN1_TIME_set(X509_getm_notBefore(x.get()), from);
    ASN1_TIME_adj(X509_getm_notAfter(x.get()), from, days, 0);
  } else {
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(days) * 86400);
  }
  X509_set_pubkey(x.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* iss = issuer ? issuer : x.get();
  bool ok = add_ext(x.get(), iss, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE") &&
            add_ext(x.get(), iss, NID_key_usage,
                    is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
            add_ext(x.get(), iss, NID_subject_key_identifier, "hash") &&
            add_ext(x.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (!ok || X509_sign(x.get(), issuer_key, EVP_sha256()) <= 0) return nullptr;
  return x;
}

}  // namespace

Result<std::vector<Bytes>> parse_certificates(std::string_view input) {
  register_attest_codes();
  std::vector<Bytes> out;
  if (input.find("-----BEGIN") != std::string_view::npos) {
    std::unique_ptr<BIO, Free> bio(BIO_new_mem_buf(input.data(), static_cast<int>(input.size())));
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      X509Ptr owned(x);
      out.push_back(to_der(x));
    }
    ERR_clear_error();  // the loop ends on an expected "no start line"
  } else {
    Bytes der(input.begin(), input.end());
    if (from_der(der)) out.push_back(std::move(der));
  }
  if (out.empty()) return error(kBadPolicy, "no certificate found");
  return out;
}

Status verify_chain(const std::vector<Bytes>& chain, const std::vector<Bytes>& roots,
                    std::optional<int64_t> at_time, LeafUse use) {
  register_attest_codes();
  if (chain.empty()) return error(kUntrustedCa, "empty certificate chain");
  std::unique_ptr<X509_STORE, Free> store(X509_STORE_new());
  for (const Bytes& r : roots) {
    X509Ptr x = from_der(r);
    if (!x) return error(kBadPolicy, "trusted root is not a DER certificate");
    X509_STORE_add_cert(store.get(), x.get());
  }
  X509Ptr leaf = from_der(chain[0]);
  if (!leaf) return error(kUntrustedCa, "leaf is not a DER certificate");
  std::unique_ptr<STACK_OF(X509), Free> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509Ptr x = from_der(chain[i]);
    if (!x) return error(kUntrustedCa, "intermediate is not a DER certificate");
    sk_X509_push(untrusted.get(), x.release());
  }
  std::unique_ptr<X509_STORE_CTX, Free> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1)
    return error(kUntrustedCa, "cannot set up certificate verification");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at_time ? *at_time : time(nullptr)));
  // The chain's CA flags and key usage are checked by OpenSSL; the leaf's use here:
  // X509_PURPOSE_ANY would accept a CA or key-agreement certificate as an AK certificate.
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
  if (use == LeafUse::kSigning) {
    const uint32_t flags = X509_get_extension_flags(leaf.get());
    if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE) ||
        X509_check_ca(leaf.get()) != 0)
      return error(kUntrustedCa,
                   "leaf certificate is not a signing (digitalSignature, "
                   "non-CA) certificate");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return error(kUntrustedCa,
                 std::string("certificate chain: ") + X509_verify_cert_error_string(err));
  }
  return Status::ok();
}

std::optional<Bytes> certificate_ec_point(const Bytes& der) {
  X509Ptr x = from_der(der);
  if (!x) return std::nullopt;
  EVP_PKEY* key = X509_get0_pubkey(x.get());
  return ec_public_point(key);
}

CertificateAuthority CertificateAuthority::create_root(const std::string& cn, int days,
                                                       std::optional<int64_t> valid_from) {
  CertificateAuthority ca;
  ca.key_ = P256KeyPair::generate();
  ca.valid_from_ = valid_from;
  X509Ptr x = make_cert(ca.key_.pkey(), cn, nullptr, ca.key_.pkey(), true, days, valid_from);
  if (!x) throw std::runtime_error("cannot create CA certificate");
  ca.cert_der_ = to_der(x.get());
  return ca;
}

CertificateAuthority CertificateAuthority::create_intermediate(const std::string& cn) const {
  CertificateAuthority ca;
  ca.key_ = P256KeyPair::generate();
  X509Ptr issuer = from_der(cert_der_);
  ca.valid_from_ = valid_from_;
  X509Ptr x = make_cert(ca.key_.pkey(), cn, issuer.get(), key_.pkey(), true, 3650, valid_from_);
  if (!x) throw std::runtime_error("cannot create intermediate CA certificate");
  ca.cert_der_ = to_der(x.get());
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::load(std::string_view cert,
                                                        std::string_view key_pem) {
  register_attest_codes();
  auto certs = parse_certificates(cert);
  if (!certs) return certs.status();
  std::unique_ptr<BIO, Free> bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return error(kBadPolicy, "CA key is not a PEM private key");
  std::unique_ptr<EVP_PKEY, Free> owned(key);
  X509Ptr x = from_der(certs->front());
  if (X509_check_private_key(x.get(), key) != 1)
    return error(kBadPolicy, "CA key does not match its certificate");
  auto point = ec_public_point(key);
  if (!point || point->size() != kP256PointSize) return error(kBadPolicy, "CA key is not P-256");
  CertificateAuthority ca;
  ca.key_ = P256KeyPair::adopt(owned.release(), P256Point::from_span(point->data()));
  ca.cert_der_ = certs->front();
  return ca;
}

std::string CertificateAuthority::certificate_pem() const {
  X509Ptr x = from_der(cert_der_);
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x.get());
  return bio_string(bio.get());
}

std::string CertificateAuthority::private_key_pem() const {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.pkey(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

Result<Bytes> CertificateAuthority::issue(const P256Point& subject_point, const std::string& cn,
                                          bool is_ca, int days) const {
  register_attest_codes();
  auto subject = P256PublicKey::parse(subject_point);
  if (!subject) return error(kEnrolmentRejected, "subject key is not a P-256 point");
  X509Ptr issuer = from_der(cert_der_);
  X509Ptr x = make_cert(subject->pkey(), cn, issuer.get(), key_.pkey(), is_ca, days, valid_from_);
  if (!x) return error(kEnrolmentRejected, "cannot sign certificate");
  return to_der(x.get());
}

}  // namespace gridpact::attest
