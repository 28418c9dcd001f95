#include "attest/tpm2_device.hpp"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "attest/codes.hpp"
#include "attest/tpm2_structs.hpp"
#include "codec/codec.hpp"

namespace gridpact::attest {
namespace {

constexpr uint32_t kEkPersistentHandle = 0x81010016;
constexpr uint32_t kEkCertNvIndices[] = {0x01c00016, 0x01c0000a};
constexpr size_t kMaxBlobField = 1024;
constexpr uint16_t kNvChunk = 512;

Status tpm_error(const char* what, TSS2_RC rc) {
  return error(kTpmError, std::string(what) + ": " + Tss2_RC_Decode(rc));
}

template <typename T>
struct EsysPtr {
  T* p = nullptr;
  ~EsysPtr() { Esys_Free(p); }
  T** out() { return &p; }
  T* operator->() const { return p; }
};

template <typename T, TSS2_RC (*Marshal)(const T*, uint8_t[], size_t, size_t*)>
Bytes marshal(const T& v) {
  Bytes out(sizeof(T) + 16);
  size_t offset = 0;
  if (Marshal(&v, out.data(), out.size(), &offset) != TSS2_RC_SUCCESS) return {};
  out.resize(offset);
  return out;
}

template <typename T, TSS2_RC (*Unmarshal)(const uint8_t[], size_t, size_t*, T*)>
std::optional<T> unmarshal(const Bytes& b) {
  T v{};
  size_t offset = 0;
  if (Unmarshal(b.data(), b.size(), &offset, &v) != TSS2_RC_SUCCESS || offset != b.size())
    return std::nullopt;
  return v;
}

P256Signature raw_signature(const TPMT_SIGNATURE& sig) {
  P256Signature out;
  const TPM2B_ECC_PARAMETER& r = sig.signature.ecdsa.signatureR;
  const TPM2B_ECC_PARAMETER& s = sig.signature.ecdsa.signatureS;
  // TPMs may strip leading zero bytes; the canonical form is left-padded.
  std::memcpy(out.data() + 32 - r.size, r.buffer, r.size);
  std::memcpy(out.data() + 64 - s.size, s.buffer, s.size);
  return out;
}

bool is_p256_ecdsa(const TPMT_SIGNATURE& sig) {
  return sig.sigAlg == TPM2_ALG_ECDSA && sig.signature.ecdsa.signatureR.size <= 32 &&
         sig.signature.ecdsa.signatureS.size <= 32;
}

TPM2B_PUBLIC ecc_signing_template(bool restricted) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_SIGN_ENCRYPT | (restricted ? TPMA_OBJECT_RESTRICTED : 0);
  TPMS_ECC_PARMS& e = p.parameters.eccDetail;
  e.symmetric.algorithm = TPM2_ALG_NULL;
  e.scheme.scheme = TPM2_ALG_ECDSA;
  e.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  e.curveID = TPM2_ECC_NIST_P256;
  e.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// Storage roots: the owner SRK (tpm2-tools' default ECC primary) and the TCG EK Credential
// Profile's low-range ECC P-256 EK template (L-2).
TPM2B_PUBLIC ecc_storage_template(bool ek) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
                       TPMA_OBJECT_DECRYPT;
  if (ek) {
    p.objectAttributes |= TPMA_OBJECT_ADMINWITHPOLICY;
    static const uint8_t kPolicyA[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8,
                                         0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
                                         0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64,
                                         0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};
    p.authPolicy.size = 32;
    std::memcpy(p.authPolicy.buffer, kPolicyA, 32);
    p.unique.ecc.x.size = 32;
    p.unique.ecc.y.size = 32;
  } else {
    p.objectAttributes |= TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
  }
  TPMS_ECC_PARMS& e = p.parameters.eccDetail;
  e.symmetric.algorithm = TPM2_ALG_AES;
  e.symmetric.keyBits.aes = 128;
  e.symmetric.mode.aes = TPM2_ALG_CFB;
  e.scheme.scheme = TPM2_ALG_NULL;
  e.curveID = TPM2_ECC_NIST_P256;
  e.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

}  // namespace

struct Tpm2Device::Impl {
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* ctx = nullptr;

  ~Impl() {
    if (ctx) Esys_Finalize(&ctx);
    if (tcti) Tss2_TctiLdr_Finalize(&tcti);
  }

  // A handle that is flushed (transient) or just forgotten (persistent) on scope exit.
  class Handle {
   public:
    Handle(ESYS_CONTEXT* ctx, ESYS_TR tr, bool transient) : ctx_(ctx), tr_(tr), flush_(transient) {}
    Handle(Handle&& o) noexcept : ctx_(o.ctx_), tr_(o.tr_), flush_(o.flush_) {
      o.tr_ = ESYS_TR_NONE;
    }
    Handle(const Handle&) = delete;
    ~Handle() {
      if (tr_ == ESYS_TR_NONE) return;
      if (flush_)
        Esys_FlushContext(ctx_, tr_);
      else
        Esys_TR_Close(ctx_, &tr_);
    }
    ESYS_TR get() const { return tr_; }

   private:
    ESYS_CONTEXT* ctx_;
    ESYS_TR tr_;
    bool flush_;
  };

  // The EK and the session to authorise it with: a password session if the EK allows
  // userWithAuth (swtpm's persistent EK), else PolicySecret(endorsement).
  struct Ek {
    Handle handle;
    bool needs_policy = false;
  };

  // Asked first so that a missing handle is not an ESYS error (which tss2 logs loudly).
  bool persistent_exists(uint32_t handle) {
    EsysPtr<TPMS_CAPABILITY_DATA> data;
    TPMI_YES_NO more = 0;
    if (Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, handle,
                           1, &more, data.out()) != TSS2_RC_SUCCESS)
      return false;
    const TPML_HANDLE& h = data->data.handles;
    return h.count > 0 && h.handle[0] == handle;
  }

  Result<Ek> ek() {
    ESYS_TR tr = ESYS_TR_NONE;
    if (persistent_exists(kEkPersistentHandle) &&
        Esys_TR_FromTPMPublic(ctx, kEkPersistentHandle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              &tr) == TSS2_RC_SUCCESS) {
      Handle h(ctx, tr, false);
      EsysPtr<TPM2B_PUBLIC> pub;
      TSS2_RC rc = Esys_ReadPublic(ctx, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.out(),
                                   nullptr, nullptr);
      if (rc != TSS2_RC_SUCCESS) return tpm_error("ReadPublic(EK)", rc);
      bool user = (pub->publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH) != 0;
      return Ek{std::move(h), !user};
    }
    TPM2B_PUBLIC tmpl = ecc_storage_template(/*ek=*/true);
    auto primary = create_primary(ESYS_TR_RH_ENDORSEMENT, tmpl);
    if (!primary) return primary.status();
    return Ek{std::move(primary).value(), true};
  }

  Result<Handle> create_primary(ESYS_TR hierarchy, const TPM2B_PUBLIC& tmpl) {
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outside{};
    TPML_PCR_SELECTION creation_pcr{};
    ESYS_TR tr = ESYS_TR_NONE;
    TSS2_RC rc =
        Esys_CreatePrimary(ctx, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                           &tmpl, &outside, &creation_pcr, &tr, nullptr, nullptr, nullptr, nullptr);
    if (rc != TSS2_RC_SUCCESS) return tpm_error("CreatePrimary", rc);
    return Handle(ctx, tr, true);
  }

  // A policy session satisfying PolicySecret(TPM_RH_ENDORSEMENT), for EKs without
  // userWithAuth. It is marked continueSession so that its lifetime is ours alone: the
  // returned Handle flushes it whether or not the command using it succeeded.
  Result<Handle> ek_policy_session() {
    TPMT_SYM_DEF sym{};
    sym.algorithm = TPM2_ALG_NULL;
    ESYS_TR session = ESYS_TR_NONE;
    TSS2_RC rc = Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, nullptr, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
                                       &session);
    if (rc != TSS2_RC_SUCCESS) return tpm_error("StartAuthSession", rc);
    Handle h(ctx, session, true);
    rc = Esys_TRSess_SetAttributes(ctx, session, TPMA_SESSION_CONTINUESESSION,
                                   TPMA_SESSION_CONTINUESESSION);
    if (rc != TSS2_RC_SUCCESS) return tpm_error("TRSess_SetAttributes", rc);
    rc = Esys_PolicySecret(ctx, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, nullptr, nullptr, nullptr, 0, nullptr, nullptr);
    if (rc != TSS2_RC_SUCCESS) return tpm_error("PolicySecret", rc);
    return h;
  }

  Result<Handle> parent(Tpm2KeyBlob::Parent p, Ek* ek_out) {
    if (p == Tpm2KeyBlob::Parent::kOwner)
      return create_primary(ESYS_TR_RH_OWNER, ecc_storage_template(false));
    auto e = ek();
    if (!e) return e.status();
    if (ek_out) ek_out->needs_policy = e->needs_policy;
    return std::move(e.value().handle);
  }

  Result<Handle> load(const Tpm2KeyBlob& blob, ESYS_TR parent_tr, bool parent_needs_policy) {
    auto pub = unmarshal<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(blob.public_area);
    auto priv = unmarshal<TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Unmarshal>(blob.private_area);
    if (!pub || !priv) return error(Code::kBadEncoding, "key blob does not unmarshal");
    std::optional<Handle> policy;
    if (parent_needs_policy) {
      auto s = ek_policy_session();
      if (!s) return s.status();
      policy.emplace(std::move(s).value());
    }
    ESYS_TR session = policy ? policy->get() : ESYS_TR_PASSWORD;
    ESYS_TR tr = ESYS_TR_NONE;
    TSS2_RC rc = Esys_Load(ctx, parent_tr, session, ESYS_TR_NONE, ESYS_TR_NONE, &*priv, &*pub, &tr);
    if (rc != TSS2_RC_SUCCESS) return tpm_error("Load", rc);
    return Handle(ctx, tr, true);
  }

  // Loads a blob under its re-derived parent; the parent is flushed before returning.
  Result<Handle> load_blob(const Tpm2KeyBlob& blob) {
    Ek info{Handle(ctx, ESYS_TR_NONE, false), false};
    auto p = parent(blob.parent, &info);
    if (!p) return p.status();
    return load(blob, p->get(), info.needs_policy);
  }

  Result<Tpm2KeyBlob> create(Tpm2KeyBlob::Parent which, const TPM2B_PUBLIC& tmpl) {
    Ek info{Handle(ctx, ESYS_TR_NONE, false), false};
    auto p = parent(which, &info);
    if (!p) return p.status();
    std::optional<Handle> policy;
    if (info.needs_policy) {
      auto s = ek_policy_session();
      if (!s) return s.status();
      policy.emplace(std::move(s).value());
    }
    ESYS_TR session = policy ? policy->get() : ESYS_TR_PASSWORD;
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outside{};
    TPML_PCR_SELECTION creation_pcr{};
    EsysPtr<TPM2B_PRIVATE> priv;
    EsysPtr<TPM2B_PUBLIC> pub;
    TSS2_RC rc =
        Esys_Create(ctx, p->get(), session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &tmpl, &outside,
                    &creation_pcr, priv.out(), pub.out(), nullptr, nullptr, nullptr);
    if (rc != TSS2_RC_SUCCESS) return tpm_error("Create", rc);
    Tpm2KeyBlob blob;
    blob.parent = which;
    blob.public_area = marshal<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Marshal>(*pub.p);
    blob.private_area = marshal<TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Marshal>(*priv.p);
    return blob;
  }
};

Tpm2Device::Tpm2Device(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tpm2Device::~Tpm2Device() = default;

Result<std::unique_ptr<Tpm2Device>> Tpm2Device::open(const std::string& tcti) {
  register_attest_codes();
  auto impl = std::make_unique<Impl>();
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &impl->tcti);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("TCTI initialise", rc);
  rc = Esys_Initialize(&impl->ctx, impl->tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("Esys_Initialize", rc);
  return std::unique_ptr<Tpm2Device>(new Tpm2Device(std::move(impl)));
}

Result<Bytes> Tpm2Device::ek_public() {
  auto ek = impl_->ek();
  if (!ek) return ek.status();
  EsysPtr<TPM2B_PUBLIC> pub;
  TSS2_RC rc = Esys_ReadPublic(impl_->ctx, ek->handle.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, pub.out(), nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("ReadPublic(EK)", rc);
  return marshal<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Marshal>(*pub.p);
}

Result<Bytes> Tpm2Device::read_nv(uint32_t index) {
  ESYS_CONTEXT* ctx = impl_->ctx;
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(ctx, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("NV index", rc);
  Impl::Handle h(ctx, nv, false);
  EsysPtr<TPM2B_NV_PUBLIC> pub;
  rc = Esys_NV_ReadPublic(ctx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.out(), nullptr);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("NV_ReadPublic", rc);
  // EK certificate indices allow owner reads (TCG EK Credential Profile).
  ESYS_TR auth = (pub->nvPublic.attributes & TPMA_NV_OWNERREAD) ? ESYS_TR_RH_OWNER : nv;
  Bytes out;
  uint16_t size = pub->nvPublic.dataSize;
  while (out.size() < size) {
    uint16_t chunk = static_cast<uint16_t>(std::min<size_t>(kNvChunk, size - out.size()));
    EsysPtr<TPM2B_MAX_NV_BUFFER> data;
    rc = Esys_NV_Read(ctx, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, chunk,
                      static_cast<uint16_t>(out.size()), data.out());
    if (rc != TSS2_RC_SUCCESS) return tpm_error("NV_Read", rc);
    out.insert(out.end(), data->buffer, data->buffer + data->size);
    if (data->size == 0) break;
  }
  return out;
}

Result<Bytes> Tpm2Device::read_ek_certificate() {
  Status last = error(kTpmError, "no EK certificate");
  for (uint32_t index : kEkCertNvIndices) {
    auto cert = read_nv(index);
    if (cert) return cert;
    last = cert.status();
  }
  return last;
}

Result<Tpm2KeyBlob> Tpm2Device::create_ak() {
  return impl_->create(Tpm2KeyBlob::Parent::kEndorsement, ecc_signing_template(true));
}

Result<Tpm2KeyBlob> Tpm2Device::create_signing_key() {
  return impl_->create(Tpm2KeyBlob::Parent::kOwner, ecc_signing_template(false));
}

Result<Bytes> Tpm2Device::activate_credential(const Tpm2KeyBlob& ak, const Bytes& id_object,
                                              const Bytes& encrypted_secret) {
  TPM2B_ID_OBJECT blob{};
  TPM2B_ENCRYPTED_SECRET secret{};
  if (id_object.size() > sizeof blob.credential || encrypted_secret.size() > sizeof secret.secret)
    return error(Code::kFieldTooLong, "credential too large");
  blob.size = static_cast<uint16_t>(id_object.size());
  std::memcpy(blob.credential, id_object.data(), id_object.size());
  secret.size = static_cast<uint16_t>(encrypted_secret.size());
  std::memcpy(secret.secret, encrypted_secret.data(), encrypted_secret.size());

  auto ek = impl_->ek();
  if (!ek) return ek.status();
  auto key = impl_->load(ak, ek->handle.get(), ek->needs_policy);
  if (!key) return key.status();
  std::optional<Impl::Handle> policy;
  if (ek->needs_policy) {
    auto s = impl_->ek_policy_session();
    if (!s) return s.status();
    policy.emplace(std::move(s).value());
  }
  ESYS_TR ek_session = policy ? policy->get() : ESYS_TR_PASSWORD;
  EsysPtr<TPM2B_DIGEST> out;
  TSS2_RC rc = Esys_ActivateCredential(impl_->ctx, key->get(), ek->handle.get(), ESYS_TR_PASSWORD,
                                       ek_session, ESYS_TR_NONE, &blob, &secret, out.out());
  if (rc != TSS2_RC_SUCCESS) return tpm_error("ActivateCredential", rc);
  return Bytes(out->buffer, out->buffer + out->size);
}

Status Tpm2Device::extend_pcr(uint8_t pcr, const Hash32& measurement) {
  if (pcr >= kNumPcrs) return error(Code::kInvalidArgument, "PCR index out of range");
  TPML_DIGEST_VALUES values{};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::memcpy(values.digests[0].digest.sha256, measurement.data(), 32);
  TSS2_RC rc = Esys_PCR_Extend(impl_->ctx, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &values);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("PCR_Extend", rc);
  return Status::ok();
}

Status Tpm2Device::reset_pcr(uint8_t pcr) {
  if (pcr >= kNumPcrs) return error(Code::kInvalidArgument, "PCR index out of range");
  TSS2_RC rc =
      Esys_PCR_Reset(impl_->ctx, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return tpm_error("PCR_Reset", rc);
  return Status::ok();
}

Result<std::vector<PcrValue>> Tpm2Device::read_pcrs(const std::vector<uint8_t>& indices) {
  std::vector<PcrValue> out;
  for (uint8_t pcr : indices) {
    if (pcr >= kNumPcrs) return error(Code::kInvalidArgument, "PCR index out of range");
    TPML_PCR_SELECTION sel{};
    sel.count = 1;
    sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel.pcrSelections[0].sizeofSelect = 3;
    sel.pcrSelections[0].pcrSelect[pcr / 8] = static_cast<uint8_t>(1u << (pcr % 8));
    EsysPtr<TPML_DIGEST> values;
    TSS2_RC rc = Esys_PCR_Read(impl_->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, nullptr,
                               nullptr, values.out());
    if (rc != TSS2_RC_SUCCESS) return tpm_error("PCR_Read", rc);
    if (values->count != 1 || values->digests[0].size != 32)
      return error(kTpmError, "SHA-256 bank of PCR " + std::to_string(pcr) + " is not active");
    out.push_back(PcrValue{pcr, Hash32::from_span(values->digests[0].buffer)});
  }
  return out;
}

Result<P256Signature> Tpm2Device::sign(const Tpm2KeyBlob& blob, const Hash32& digest) {
  auto key = impl_->load_blob(blob);
  if (!key) return key.status();
  TPM2B_DIGEST d{};
  d.size = 32;
  std::memcpy(d.buffer, digest.data(), 32);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_ECDSA;
  scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  // An unrestricted key signs any digest, so no hash-check ticket is needed.
  TPMT_TK_HASHCHECK ticket{};
  ticket.tag = TPM2_ST_HASHCHECK;
  ticket.hierarchy = TPM2_RH_NULL;
  EsysPtr<TPMT_SIGNATURE> sig;
  TSS2_RC rc = Esys_Sign(impl_->ctx, key->get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &d,
                         &scheme, &ticket, sig.out());
  if (rc != TSS2_RC_SUCCESS) return tpm_error("Sign", rc);
  if (!is_p256_ecdsa(*sig.p)) return error(kTpmError, "TPM returned a non-ECDSA signature");
  return raw_signature(*sig.p);
}

Result<Tpm2Attestation> Tpm2Device::quote(const Tpm2KeyBlob& ak, const Hash32& nonce,
                                          const std::vector<uint8_t>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (uint8_t pcr : pcrs) {
    if (pcr >= kNumPcrs) return error(Code::kInvalidArgument, "PCR index out of range");
    sel.pcrSelections[0].pcrSelect[pcr / 8] |= static_cast<uint8_t>(1u << (pcr % 8));
  }
  auto key = impl_->load_blob(ak);
  if (!key) return key.status();
  TPM2B_DATA qualifying{};
  qualifying.size = 32;
  std::memcpy(qualifying.buffer, nonce.data(), 32);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the AK's own scheme: ECDSA / SHA-256
  EsysPtr<TPM2B_ATTEST> quoted;
  EsysPtr<TPMT_SIGNATURE> sig;
  TSS2_RC rc = Esys_Quote(impl_->ctx, key->get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &qualifying, &scheme, &sel, quoted.out(), sig.out());
  if (rc != TSS2_RC_SUCCESS) return tpm_error("Quote", rc);
  if (!is_p256_ecdsa(*sig.p)) return error(kTpmError, "TPM returned a non-ECDSA quote signature");
  Tpm2Attestation out;
  out.attest.assign(quoted->attestationData, quoted->attestationData + quoted->size);
  out.signature = raw_signature(*sig.p);
  // Read in ascending order, the order in which the quote digests them.
  std::vector<uint8_t> sorted;
  for (uint8_t i = 0; i < kNumPcrs; ++i)
    if (sel.pcrSelections[0].pcrSelect[i / 8] & (1u << (i % 8))) sorted.push_back(i);
  auto values = read_pcrs(sorted);
  if (!values) return values.status();
  out.pcrs = std::move(*values);
  return out;
}

Result<Tpm2Attestation> Tpm2Device::certify(const Tpm2KeyBlob& ak, const Tpm2KeyBlob& blob,
                                            const Hash32& nonce) {
  auto signer = impl_->load_blob(ak);
  if (!signer) return signer.status();
  auto key = impl_->load_blob(blob);
  if (!key) return key.status();
  TPM2B_DATA qualifying{};
  qualifying.size = 32;
  std::memcpy(qualifying.buffer, nonce.data(), 32);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  EsysPtr<TPM2B_ATTEST> info;
  EsysPtr<TPMT_SIGNATURE> sig;
  TSS2_RC rc =
      Esys_Certify(impl_->ctx, key->get(), signer->get(), ESYS_TR_PASSWORD, ESYS_TR_PASSWORD,
                   ESYS_TR_NONE, &qualifying, &scheme, info.out(), sig.out());
  if (rc != TSS2_RC_SUCCESS) return tpm_error("Certify", rc);
  if (!is_p256_ecdsa(*sig.p)) return error(kTpmError, "TPM returned a non-ECDSA signature");
  Tpm2Attestation out;
  out.attest.assign(info->attestationData, info->attestationData + info->size);
  out.signature = raw_signature(*sig.p);
  return out;
}

Result<Bytes> blob_tpmt_public(const Tpm2KeyBlob& blob) {
  return tpmt_from_tpm2b_public(blob.public_area);
}

Result<P256Point> blob_p256_point(const Tpm2KeyBlob& blob) {
  auto tpmt = blob_tpmt_public(blob);
  if (!tpmt) return tpmt.status();
  auto info = parse_public(*tpmt);
  if (!info) return info.status();
  if (info->curve != TPM2_ECC_NIST_P256 || info->point.size() != kP256PointSize)
    return error(Code::kInvalidArgument, "key is not P-256");
  return P256Point::from_span(info->point.data());
}

Bytes encode_key_blob(const Tpm2KeyBlob& blob) {
  codec::Writer w;
  w.u8(1).u8(static_cast<uint8_t>(blob.parent));
  w.bytes(blob.public_area, kMaxBlobField).bytes(blob.private_area, kMaxBlobField);
  return w.take();
}

Result<Tpm2KeyBlob> decode_key_blob(const Bytes& bytes) {
  return codec::decode<Tpm2KeyBlob>(bytes.data(), bytes.size(), [](codec::Reader& r) {
    if (r.u8() != 1) throw Error(Code::kUnknownVersion, "key blob version");
    uint8_t parent = r.u8();
    if (parent != 1 && parent != 2) throw Error(Code::kUnknownType, "key blob parent");
    Tpm2KeyBlob b;
    b.parent = static_cast<Tpm2KeyBlob::Parent>(parent);
    b.public_area = r.bytes(kMaxBlobField);
    b.private_area = r.bytes(kMaxBlobField);
    return b;
  });
}

Status save_key_blob(const std::string& path, const Tpm2KeyBlob& blob) {
  Bytes data = encode_key_blob(blob);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!f) return error(Code::kStorage, "cannot write " + path);
  return Status::ok();
}

Result<Tpm2KeyBlob> load_key_blob(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return error(Code::kNotFound, "cannot read " + path);
  Bytes data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_key_blob(data);
}

Result<Evidence> make_tpm2_evidence(Tpm2Device& tpm, const Tpm2KeyBlob& ak,
                                    const std::vector<Bytes>& ak_cert_chain,
                                    const Tpm2KeyBlob& signing_key, const Hash32& nonce,
                                    const std::vector<uint8_t>& pcrs) {
  auto ak_point = blob_p256_point(ak);
  auto key_point = blob_p256_point(signing_key);
  auto key_public = blob_tpmt_public(signing_key);
  if (!ak_point) return ak_point.status();
  if (!key_point) return key_point.status();
  if (!key_public) return key_public.status();
  auto q = tpm.quote(ak, nonce, pcrs);
  if (!q) return q.status();
  auto c = tpm.certify(ak, signing_key, nonce);
  if (!c) return c.status();
  Evidence e;
  e.platform = Platform::kTpm2;
  e.signing_key.assign(key_point->bytes.begin(), key_point->bytes.end());
  Tpm2Evidence& t = e.tpm2;
  t.ak_public = *ak_point;
  t.ak_cert_chain = ak_cert_chain;
  t.quote = std::move(q->attest);
  t.quote_signature = q->signature;
  t.pcrs = std::move(q->pcrs);
  t.signing_public = std::move(*key_public);
  t.certify_info = std::move(c->attest);
  t.certify_signature = c->signature;
  return e;
}

}  // namespace gridpact::attest
