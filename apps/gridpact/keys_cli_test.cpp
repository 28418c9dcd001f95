// Encrypted key files through the real executable: `gridpact node` starts from encrypted
// keys when the environment holds the passphrase and refuses with KEY_LOCKED without it
// (KEY_AUTH_FAILED with a wrong one); `gridpact keygen` and `gridpact keys encrypt|decrypt`
// convert files in place. The passphrase never reaches the node's log.
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli_testing.hpp"
#include "node/key_file.hpp"

namespace gridpact {
namespace {

using json = nlohmann::json;

using testing::CommandRun;
using testing::NodeProcess;
constexpr auto gridpact = testing::run_gridpact;

// The least Argon2id work libsodium allows: files the test writes open fast (GridPact
// writes MODERATE, about a second of CPU each way).
constexpr KdfLimits kTestKdf{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
constexpr const char* kPassphrase = "tr0ub4dor&3 keys";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json read_json(const std::string& path) {
  return json::parse(read_text(path), nullptr, false);
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/gridpact-keys-cli-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

class KeysCli : public ::testing::Test {
 protected:
  void SetUp() override { clear_environment(); }
  void TearDown() override { clear_environment(); }
  static void clear_environment() {
    ::unsetenv("GRIDPACT_KEY_PASSPHRASE");
    ::unsetenv("GRIDPACT_KEY_PASSPHRASE_FILE");
  }
  TempDir dir_;
};

TEST_F(KeysCli, NodeStartsFromEncryptedKeysOnlyWithThePassphrase) {
  const std::string data = dir_.path + "/chain", out = dir_.path + "/out.json";
  std::filesystem::create_directories(data + "/keys");
  Passphrase passphrase(kPassphrase);
  for (const char* name : {"validator", "issuer", "alice"})
    ASSERT_TRUE(
        write_key_file(data + "/keys/" + name + ".json", KeyPair::generate(), &passphrase, kTestKdf)
            .is_ok());
  const std::string node = "node --data " + data + " --listen 127.0.0.1:0";

  CommandRun locked = gridpact(node, out);
  EXPECT_EQ(locked.rc, 1) << locked.out.dump();
  EXPECT_EQ(locked.out["error"]["name"], "KEY_LOCKED") << locked.out.dump();
  EXPECT_EQ(locked.out["error"]["code"], 1900);
  EXPECT_NE(locked.out["error"]["message"].get<std::string>().find("GRIDPACT_KEY_PASSPHRASE"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(data + "/genesis.toml")) << "nothing created";

  ::setenv("GRIDPACT_KEY_PASSPHRASE", "not the passphrase", 1);
  CommandRun wrong = gridpact(node, out);
  EXPECT_EQ(wrong.rc, 1) << wrong.out.dump();
  EXPECT_EQ(wrong.out["error"]["name"], "KEY_AUTH_FAILED") << wrong.out.dump();

  // The file wins over the (still wrong) variable.
  const std::string passphrase_file = dir_.path + "/passphrase";
  std::ofstream(passphrase_file) << kPassphrase << "\n";
  ::setenv("GRIDPACT_KEY_PASSPHRASE_FILE", passphrase_file.c_str(), 1);
  NodeProcess running(dir_.path, {"--data", data});
  const int port = running.wait_port();
  ASSERT_GT(port, 0) << "node did not start: " << read_text(running.log);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  // The validator signs blocks, and a client command signs with an encrypted key too.
  const std::string issuer = read_json(data + "/keys/issuer.json")["public_key"];
  CommandRun sent = gridpact("tx transfer --node " + url + " --key " + data +
                                 "/keys/alice.json --to " + issuer + " --amount 5",
                             out);
  ASSERT_EQ(sent.rc, 0) << sent.out.dump();
  EXPECT_EQ(sent.out["status"], "committed") << sent.out.dump();
  // Without the file, the variable's wrong passphrase is used; without either, locked.
  ::unsetenv("GRIDPACT_KEY_PASSPHRASE_FILE");
  const std::string transfer_again = "tx transfer --node " + url + " --key " + data +
                                     "/keys/alice.json --to " + issuer + " --amount 5";
  EXPECT_EQ(gridpact(transfer_again, out).out["error"]["name"], "KEY_AUTH_FAILED");
  ::unsetenv("GRIDPACT_KEY_PASSPHRASE");
  CommandRun unsigned_tx = gridpact(transfer_again, out);
  EXPECT_EQ(unsigned_tx.out["error"]["name"], "KEY_LOCKED") << unsigned_tx.out.dump();

  EXPECT_EQ(read_text(running.log).find(kPassphrase), std::string::npos) << "never logged";
}

TEST_F(KeysCli, KeygenEncryptAndDecryptInPlace) {
  const std::string key = dir_.path + "/k.json", out = dir_.path + "/out.json";
  CommandRun made = gridpact("keygen --out " + key, out);
  ASSERT_EQ(made.rc, 0) << made.out.dump();
  EXPECT_EQ(made.out["encrypted"], false);
  const json plain = read_json(key);
  ASSERT_TRUE(plain.contains("seed"));

  CommandRun locked = gridpact("keys encrypt --key " + key, out);
  EXPECT_EQ(locked.rc, 1);
  EXPECT_EQ(locked.out["error"]["name"], "KEY_LOCKED") << locked.out.dump();

  ::setenv("GRIDPACT_KEY_PASSPHRASE", kPassphrase, 1);
  CommandRun encrypted = gridpact("keys encrypt --key " + key, out);
  ASSERT_EQ(encrypted.rc, 0) << encrypted.out.dump();
  EXPECT_EQ(encrypted.out["public_key"], plain["public_key"]);
  EXPECT_EQ(encrypted.out["encrypted"], true);
  const json sealed = read_json(key);
  EXPECT_FALSE(sealed.contains("seed"));
  EXPECT_EQ(sealed["public_key"], plain["public_key"]);
  EXPECT_EQ(sealed["encrypted_seed"]["memlimit"], crypto_pwhash_MEMLIMIT_MODERATE);
  EXPECT_EQ(read_text(key).find(plain["seed"].get<std::string>()), std::string::npos);
  struct stat st;
  ASSERT_EQ(::lstat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path),
                          std::filesystem::directory_iterator()),
            2)
      << "the key and out.json: no temporary file left";

  CommandRun twice = gridpact("keys encrypt --key " + key, out);
  EXPECT_EQ(twice.rc, 2) << twice.out.dump();
  EXPECT_EQ(twice.out["error"]["name"], "INVALID_ARGUMENT");

  ::setenv("GRIDPACT_KEY_PASSPHRASE", "not the passphrase", 1);
  CommandRun wrong = gridpact("keys decrypt --key " + key, out);
  EXPECT_EQ(wrong.rc, 1);
  EXPECT_EQ(wrong.out["error"]["name"], "KEY_AUTH_FAILED") << wrong.out.dump();
  EXPECT_EQ(read_json(key), sealed) << "unchanged";

  ::setenv("GRIDPACT_KEY_PASSPHRASE", kPassphrase, 1);
  CommandRun decrypted = gridpact("keys decrypt --key " + key, out);
  ASSERT_EQ(decrypted.rc, 0) << decrypted.out.dump();
  EXPECT_EQ(decrypted.out["encrypted"], false);
  EXPECT_EQ(read_json(key), plain);

  // Never through a symlink: the target stays as it is.
  const std::string link = dir_.path + "/link.json";
  std::filesystem::create_symlink(key, link);
  CommandRun through_link = gridpact("keys encrypt --key " + link, out);
  EXPECT_NE(through_link.rc, 0);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read_json(key), plain);

  // With a passphrase set, a new key is written encrypted.
  CommandRun made_encrypted = gridpact("keygen --out " + dir_.path + "/e.json", out);
  ASSERT_EQ(made_encrypted.rc, 0) << made_encrypted.out.dump();
  EXPECT_EQ(made_encrypted.out["encrypted"], true);
  EXPECT_TRUE(read_json(dir_.path + "/e.json").contains("encrypted_seed"));
}

}  // namespace
}  // namespace gridpact
