// The tpm2 node attestation path through the real executables: a private swtpm, an AK
// enrolled with `gridpact attest-enrol`, `gridpact node --attest-tpm tcp:127.0.0.1:PORT --attest-ak
// ...` and `gridpact verify-node` with the executable's real measurement (accepted), a wrong one,
// and without the CA as trusted root (both refused, exit 1).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "attest/swtpm_process.hpp"
#include "attest/x509.hpp"
#include "cli_testing.hpp"
#include "ledger/testing.hpp"
#include "node/genesis.hpp"
#include "node/key_file.hpp"
#include "node_attest/node_attest.hpp"

namespace gridpact {
namespace {

using testing::CommandRun;
using testing::NodeProcess;
constexpr auto gridpact = testing::run_gridpact;

TEST(AttestCli, TpmNodeIsVerifiedByVerifyNode) {
  if (!attest::SwtpmProcess::available()) GTEST_SKIP() << "swtpm not installed";
  setenv("TSS2_LOG", "all+none", 0);
  testing::TempDir dir;
  auto swtpm = attest::SwtpmProcess::start();
  ASSERT_TRUE(swtpm) << swtpm.status().to_string();
  std::string tcti = (*swtpm)->tcti();
  std::string port = tcti.substr(tcti.rfind('=') + 1);
  std::string out = dir.str() + "/verdict.json";

  // Enrol an AK with `gridpact attest-enrol` (which creates the development CA).
  CommandRun enrolled =
      gridpact("attest-enrol --tpm tcp:127.0.0.1:" + port + " --ek-roots " +
                   (*swtpm)->ek_root_pem_path() + " --ek-chain " + (*swtpm)->ek_issuer_pem_path() +
                   " --ca-cert " + dir.str() + "/ca.pem --ca-key " + dir.str() +
                   "/ca.key --out-ak " + dir.str() + "/ak.blob --out-cert " + dir.str() + "/ak.der",
               out);
  ASSERT_EQ(enrolled.rc, 0) << enrolled.out.dump();
  EXPECT_EQ(enrolled.out["ca_created"], true);
  EXPECT_EQ(std::filesystem::status(dir.str() + "/ca.key").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  // A CA that does not trust this TPM's manufacturer refuses to enrol it.
  std::ofstream(dir.str() + "/other-root.pem")
      << attest::CertificateAuthority::create_root("Other TPM vendor").certificate_pem();
  CommandRun refused =
      gridpact("attest-enrol --tpm tcp:127.0.0.1:" + port + " --ek-roots " + dir.str() +
                   "/other-root.pem --ek-chain " + (*swtpm)->ek_issuer_pem_path() + " --ca-cert " +
                   dir.str() + "/ca.pem --ca-key " + dir.str() + "/ca.key --out-ak " + dir.str() +
                   "/ak2.blob --out-cert " + dir.str() + "/ak2.der",
               out);
  EXPECT_EQ(refused.rc, 1);
  EXPECT_EQ(refused.out["error"]["name"], "UNTRUSTED_CA");

  std::string data = dir.str() + "/chain";
  NodeProcess running(dir.str(),
                      {"--data", data, "--attest-tpm", "tcp:127.0.0.1:" + port, "--attest-ak",
                       dir.str() + "/ak.blob", "--attest-ak-cert", dir.str() + "/ak.der"});
  const int node_port = running.wait_port();
  ASSERT_GT(node_port, 0) << "node did not start; see " << dir.str() << "/node.log";
  std::string url = "http://127.0.0.1:" + std::to_string(node_port);
  std::string measurement = node_attest::measure_file(GRIDPACT_EXE).value().hex();

  CommandRun good = gridpact("verify-node " + url + " --measurement " + measurement +
                                 " --trusted-root " + dir.str() + "/ca.pem",
                             out);
  EXPECT_EQ(good.rc, 0) << good.out.dump();
  EXPECT_EQ(good.out["verified"], true);
  EXPECT_EQ(good.out["platform"], "tpm2");
  EXPECT_EQ(good.out["insecure"], false);
  auto validator = read_key_file(data + "/keys/validator.json");
  ASSERT_TRUE(validator);
  EXPECT_EQ(good.out["node_key"], validator->public_key().hex());

  CommandRun wrong =
      gridpact("verify-node " + url + " --measurement " + sha256("other build").hex() +
                   " --trusted-root " + dir.str() + "/ca.pem",
               out);
  EXPECT_EQ(wrong.rc, 1);
  EXPECT_EQ(wrong.out["verified"], false);
  EXPECT_EQ(wrong.out["error"]["name"], "MEASUREMENT_MISMATCH");

  CommandRun untrusted = gridpact("verify-node " + url + " --measurement " + measurement, out);
  EXPECT_EQ(untrusted.rc, 1);
  EXPECT_EQ(untrusted.out["error"]["name"], "UNTRUSTED_CA");
}

}  // namespace
}  // namespace gridpact
