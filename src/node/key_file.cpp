#include "node/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>

namespace gridpact {

namespace keys {
void register_key_file_codes() {
  register_codes(kKeyFileCodes);
}
}  // namespace keys

const KdfLimits kModerateKdf{crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};

namespace {

using nlohmann::json;

constexpr const char* kPassphraseVariable = "GRIDPACT_KEY_PASSPHRASE";
constexpr const char* kPassphraseFileVariable = "GRIDPACT_KEY_PASSPHRASE_FILE";
constexpr std::string_view kKdf = "argon2id13";
constexpr std::string_view kCipher = "xchacha20poly1305-ietf";
constexpr size_t kMaxKeyFile = 1 << 16;
constexpr size_t kMaxPassphraseLine = 4096;

using Salt = FixedBytes<crypto_pwhash_SALTBYTES>;
using Nonce = FixedBytes<crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>;
using SealedSeed = FixedBytes<32 + crypto_aead_xchacha20poly1305_ietf_ABYTES>;

// A secret of N bytes (a seed, a derived key), wiped when it leaves scope.
template <size_t N>
struct Secret : FixedBytes<N> {
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { sodium_memzero(this->data(), N); }
};

void wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
}

Status key_error(Code code, const std::string& path, const std::string& what) {
  keys::register_key_file_codes();
  return error(code, "key file " + path + ": " + what);
}

// A string from a file, cut short for an error message.
std::string quoted(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  return "\"" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "\"";
}

// How much work a key file may ask of Argon2id: libsodium's MIN..SENSITIVE (at most
// 4 passes over 1 GiB).
struct KdfBound {
  const char* name;
  uint64_t low, high;
};
constexpr KdfBound kOpsBound{"opslimit", crypto_pwhash_OPSLIMIT_MIN,
                             crypto_pwhash_OPSLIMIT_SENSITIVE};
constexpr KdfBound kMemBound{"memlimit", crypto_pwhash_MEMLIMIT_MIN,
                             crypto_pwhash_MEMLIMIT_SENSITIVE};

Status check_bound(const KdfBound& bound, uint64_t value, const std::string& path) {
  if (value >= bound.low && value <= bound.high) return Status::ok();
  return key_error(keys::kKeyUnsupported, path,
                   std::string(bound.name) + " is outside " + std::to_string(bound.low) + ".." +
                       std::to_string(bound.high) + " (libsodium's MIN..SENSITIVE)");
}

Status derive_key(Secret<crypto_aead_xchacha20poly1305_ietf_KEYBYTES>& out,
                  const Passphrase& passphrase, const Salt& salt, KdfLimits kdf,
                  const std::string& path) {
  crypto_init();
  std::string_view p = passphrase.view();
  if (crypto_pwhash(out.data(), out.size(), p.data(), p.size(), salt.data(), kdf.opslimit,
                    static_cast<size_t>(kdf.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0)
    return key_error(keys::kKeyUnsupported, path,
                     "Argon2id could not run with memlimit " + std::to_string(kdf.memlimit) +
                         " (out of memory?)");
  return Status::ok();
}

Result<json> encrypt_seed(const KeyPair& key, const Passphrase& passphrase, KdfLimits kdf,
                          const std::string& path) {
  if (Status s = check_bound(kOpsBound, kdf.opslimit, path); !s) return s;
  if (Status s = check_bound(kMemBound, kdf.memlimit, path); !s) return s;
  crypto_init();
  Salt salt;
  Nonce nonce;
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  Secret<crypto_aead_xchacha20poly1305_ietf_KEYBYTES> secret;
  if (Status s = derive_key(secret, passphrase, salt, kdf, path); !s) return s;
  SealedSeed sealed;
  unsigned long long sealed_size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      sealed.data(), &sealed_size, key.seed().data(), key.seed().size(), key.public_key().data(),
      key.public_key().size(), nullptr, nonce.data(), secret.data());
  return json{{"kdf", kKdf},
              {"opslimit", kdf.opslimit},
              {"memlimit", kdf.memlimit},
              {"salt", salt.hex()},
              {"cipher", kCipher},
              {"nonce", nonce.hex()},
              {"ciphertext", sealed.hex()}};
}

// The seed of an "encrypted_seed" object, checked in the header's order.
Status decrypt_seed(Secret<32>& seed, const json& e, const json& public_key_hex,
                    const Passphrase* passphrase, const std::string& path) {
  if (!e.is_object()) return key_error(Code::kInvalidArgument, path, "encrypted_seed is no object");
  if (e.value("kdf", json()) != kKdf)
    return key_error(keys::kKeyUnsupported, path,
                     "kdf " + quoted(e.value("kdf", json())) + " is not supported (argon2id13)");
  if (e.value("cipher", json()) != kCipher)
    return key_error(keys::kKeyUnsupported, path,
                     "cipher " + quoted(e.value("cipher", json())) +
                         " is not supported (xchacha20poly1305-ietf)");
  KdfLimits kdf{};
  for (auto [bound, value] : {std::pair{kOpsBound, &kdf.opslimit}, {kMemBound, &kdf.memlimit}}) {
    const json v = e.value(bound.name, json());
    if (!v.is_number_integer())
      return key_error(Code::kInvalidArgument, path, std::string(bound.name) + " is no integer");
    if (Status s = check_bound(bound, v.is_number_unsigned() ? v.get<uint64_t>() : 0, path); !s)
      return s;
    *value = v.get<uint64_t>();
  }
  auto field = [&](const char* name) {
    const json v = e.value(name, json());
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  auto salt = Salt::from_hex(field("salt"));
  auto nonce = Nonce::from_hex(field("nonce"));
  auto sealed = SealedSeed::from_hex(field("ciphertext"));
  auto public_key = public_key_hex.is_string()
                        ? PublicKey::from_hex(public_key_hex.get<std::string>())
                        : std::nullopt;
  if (!salt || !nonce || !sealed || !public_key)
    return key_error(Code::kInvalidArgument, path,
                     "public_key, salt, nonce or ciphertext is not hex of its size (" +
                         std::to_string(PublicKey::size()) + ", " + std::to_string(Salt::size()) +
                         ", " + std::to_string(Nonce::size()) + ", " +
                         std::to_string(SealedSeed::size()) + " bytes)");
  if (!passphrase)
    return key_error(keys::kKeyLocked, path,
                     "encrypted: set GRIDPACT_KEY_PASSPHRASE_FILE (a file holding the passphrase) "
                     "or GRIDPACT_KEY_PASSPHRASE");
  Secret<crypto_aead_xchacha20poly1305_ietf_KEYBYTES> secret;
  if (Status s = derive_key(secret, *passphrase, *salt, kdf, path); !s) return s;
  unsigned long long seed_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          seed.data(), &seed_size, nullptr, sealed->data(), sealed->size(), public_key->data(),
          public_key->size(), nonce->data(), secret.data()) != 0 ||
      seed_size != seed.size())
    return key_error(keys::kKeyAuthFailed, path,
                     "does not open: wrong passphrase, or the file was altered");
  return Status::ok();
}

// Writes `text` to `path` with mode 0600 whatever the umask. A temporary file beside it,
// created new (never an existing file, never through a symlink), written and fsynced, is
// renamed into place: over the file at `path` when `replace` (a regular file, whose owner
// the new one keeps: the rename replaces the directory entry, never what a symlink would
// point to), else only if nothing is there, so an existing key is never overwritten. A
// crash leaves the old file or the whole new one.
Status write_private_file(const std::string& path, const std::string& text, bool replace) {
  auto fail = [&](const std::string& what) {
    return error(Code::kStorage, what + " " + path + ": " + std::strerror(errno));
  };
  struct stat old {};
  if (replace) {
    if (::lstat(path.c_str(), &old) != 0) return fail("cannot replace key file");
    if (!S_ISREG(old.st_mode))
      return error(Code::kInvalidArgument,
                   "key file " + path + " is not a regular file (a symlink?): not replaced");
  }
  std::string tmp = path + ".tmp-" + KeyPair::generate().public_key().hex().substr(0, 16);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create key file");
  bool ok = ::fchmod(fd, 0600) == 0;
  // A replaced key keeps its owner (root converting the key of a service's user), or is
  // not replaced.
  if (ok && replace && (old.st_uid != ::geteuid() || old.st_gid != ::getegid()) &&
      ::fchown(fd, old.st_uid, old.st_gid) != 0) {
    Status s = fail("cannot give the new key file the owner of");
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  Status status = ok ? Status::ok() : fail("cannot write key file");
  ::close(fd);
  if (status && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(),
                            replace ? 0 : RENAME_NOREPLACE) != 0)
    status = errno == EEXIST ? error(Code::kAlreadyExists,
                                     "key file " + path + " exists (or is a symlink): not replaced")
                             : fail("cannot create key file");
  if (!status) {
    ::unlink(tmp.c_str());
    return status;
  }
  // The rename is durable once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

Status write_key(const std::string& path, const KeyPair& key, const Passphrase* passphrase,
                 KdfLimits kdf, bool replace) {
  json j = {{"public_key", key.public_key().hex()}};
  if (passphrase) {
    auto sealed = encrypt_seed(key, *passphrase, kdf, path);
    if (!sealed) return sealed.status();
    j["encrypted_seed"] = std::move(*sealed);
  } else {
    j["seed"] = key.seed().hex();
  }
  std::string text = j.dump(2) + "\n";
  if (!passphrase) wipe(j["seed"].get_ref<std::string&>());
  Status status = write_private_file(path, text, replace);
  wipe(text);
  return status;
}

}  // namespace

Passphrase::Passphrase(std::string_view text) : size_(text.size()) {
  crypto_init();
  data_ = static_cast<char*>(sodium_malloc(size_ == 0 ? 1 : size_));
  if (!data_) throw std::bad_alloc();
  std::memcpy(data_, text.data(), size_);
}

Passphrase::~Passphrase() {
  sodium_free(data_);  // wipes it first
}

Result<std::unique_ptr<Passphrase>> passphrase_from_environment() {
  if (const char* file = std::getenv(kPassphraseFileVariable); file && *file) {
    auto unreadable = [&](const std::string& why) {
      keys::register_key_file_codes();
      return error(keys::kPassphraseUnreadable,
                   std::string(kPassphraseFileVariable) + " " + file + ": " + why);
    };
    int fd = ::open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unreadable(std::strerror(errno));
    char buffer[kMaxPassphraseLine];
    size_t size = 0;
    int read_error = 0;
    while (size < sizeof buffer) {
      ssize_t n = ::read(fd, buffer + size, sizeof buffer - size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) read_error = errno;
      if (n <= 0) break;
      size += static_cast<size_t>(n);
    }
    ::close(fd);
    if (read_error != 0) {
      sodium_memzero(buffer, sizeof buffer);
      return unreadable(std::strerror(read_error));
    }
    auto newline = static_cast<const char*>(std::memchr(buffer, '\n', size));
    size_t line = newline ? static_cast<size_t>(newline - buffer) : size;
    if (line > 0 && buffer[line - 1] == '\r') --line;
    std::unique_ptr<Passphrase> passphrase;
    if (line > 0 && (newline || size < sizeof buffer))
      passphrase = std::make_unique<Passphrase>(std::string_view(buffer, line));
    sodium_memzero(buffer, sizeof buffer);
    if (!passphrase)
      return unreadable(line == 0 ? "the first line is empty"
                                  : "the first line is longer than " +
                                        std::to_string(kMaxPassphraseLine - 1) + " bytes");
    return passphrase;
  }
  if (const char* text = std::getenv(kPassphraseVariable); text && *text)
    return std::make_unique<Passphrase>(text);
  return std::unique_ptr<Passphrase>();
}

Status write_key_file(const std::string& path, const KeyPair& key) {
  auto passphrase = passphrase_from_environment();
  if (!passphrase) return passphrase.status();
  return write_key_file(path, key, passphrase->get());
}

Status write_key_file(const std::string& path, const KeyPair& key, const Passphrase* passphrase,
                      KdfLimits kdf) {
  return write_key(path, key, passphrase, kdf, false);
}

Status replace_key_file(const std::string& path, const KeyPair& key, const Passphrase* passphrase,
                        KdfLimits kdf) {
  return write_key(path, key, passphrase, kdf, true);
}

Result<KeyPair> read_key_file(const std::string& path) {
  auto key = read_key_file(path, nullptr);
  if (key || key.status().code != keys::kKeyLocked) return key;
  // Encrypted: only now is the passphrase looked up (a plain file needs none).
  auto passphrase = passphrase_from_environment();
  if (!passphrase) return passphrase.status();
  if (!*passphrase) return key;
  return read_key_file(path, passphrase->get());
}

Result<KeyPair> read_key_file(const std::string& path, const Passphrase* passphrase) {
  // Never through a symlink: a key is where its path says.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return error(errno == ELOOP ? Code::kInvalidArgument : Code::kNotFound,
                 "cannot read key file " + path + ": " + std::strerror(errno));
  std::string text;
  text.reserve(kMaxKeyFile + 4096);  // never reallocated: wiped in one place
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || text.size() > kMaxKeyFile) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  sodium_memzero(chunk, sizeof chunk);
  json j = json::parse(text, nullptr, false);
  wipe(text);
  Secret<32> seed;
  Status status = Status::ok();
  const bool plain = j.is_object() && j.contains("seed");
  const bool encrypted = j.is_object() && j.contains("encrypted_seed");
  if (plain == encrypted) {
    status = key_error(Code::kInvalidArgument, path,
                       "not a GridPact key file (one of seed and encrypted_seed)");
  } else if (plain) {
    json& hex = j["seed"];
    size_t size = 0;
    const char* end = nullptr;
    bool ok = hex.is_string() && hex.get_ref<const std::string&>().size() == 2 * seed.size() &&
              sodium_hex2bin(seed.data(), seed.size(), hex.get_ref<const std::string&>().data(),
                             2 * seed.size(), nullptr, &size, &end) == 0 &&
              size == seed.size();
    if (hex.is_string()) wipe(hex.get_ref<std::string&>());
    if (!ok) status = key_error(Code::kInvalidArgument, path, "the seed is not 64 hex digits");
  } else {
    status =
        decrypt_seed(seed, j["encrypted_seed"], j.value("public_key", json()), passphrase, path);
  }
  if (!status) return status;
  auto key = KeyPair::from_seed(seed);
  if (j.contains("public_key") && j["public_key"] != key.public_key().hex())
    return key_error(keys::kKeyMismatch, path, "the public key is not the seed's");
  return key;
}

}  // namespace gridpact
