#include "node/key_file.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ledger/testing.hpp"

namespace gridpact {
namespace {

using nlohmann::json;

// The least work libsodium allows: the reader honours what the file records, so tests stay
// fast; GridPact itself writes MODERATE.
constexpr KdfLimits kTestKdf{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, false);
}

void write_json(const std::string& path, const json& j) {
  std::filesystem::remove(path);
  std::ofstream(path) << j.dump(2) << "\n";
}

// The tests set the passphrase variables themselves: none leaks in from outside or out
// to the next test.
class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override { clear_environment(); }
  void TearDown() override { clear_environment(); }
  static void clear_environment() {
    ::unsetenv("GRIDPACT_KEY_PASSPHRASE");
    ::unsetenv("GRIDPACT_KEY_PASSPHRASE_FILE");
  }
  // An encrypted key file at the test's limits, under "correct horse".
  std::string encrypted(const KeyPair& key, const std::string& name = "k.json") {
    std::string path = dir_.str() + "/" + name;
    Status s = write_key_file(path, key, &passphrase_, kTestKdf);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return path;
  }
  testing::TempDir dir_;
  Passphrase passphrase_{"correct horse"};
};

TEST_F(KeyFileTest, RoundTripsWithPrivatePermissions) {
  auto key = KeyPair::generate();
  std::string path = dir_.str() + "/k.json";
  ASSERT_TRUE(write_key_file(path, key).is_ok());
  EXPECT_EQ(read_key_file(path)->public_key(), key.public_key());
  EXPECT_EQ(read_json(path)["seed"], key.seed().hex()) << "no passphrase set: plain";
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  EXPECT_FALSE(read_key_file(dir_.str() + "/missing").is_ok());
}

TEST_F(KeyFileTest, PrivateUnderAPermissiveUmask) {
  mode_t old = ::umask(0);
  Status written = write_key_file(dir_.str() + "/k.json", KeyPair::generate());
  Status encrypted =
      write_key_file(dir_.str() + "/e.json", KeyPair::generate(), &passphrase_, kTestKdf);
  ::umask(old);
  ASSERT_TRUE(written.is_ok()) << written.to_string();
  ASSERT_TRUE(encrypted.is_ok()) << encrypted.to_string();
  for (const char* name : {"/k.json", "/e.json"}) {
    struct stat st;
    ASSERT_EQ(::lstat((dir_.str() + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << name;
  }
  // Only the keys are left: no temporary file.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.str()),
                          std::filesystem::directory_iterator()),
            2);
}

TEST_F(KeyFileTest, NeverOverwritesAKeyNorFollowsASymlink) {
  auto first = KeyPair::generate();
  std::string path = dir_.str() + "/k.json";
  ASSERT_TRUE(write_key_file(path, first).is_ok());
  EXPECT_EQ(write_key_file(path, KeyPair::generate()).code, Code::kAlreadyExists);
  EXPECT_EQ(read_key_file(path)->public_key(), first.public_key());
  // A symlink planted where a key will be written: refused, its target untouched.
  std::string target = dir_.str() + "/target", link = dir_.str() + "/planted.json";
  std::filesystem::create_symlink(target, link);
  EXPECT_EQ(write_key_file(link, KeyPair::generate()).code, Code::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(target));
  // And a key is never read through a symlink.
  std::filesystem::create_symlink(path, dir_.str() + "/alias.json");
  EXPECT_FALSE(read_key_file(dir_.str() + "/alias.json").is_ok());
}

TEST_F(KeyFileTest, EncryptedRoundTripKeepsNoSeedInTheClear) {
  auto key = KeyPair::generate();
  std::string path = encrypted(key);
  json j = read_json(path);
  EXPECT_FALSE(j.contains("seed"));
  EXPECT_EQ(j["public_key"], key.public_key().hex());
  const json& e = j["encrypted_seed"];
  EXPECT_EQ(e["kdf"], "argon2id13");
  EXPECT_EQ(e["cipher"], "xchacha20poly1305-ietf");
  EXPECT_EQ(e["opslimit"], kTestKdf.opslimit);
  EXPECT_EQ(e["memlimit"], kTestKdf.memlimit);
  EXPECT_EQ(e["salt"].get<std::string>().size(), 2u * crypto_pwhash_SALTBYTES);
  EXPECT_EQ(e["nonce"].get<std::string>().size(), 48u);
  EXPECT_EQ(e["ciphertext"].get<std::string>().size(), 96u);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(key.seed().hex()), std::string::npos);

  auto read = read_key_file(path, &passphrase_);
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(read->seed(), key.seed());
  // Without a passphrase: locked, and the message says what to set.
  auto locked = read_key_file(path);
  EXPECT_EQ(locked.status().code, keys::kKeyLocked);
  EXPECT_NE(locked.status().message.find("GRIDPACT_KEY_PASSPHRASE"), std::string::npos);
  EXPECT_EQ(code_name(locked.status().code), "KEY_LOCKED");
  // Two files of one key under one passphrase share no salt, nonce or ciphertext.
  json other = read_json(encrypted(key, "again.json"))["encrypted_seed"];
  for (const char* field : {"salt", "nonce", "ciphertext"}) EXPECT_NE(other[field], e[field]);
}

TEST_F(KeyFileTest, WrongPassphraseFailsAuthentication) {
  std::string path = encrypted(KeyPair::generate());
  Passphrase wrong("correct horse ");
  auto read = read_key_file(path, &wrong);
  EXPECT_EQ(read.status().code, keys::kKeyAuthFailed) << read.status().to_string();
  EXPECT_EQ(code_name(read.status().code), "KEY_AUTH_FAILED");
}

TEST_F(KeyFileTest, AlteredFileFailsAuthentication) {
  auto key = KeyPair::generate();
  std::string path = encrypted(key);
  const json original = read_json(path);
  auto flip_first_digit = [](std::string hex) {
    hex[0] = hex[0] == '0' ? '1' : '0';
    return hex;
  };
  for (const char* field : {"ciphertext", "nonce", "salt"}) {
    json j = original;
    j["encrypted_seed"][field] = flip_first_digit(j["encrypted_seed"][field]);
    write_json(path, j);
    EXPECT_EQ(read_key_file(path, &passphrase_).status().code, keys::kKeyAuthFailed) << field;
  }
  // Another public key beside the seed: bound as associated data, so it does not open.
  json swapped = original;
  swapped["public_key"] = KeyPair::generate().public_key().hex();
  write_json(path, swapped);
  EXPECT_EQ(read_key_file(path, &passphrase_).status().code, keys::kKeyAuthFailed);
  // Other (still valid) work: a different key is derived, nothing opens.
  json harder = original;
  harder["encrypted_seed"]["opslimit"] = kTestKdf.opslimit + 1;
  write_json(path, harder);
  EXPECT_EQ(read_key_file(path, &passphrase_).status().code, keys::kKeyAuthFailed);
  write_json(path, original);
  EXPECT_EQ(read_key_file(path, &passphrase_)->public_key(), key.public_key());
}

// The format as the header documents it, written here with libsodium directly: the reader
// opens it, and refuses a public key that is not the sealed seed's even when the file
// authenticates (its author sealed the seed under another key's bytes).
TEST_F(KeyFileTest, ReadsTheDocumentedFormatAndRefusesAMismatchedPublicKey) {
  auto seal = [&](const KeyPair& key, const PublicKey& stated) {
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[24], secret[32], sealed[48];
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    std::string_view p = passphrase_.view();
    EXPECT_EQ(crypto_pwhash(secret, sizeof secret, p.data(), p.size(), salt, 1, 8192,
                            crypto_pwhash_ALG_ARGON2ID13),
              0);
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, nullptr, key.seed().data(), 32,
                                               stated.data(), 32, nullptr, nonce, secret);
    return json{{"public_key", stated.hex()},
                {"encrypted_seed",
                 {{"kdf", "argon2id13"},
                  {"opslimit", 1},
                  {"memlimit", 8192},
                  {"salt", to_hex(salt, sizeof salt)},
                  {"cipher", "xchacha20poly1305-ietf"},
                  {"nonce", to_hex(nonce, sizeof nonce)},
                  {"ciphertext", to_hex(sealed, sizeof sealed)}}}};
  };
  auto key = KeyPair::generate(), other = KeyPair::generate();
  std::string path = dir_.str() + "/k.json";
  write_json(path, seal(key, key.public_key()));
  auto read = read_key_file(path, &passphrase_);
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(read->seed(), key.seed());

  write_json(path, seal(key, other.public_key()));
  auto mismatch = read_key_file(path, &passphrase_);
  EXPECT_EQ(mismatch.status().code, keys::kKeyMismatch) << mismatch.status().to_string();
  // A plain file with another key's public key: the same code.
  write_json(path, {{"public_key", other.public_key().hex()}, {"seed", key.seed().hex()}});
  EXPECT_EQ(read_key_file(path).status().code, keys::kKeyMismatch);
}

// A planted file cannot make the reader allocate gigabytes or loop for minutes: parameters
// above libsodium's SENSITIVE limits (or below its minimums), another kdf or cipher, are
// refused before any derivation.
TEST_F(KeyFileTest, UnsupportedOrOutOfBoundParametersRefusedBeforeAnyWork) {
  std::string path = encrypted(KeyPair::generate());
  const json original = read_json(path);
  const std::vector<std::pair<std::string, json>> refused = {
      {"memlimit", uint64_t{1} << 40},
      {"memlimit", uint64_t{crypto_pwhash_MEMLIMIT_SENSITIVE} + 1},
      {"memlimit", 1024},
      {"memlimit", -1},
      {"opslimit", uint64_t{1} << 32},
      {"opslimit", uint64_t{crypto_pwhash_OPSLIMIT_SENSITIVE} + 1},
      {"opslimit", 0},
      {"kdf", "scrypt"},
      {"kdf", nullptr},
      {"cipher", "aes256gcm"},
  };
  const std::clock_t start = std::clock();
  for (const auto& [field, value] : refused) {
    json j = original;
    j["encrypted_seed"][field] = value;
    write_json(path, j);
    auto read = read_key_file(path, &passphrase_);
    EXPECT_EQ(read.status().code, keys::kKeyUnsupported)
        << field << " = " << value.dump() << ": " << read.status().to_string();
  }
  // Ten refusals without one derivation (libsodium's INTERACTIVE alone takes 0.15 s of
  // CPU, SENSITIVE seconds; unbounded, 2^32 passes would run for hours).
  EXPECT_LT(double(std::clock() - start) / CLOCKS_PER_SEC, 0.1);
  // Nor does the writer write what no reader would open.
  EXPECT_EQ(write_key_file(dir_.str() + "/big.json", KeyPair::generate(), &passphrase_,
                           {crypto_pwhash_OPSLIMIT_SENSITIVE, uint64_t{1} << 40})
                .code,
            keys::kKeyUnsupported);
  EXPECT_EQ(code_name(keys::kKeyUnsupported), "KEY_UNSUPPORTED");
  // Malformed fields are no key file; checked before the passphrase is needed.
  for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
           {"salt", "00"}, {"nonce", "zz"}, {"ciphertext", 7}, {"opslimit", "2"}}) {
    json j = original;
    j["encrypted_seed"][field] = value;
    write_json(path, j);
    EXPECT_EQ(read_key_file(path).status().code, Code::kInvalidArgument) << field;
  }
  json both = original;
  both["seed"] = KeyPair::generate().seed().hex();
  write_json(path, both);
  EXPECT_EQ(read_key_file(path, &passphrase_).status().code, Code::kInvalidArgument);
}

TEST_F(KeyFileTest, PlainFileStillReadWithAPassphraseSet) {
  auto key = KeyPair::generate();
  std::string path = dir_.str() + "/k.json";
  ASSERT_TRUE(write_key_file(path, key, nullptr).is_ok());
  ::setenv("GRIDPACT_KEY_PASSPHRASE", "correct horse", 1);
  EXPECT_EQ(read_key_file(path)->seed(), key.seed());
  EXPECT_EQ(read_key_file(path, &passphrase_)->seed(), key.seed());
}

TEST_F(KeyFileTest, PassphraseFromTheEnvironment) {
  auto none = passphrase_from_environment();
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(none->get(), nullptr);
  ::setenv("GRIDPACT_KEY_PASSPHRASE", "", 1);
  EXPECT_EQ(passphrase_from_environment()->get(), nullptr) << "empty means unset";
  ::setenv("GRIDPACT_KEY_PASSPHRASE", "from variable", 1);
  EXPECT_EQ(passphrase_from_environment().value()->view(), "from variable");

  // The file wins over the variable; its first line is the passphrase, without CR LF.
  std::string file = dir_.str() + "/passphrase";
  std::ofstream(file) << "from file\r\nsecond line\n";
  ::setenv("GRIDPACT_KEY_PASSPHRASE_FILE", file.c_str(), 1);
  EXPECT_EQ(passphrase_from_environment().value()->view(), "from file");
  std::ofstream(file) << "no newline";
  EXPECT_EQ(passphrase_from_environment().value()->view(), "no newline");

  // A file named but unusable is an error, never a silent fall-back to plain keys.
  std::ofstream(file) << "\nsecond line\n";
  EXPECT_EQ(passphrase_from_environment().status().code, keys::kPassphraseUnreadable);
  std::ofstream(file) << std::string(5000, 'x');
  EXPECT_EQ(passphrase_from_environment().status().code, keys::kPassphraseUnreadable);
  ::setenv("GRIDPACT_KEY_PASSPHRASE_FILE", dir_.str().c_str(), 1);  // a directory
  auto directory = passphrase_from_environment();
  EXPECT_EQ(directory.status().code, keys::kPassphraseUnreadable);
  EXPECT_NE(directory.status().message.find("directory"), std::string::npos)
      << directory.status().message;
  ::setenv("GRIDPACT_KEY_PASSPHRASE_FILE", (dir_.str() + "/missing").c_str(), 1);
  EXPECT_EQ(passphrase_from_environment().status().code, keys::kPassphraseUnreadable);
  EXPECT_EQ(write_key_file(dir_.str() + "/k.json", KeyPair::generate()).code,
            keys::kPassphraseUnreadable);
  EXPECT_FALSE(std::filesystem::exists(dir_.str() + "/k.json"));
}

// With a passphrase in the environment, every key file written is encrypted, at MODERATE
// limits (read back by the CLI test: a second of CPU each way).
TEST_F(KeyFileTest, EnvironmentPassphraseEncryptsWhatIsWritten) {
  ::setenv("GRIDPACT_KEY_PASSPHRASE", "correct horse", 1);
  auto key = KeyPair::generate();
  std::string path = dir_.str() + "/k.json";
  ASSERT_TRUE(write_key_file(path, key).is_ok());
  json j = read_json(path);
  EXPECT_FALSE(j.contains("seed"));
  EXPECT_EQ(j["encrypted_seed"]["opslimit"], crypto_pwhash_OPSLIMIT_MODERATE);
  EXPECT_EQ(j["encrypted_seed"]["memlimit"], crypto_pwhash_MEMLIMIT_MODERATE);
}

TEST_F(KeyFileTest, ReplaceEncryptsAndDecryptsInPlaceButNeverThroughASymlink) {
  auto key = KeyPair::generate();
  std::string path = dir_.str() + "/k.json";
  ASSERT_TRUE(write_key_file(path, key, nullptr).is_ok());
  ASSERT_TRUE(replace_key_file(path, key, &passphrase_, kTestKdf).is_ok());
  EXPECT_TRUE(read_json(path).contains("encrypted_seed"));
  EXPECT_EQ(read_key_file(path).status().code, keys::kKeyLocked);
  EXPECT_EQ(read_key_file(path, &passphrase_)->seed(), key.seed());
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE(replace_key_file(path, key, nullptr).is_ok());
  EXPECT_EQ(read_json(path)["seed"], key.seed().hex());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.str()),
                          std::filesystem::directory_iterator()),
            1)
      << "no temporary file left";

  // Root converting a service user's key: the new file keeps the old one's owner.
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(path.c_str(), 4321, 4321), 0);
    ASSERT_TRUE(replace_key_file(path, key, &passphrase_, kTestKdf).is_ok());
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 4321u);
    EXPECT_EQ(st.st_gid, 4321u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    ASSERT_TRUE(replace_key_file(path, key, nullptr).is_ok());
  }

  std::string link = dir_.str() + "/link.json";
  std::filesystem::create_symlink(path, link);
  EXPECT_EQ(replace_key_file(link, key, &passphrase_, kTestKdf).code, Code::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read_json(path)["seed"], key.seed().hex()) << "the target is untouched";
  EXPECT_EQ(replace_key_file(dir_.str() + "/missing.json", key, nullptr).code, Code::kStorage);
  EXPECT_FALSE(std::filesystem::exists(dir_.str() + "/missing.json"));
}

}  // namespace
}  // namespace gridpact
