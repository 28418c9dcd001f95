// Key files: an Ed25519 key on disk, plain or encrypted under a passphrase. Mode 0600.
//
//   Plain:      {"public_key": "<64 hex>", "seed": "<64 hex>"}
//   Encrypted:  {"public_key": "<64 hex>",
//                "encrypted_seed": {"kdf": "argon2id13", "opslimit": N, "memlimit": N,
//                                   "salt": "<32 hex>", "cipher": "xchacha20poly1305-ietf",
//                                   "nonce": "<48 hex>", "ciphertext": "<96 hex>"}}
//
// Encrypted: key = Argon2id13(passphrase, salt, opslimit, memlimit), 32 bytes (libsodium's
// crypto_pwhash); ciphertext = XChaCha20-Poly1305-IETF(key, nonce, seed, associated data =
// the 32 bytes of public_key), tag included. The public key stays readable (a node shows
// its identity before asking for anything) and is bound to the seed: altering it fails
// authentication like a wrong passphrase. The KDF parameters are stored, so files written
// later may use higher ones; the reader honours any within libsodium's MIN..SENSITIVE
// bounds (at most 1 GiB and 4 passes: a planted file cannot make it allocate more or loop
// longer). GridPact writes MODERATE ones (256 MiB, 3 passes: about a second of CPU).
//
// The passphrase comes from the environment, never from a command-line flag:
//   GRIDPACT_KEY_PASSPHRASE_FILE  a file whose first line is the passphrase (wins when both
//                                 are set: a unit's credential over an inherited variable)
//   GRIDPACT_KEY_PASSPHRASE       the passphrase itself (empty means unset)
// With one set, every key file GridPact creates is written encrypted, and encrypted ones
// can be read; plain files are read either way. Passphrase, derived key and seed buffers
// are wiped after use; none is ever logged.
//
// Reading refuses, in this order: a symlink (INVALID_ARGUMENT) or a missing file
// (NOT_FOUND); no key file (not JSON, neither or both of seed and encrypted_seed:
// INVALID_ARGUMENT); another kdf or cipher, or parameters out of bounds (KEY_UNSUPPORTED);
// bad hex or sizes (INVALID_ARGUMENT); no passphrase (KEY_LOCKED); a wrong passphrase or
// an altered file (KEY_AUTH_FAILED); a public key that is not the seed's (KEY_MISMATCH).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "crypto/keys.hpp"

namespace gridpact {

namespace keys {

#define GRIDPACT_KEY_FILE_CODES(X)                                                     \
  X(kKeyLocked, 1900, "KEY_LOCKED",                                                    \
    "the key file is encrypted (or is to be) and no passphrase is set: set "           \
    "GRIDPACT_KEY_PASSPHRASE_FILE or GRIDPACT_KEY_PASSPHRASE")                         \
  X(kKeyAuthFailed, 1901, "KEY_AUTH_FAILED",                                           \
    "the encrypted key file does not open: wrong passphrase, or the file was altered") \
  X(kKeyUnsupported, 1902, "KEY_UNSUPPORTED",                                          \
    "the key file names another kdf or cipher, or KDF parameters out of bounds")       \
  X(kKeyMismatch, 1903, "KEY_MISMATCH", "the key file's public key is not its seed's") \
  X(kPassphraseUnreadable, 1904, "PASSPHRASE_UNREADABLE",                              \
    "GRIDPACT_KEY_PASSPHRASE_FILE cannot be read, or its first line is empty")

GRIDPACT_CODES(kKeyFileCodes, "keys", 1900, GRIDPACT_KEY_FILE_CODES);

void register_key_file_codes();

}  // namespace keys

// A passphrase in locked memory (sodium_malloc), wiped when destroyed.
class Passphrase {
 public:
  explicit Passphrase(std::string_view text);
  ~Passphrase();
  Passphrase(const Passphrase&) = delete;
  Passphrase& operator=(const Passphrase&) = delete;
  std::string_view view() const { return {data_, size_}; }

 private:
  char* data_;
  size_t size_;
};

// The passphrase the environment names (see above); nullptr when none is set.
// PASSPHRASE_UNREADABLE when GRIDPACT_KEY_PASSPHRASE_FILE names a file that cannot be read
// or whose first line is empty.
Result<std::unique_ptr<Passphrase>> passphrase_from_environment();

// Argon2id work per key file (passes, bytes). GridPact writes libsodium's MODERATE; any
// within MIN..SENSITIVE is accepted (tests use the minimum: 1 pass, 8 KiB).
struct KdfLimits {
  uint64_t opslimit;
  uint64_t memlimit;
};
extern const KdfLimits kModerateKdf;

// Writes `key` to a new file at `path`, encrypted when `passphrase` is given (limits out of
// bounds: KEY_UNSUPPORTED). Never replaces
// what is at `path` (a key or a symlink: ALREADY_EXISTS); writes through a fsynced
// temporary file renamed into place. The first form takes the passphrase from the
// environment.
Status write_key_file(const std::string& path, const KeyPair& key);
Status write_key_file(const std::string& path, const KeyPair& key, const Passphrase* passphrase,
                      KdfLimits kdf = kModerateKdf);

// Replaces the key file at `path` (a regular file, never a symlink) by `key`, encrypted
// when `passphrase` is given (`gridpact keys encrypt|decrypt`): the same fsynced temporary
// file, with the old one's owner, renamed over it.
Status replace_key_file(const std::string& path, const KeyPair& key, const Passphrase* passphrase,
                        KdfLimits kdf = kModerateKdf);

// Reads a key file, never through a symlink. An encrypted one needs `passphrase`
// (KEY_LOCKED without); the first form takes it from the environment.
Result<KeyPair> read_key_file(const std::string& path);
Result<KeyPair> read_key_file(const std::string& path, const Passphrase* passphrase);

}  // namespace gridpact
