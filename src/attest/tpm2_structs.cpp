#include "attest/tpm2_structs.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include <cstring>
#include <memory>

#include "attest/codes.hpp"
#include "attest/p256.hpp"

namespace gridpact::attest {
namespace {

Bytes pad_left(const uint8_t* p, size_t n, size_t width) {
  Bytes out(width > n ? width - n : 0, 0);
  out.insert(out.end(), p, p + n);
  return out;
}

void put_u16(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put_u32(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void append(Bytes& out, const Bytes& b) {
  out.insert(out.end(), b.begin(), b.end());
}

// TPM 2.0 Part 1, 11.4.10.2: counter-mode HMAC KDF. Labels include their NUL, as the
// reference implementation's TPM2B_STRING labels do.
Bytes kdfa(const EVP_MD* md, const Bytes& key, std::string_view label, const Bytes& u,
           const Bytes& v, uint32_t bits) {
  Bytes out;
  size_t want = (bits + 7) / 8;
  for (uint32_t counter = 1; out.size() < want; ++counter) {
    Bytes msg;
    put_u32(msg, counter);
    msg.insert(msg.end(), label.begin(), label.end());
    msg.push_back(0);
    append(msg, u);
    append(msg, v);
    put_u32(msg, bits);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), mac, &len);
    out.insert(out.end(), mac, mac + len);
  }
  out.resize(want);
  return out;
}

// TPM 2.0 Part 1, 11.4.10.3: the single-step KDF for ECDH (SP 800-56A).
Bytes kdfe(const EVP_MD* md, const Bytes& z, std::string_view label, const Bytes& u, const Bytes& v,
           uint32_t bits) {
  Bytes out;
  size_t want = (bits + 7) / 8;
  for (uint32_t counter = 1; out.size() < want; ++counter) {
    Bytes msg;
    put_u32(msg, counter);
    append(msg, z);
    msg.insert(msg.end(), label.begin(), label.end());
    msg.push_back(0);
    append(msg, u);
    append(msg, v);
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(msg.data(), msg.size(), h, &len, md, nullptr);
    out.insert(out.end(), h, h + len);
  }
  out.resize(want);
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

std::unique_ptr<EVP_PKEY, PkeyFree> ec_key_from_point(const char* group, Bytes point) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  std::string g(group);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, g.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) return nullptr;
  return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
}

Result<TPM2B_PUBLIC> unmarshal_tpm2b_public(const Bytes& b) {
  TPM2B_PUBLIC pub{};
  size_t offset = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b.data(), b.size(), &offset, &pub) != TSS2_RC_SUCCESS ||
      offset != b.size())
    return error(kMalformedEvidence, "not a TPM2B_PUBLIC");
  return pub;
}

}  // namespace

Result<AttestInfo> parse_attest(const Bytes& bytes) {
  register_attest_codes();
  TPMS_ATTEST a{};
  size_t offset = 0;
  if (Tss2_MU_TPMS_ATTEST_Unmarshal(bytes.data(), bytes.size(), &offset, &a) != TSS2_RC_SUCCESS ||
      offset != bytes.size())
    return error(kMalformedEvidence, "not a TPMS_ATTEST");
  if (a.magic != TPM2_GENERATED_VALUE)
    return error(kMalformedEvidence, "TPMS_ATTEST magic is not TPM_GENERATED_VALUE");
  AttestInfo info;
  info.type = a.type;
  info.extra_data.assign(a.extraData.buffer, a.extraData.buffer + a.extraData.size);
  if (a.type == TPM2_ST_ATTEST_QUOTE) {
    const TPML_PCR_SELECTION& sel = a.attested.quote.pcrSelect;
    bool seen_sha256 = false;
    for (uint32_t i = 0; i < sel.count; ++i) {
      const TPMS_PCR_SELECTION& s = sel.pcrSelections[i];
      bool any = false;
      for (uint8_t byte = 0; byte < s.sizeofSelect; ++byte) any |= s.pcrSelect[byte] != 0;
      if (s.hash != TPM2_ALG_SHA256 || seen_sha256) {
        info.other_banks_selected |= any;
        continue;
      }
      seen_sha256 = true;
      for (uint32_t pcr = 0; pcr < 8u * s.sizeofSelect; ++pcr)
        if (s.pcrSelect[pcr / 8] & (1u << (pcr % 8)))
          info.pcr_indices.push_back(static_cast<uint8_t>(pcr));
    }
    const TPM2B_DIGEST& d = a.attested.quote.pcrDigest;
    info.pcr_digest.assign(d.buffer, d.buffer + d.size);
  } else if (a.type == TPM2_ST_ATTEST_CERTIFY) {
    const TPM2B_NAME& n = a.attested.certify.name;
    info.certified_name.assign(n.name, n.name + n.size);
  }
  return info;
}

Result<PublicInfo> parse_public(const Bytes& bytes) {
  register_attest_codes();
  TPMT_PUBLIC p{};
  size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Unmarshal(bytes.data(), bytes.size(), &offset, &p) != TSS2_RC_SUCCESS ||
      offset != bytes.size())
    return error(kMalformedEvidence, "not a TPMT_PUBLIC");
  PublicInfo info;
  info.type = p.type;
  info.name_alg = p.nameAlg;
  info.attributes = p.objectAttributes;
  if (p.type == TPM2_ALG_ECC) {
    const TPMS_ECC_PARMS& e = p.parameters.eccDetail;
    info.curve = e.curveID;
    info.scheme = e.scheme.scheme;
    if (e.scheme.scheme == TPM2_ALG_ECDSA) info.scheme_hash = e.scheme.details.ecdsa.hashAlg;
    size_t width =
        p.unique.ecc.x.size > p.unique.ecc.y.size ? p.unique.ecc.x.size : p.unique.ecc.y.size;
    if (e.curveID == TPM2_ECC_NIST_P256) width = 32;
    if (e.curveID == TPM2_ECC_NIST_P384) width = 48;
    info.point.push_back(0x04);
    append(info.point, pad_left(p.unique.ecc.x.buffer, p.unique.ecc.x.size, width));
    append(info.point, pad_left(p.unique.ecc.y.buffer, p.unique.ecc.y.size, width));
  }
  return info;
}

Result<Bytes> object_name(const Bytes& tpmt_public) {
  auto info = parse_public(tpmt_public);
  if (!info) return info.status();
  if (info->name_alg != TPM2_ALG_SHA256)
    return error(kMalformedEvidence, "only SHA-256 object names are supported");
  Bytes name;
  put_u16(name, TPM2_ALG_SHA256);
  Hash32 h = sha256(tpmt_public);
  name.insert(name.end(), h.bytes.begin(), h.bytes.end());
  return name;
}

bool is_tpm_p256_signing_key(const PublicInfo& info, bool restricted) {
  constexpr uint32_t kMust =
      kAttrFixedTpm | kAttrFixedParent | kAttrSensitiveDataOrigin | kAttrSign;
  if ((info.attributes & kMust) != kMust) return false;
  if (info.attributes & kAttrDecrypt) return false;
  if (((info.attributes & kAttrRestricted) != 0) != restricted) return false;
  return info.type == TPM2_ALG_ECC && info.name_alg == TPM2_ALG_SHA256 &&
         info.curve == TPM2_ECC_NIST_P256 && info.scheme == TPM2_ALG_ECDSA &&
         info.scheme_hash == TPM2_ALG_SHA256 && info.point.size() == kP256PointSize;
}

Result<Bytes> tpmt_from_tpm2b_public(const Bytes& tpm2b_public) {
  auto pub = unmarshal_tpm2b_public(tpm2b_public);
  if (!pub) return pub.status();
  Bytes out(sizeof(TPMT_PUBLIC));
  size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, out.data(), out.size(), &offset) !=
      TSS2_RC_SUCCESS)
    return error(kMalformedEvidence, "cannot marshal TPMT_PUBLIC");
  out.resize(offset);
  return out;
}

Result<Bytes> tpm2b_public_ecc_point(const Bytes& tpm2b_public) {
  auto tpmt = tpmt_from_tpm2b_public(tpm2b_public);
  if (!tpmt) return tpmt.status();
  auto info = parse_public(*tpmt);
  if (!info) return info.status();
  if (info->type != TPM2_ALG_ECC) return error(kMalformedEvidence, "not an ECC key");
  return info->point;
}

Result<Credential> make_credential(const Bytes& ek_public, const Bytes& name, const Bytes& secret) {
  register_attest_codes();
  auto parsed = unmarshal_tpm2b_public(ek_public);
  if (!parsed) return parsed.status();
  const TPMT_PUBLIC& ek = parsed->publicArea;
  if (secret.size() > 32) return error(Code::kInvalidArgument, "credential over 32 bytes");
  if (ek.type != TPM2_ALG_ECC) return error(kEnrolmentRejected, "only ECC EKs are supported");
  const EVP_MD* md = ek.nameAlg == TPM2_ALG_SHA256   ? EVP_sha256()
                     : ek.nameAlg == TPM2_ALG_SHA384 ? EVP_sha384()
                                                     : nullptr;
  const TPMT_SYM_DEF_OBJECT& sym = ek.parameters.eccDetail.symmetric;
  const EVP_CIPHER* cipher = nullptr;
  if (sym.algorithm == TPM2_ALG_AES && sym.mode.aes == TPM2_ALG_CFB)
    cipher = sym.keyBits.aes == 128   ? EVP_aes_128_cfb128()
             : sym.keyBits.aes == 256 ? EVP_aes_256_cfb128()
                                      : nullptr;
  const char* group = nullptr;
  size_t width = 0;
  if (ek.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256) group = "P-256", width = 32;
  if (ek.parameters.eccDetail.curveID == TPM2_ECC_NIST_P384) group = "P-384", width = 48;
  if (!md || !cipher || !group)
    return error(kEnrolmentRejected, "unsupported EK name algorithm, curve or cipher");
  const size_t dlen = static_cast<size_t>(EVP_MD_get_size(md));

  // Ephemeral ECDH with the EK: Z is the shared point's x coordinate.
  Bytes ek_point{0x04};
  Bytes ek_x = pad_left(ek.unique.ecc.x.buffer, ek.unique.ecc.x.size, width);
  append(ek_point, ek_x);
  append(ek_point, pad_left(ek.unique.ecc.y.buffer, ek.unique.ecc.y.size, width));
  auto peer = ec_key_from_point(group, ek_point);
  std::unique_ptr<EVP_PKEY, PkeyFree> eph(EVP_EC_gen(group));
  if (!peer || !eph) return error(kEnrolmentRejected, "EK point is not on its curve");
  std::unique_ptr<EVP_PKEY_CTX, PkeyFree> dctx(EVP_PKEY_CTX_new(eph.get(), nullptr));
  size_t zlen = 0;
  if (!dctx || EVP_PKEY_derive_init(dctx.get()) <= 0 ||
      EVP_PKEY_derive_set_peer(dctx.get(), peer.get()) <= 0 ||
      EVP_PKEY_derive(dctx.get(), nullptr, &zlen) <= 0)
    return error(kEnrolmentRejected, "ECDH with the EK failed");
  Bytes z(zlen);
  if (EVP_PKEY_derive(dctx.get(), z.data(), &zlen) <= 0)
    return error(kEnrolmentRejected, "ECDH with the EK failed");
  z = pad_left(z.data(), zlen, width);
  auto eph_point = ec_public_point(eph.get());
  if (!eph_point || eph_point->size() != 1 + 2 * width)
    return error(kEnrolmentRejected, "ephemeral key has no point");
  Bytes eph_x(eph_point->begin() + 1, eph_point->begin() + 1 + static_cast<long>(width));
  Bytes eph_y(eph_point->begin() + 1 + static_cast<long>(width), eph_point->end());

  Bytes seed = kdfe(md, z, "IDENTITY", eph_x, ek_x, static_cast<uint32_t>(dlen * 8));
  Bytes sym_key = kdfa(md, seed, "STORAGE", name, {}, sym.keyBits.aes);
  Bytes plain;
  put_u16(plain, secret.size());
  append(plain, secret);
  Bytes enc_identity(plain.size());
  std::unique_ptr<EVP_CIPHER_CTX, PkeyFree> cctx(EVP_CIPHER_CTX_new());
  unsigned char iv[16] = {};
  int outl = 0, finl = 0;
  if (!cctx || EVP_EncryptInit_ex(cctx.get(), cipher, nullptr, sym_key.data(), iv) != 1 ||
      EVP_EncryptUpdate(cctx.get(), enc_identity.data(), &outl, plain.data(),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(cctx.get(), enc_identity.data() + outl, &finl) != 1)
    return error(kEnrolmentRejected, "credential encryption failed");
  Bytes hmac_key = kdfa(md, seed, "INTEGRITY", {}, {}, static_cast<uint32_t>(dlen * 8));
  Bytes mac_input = enc_identity;
  append(mac_input, name);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  HMAC(md, hmac_key.data(), static_cast<int>(hmac_key.size()), mac_input.data(), mac_input.size(),
       mac, &maclen);

  Credential c;
  put_u16(c.id_object, maclen);
  c.id_object.insert(c.id_object.end(), mac, mac + maclen);
  append(c.id_object, enc_identity);
  put_u16(c.encrypted_secret, width);
  append(c.encrypted_secret, eph_x);
  put_u16(c.encrypted_secret, width);
  append(c.encrypted_secret, eph_y);
  return c;
}

}  // namespace gridpact::attest
