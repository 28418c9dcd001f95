// Key files (node/key_file.hpp) from the command line:
//   gridpact keygen --out FILE         a new key, encrypted when a passphrase is set
//   gridpact keys encrypt --key FILE   seals a plain key file under the passphrase
//   gridpact keys decrypt --key FILE   opens an encrypted one back into a plain file
// The passphrase comes from GRIDPACT_KEY_PASSPHRASE_FILE or GRIDPACT_KEY_PASSPHRASE, never
// from a flag (it would show in `ps`). encrypt and decrypt replace FILE deliberately: a new
// 0600 file beside it, fsynced and renamed over it; never through a symlink.
#include <filesystem>

#include "app.hpp"

namespace gridpact::cli {
namespace {

Result<std::unique_ptr<Passphrase>> required_passphrase(const std::string& why) {
  auto passphrase = passphrase_from_environment();
  if (passphrase && !*passphrase) {
    keys::register_key_file_codes();
    return error(keys::kKeyLocked, why +
                                       " needs a passphrase: set GRIDPACT_KEY_PASSPHRASE_FILE (a "
                                       "file holding it) or GRIDPACT_KEY_PASSPHRASE");
  }
  return passphrase;
}

void print_key_file(const std::string& path, const KeyPair& key, bool encrypted) {
  print_json({{"public_key", key.public_key().hex()}, {"file", path}, {"encrypted", encrypted}});
}

int keygen(const std::string& path) {
  if (std::filesystem::exists(std::filesystem::symlink_status(path)))
    return fail(error(Code::kInvalidArgument, path + " exists"));
  auto passphrase = passphrase_from_environment();
  if (!passphrase) return fail(passphrase.status());
  auto key = KeyPair::generate();
  if (Status s = write_key_file(path, key, passphrase->get()); !s) return fail(s);
  print_key_file(path, key, *passphrase != nullptr);
  return 0;
}

int encrypt(const std::string& path) {
  auto passphrase = required_passphrase("keys encrypt");
  if (!passphrase) return fail(passphrase.status());
  auto key = read_key_file(path, nullptr);
  if (!key && key.status().code == keys::kKeyLocked)
    return fail(error(Code::kInvalidArgument,
                      path + " is encrypted already (decrypt it first to change the passphrase)"));
  if (!key) return fail(key.status());
  if (Status s = replace_key_file(path, *key, passphrase->get()); !s) return fail(s);
  print_key_file(path, *key, true);
  return 0;
}

int decrypt(const std::string& path) {
  auto plain = read_key_file(path, nullptr);
  if (plain) return fail(error(Code::kInvalidArgument, path + " is not encrypted"));
  if (plain.status().code != keys::kKeyLocked) return fail(plain.status());
  auto passphrase = required_passphrase("keys decrypt");
  if (!passphrase) return fail(passphrase.status());
  auto key = read_key_file(path, passphrase->get());
  if (!key) return fail(key.status());
  if (Status s = replace_key_file(path, *key, nullptr); !s) return fail(s);
  print_key_file(path, *key, false);
  return 0;
}

}  // namespace

void add_keys_commands(CLI::App& app) {
  auto out = std::make_shared<std::string>();
  auto* keygen_cmd = app.add_subcommand(
      "keygen",
      "Create an Ed25519 key file (mode 0600; encrypted when GRIDPACT_KEY_PASSPHRASE_FILE or "
      "GRIDPACT_KEY_PASSPHRASE is set)");
  keygen_cmd->add_option("--out", *out, "Key file to write")->required();
  keygen_cmd->callback([out] { finish(keygen(*out)); });

  auto* keys_cmd = app.add_subcommand(
      "keys",
      "Encrypt or decrypt a key file in place under the passphrase of "
      "GRIDPACT_KEY_PASSPHRASE_FILE (first line) or GRIDPACT_KEY_PASSPHRASE (never a flag)");
  keys_cmd->require_subcommand(1);
  auto key = std::make_shared<std::string>();
  auto* enc = keys_cmd->add_subcommand(
      "encrypt",
      "Replace a plain key file by one encrypted under the passphrase (Argon2id, "
      "XChaCha20-Poly1305)");
  enc->add_option("--key", *key, "Key file to encrypt")->required();
  enc->callback([key] { finish(encrypt(*key)); });
  auto* dec = keys_cmd->add_subcommand(
      "decrypt", "Replace an encrypted key file by a plain one (the seed in the clear, mode 0600)");
  dec->add_option("--key", *key, "Key file to decrypt")->required();
  dec->callback([key] { finish(decrypt(*key)); });
}

}  // namespace gridpact::cli
