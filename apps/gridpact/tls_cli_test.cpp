// The real executables over TLS with a CA made here: `gridpact node --tls-cert --tls-key`
// serves HTTPS; `gridpact --cacert CA` reads its health and submits a transfer that
// commits; a CLI trusting another CA, or speaking plain HTTP to the TLS port, is refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_testing.hpp"
#include "http/testing_tls.hpp"

namespace gridpact {
namespace {

using json = nlohmann::json;

using testing::CommandRun;
using testing::NodeProcess;
constexpr auto gridpact = testing::run_gridpact;

TEST(TlsCli, HttpsNodeServesTheCliThatTrustsItsCa) {
  char tmpl[] = "/tmp/gridpact-tls-cli-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  auto pki = http::make_test_pki(dir + "/pki");
  ASSERT_TRUE(pki) << pki.status().message;
  const std::string data = dir + "/chain", out = dir + "/out.json";
  NodeProcess running(dir, {"--data", data, "--tls-cert", pki->cert, "--tls-key", pki->key});
  const int port = running.wait_port();
  ASSERT_GT(port, 0) << "node did not start; see " << dir << "/node.log";
  const std::string https = "https://127.0.0.1:" + std::to_string(port);

  CommandRun health = gridpact("--cacert " + pki->ca + " query --node " + https + " health", out);
  ASSERT_EQ(health.rc, 0) << health.out.dump();
  EXPECT_TRUE(health.out.contains("height")) << health.out.dump();

  std::ifstream issuer_file(data + "/keys/issuer.json");
  const std::string issuer = json::parse(issuer_file)["public_key"];
  CommandRun sent = gridpact("--cacert " + pki->ca + " tx transfer --node " + https + " --key " +
                                 data + "/keys/alice.json --to " + issuer + " --amount 5",
                             out);
  ASSERT_EQ(sent.rc, 0) << sent.out.dump();
  EXPECT_EQ(sent.out["status"], "committed") << sent.out.dump();

  // The CA from the environment works as the flag does.
  CommandRun from_env = gridpact("query --node " + https + " health", out + ".env");
  EXPECT_NE(from_env.rc, 0) << "the system's CAs do not know the test CA";
  setenv("GRIDPACT_CACERT", pki->ca.c_str(), 1);
  from_env = gridpact("query --node " + https + " health", out);
  unsetenv("GRIDPACT_CACERT");
  EXPECT_EQ(from_env.rc, 0) << from_env.out.dump();

  CommandRun wrong_ca =
      gridpact("--cacert " + pki->other_ca + " query --node " + https + " health", out);
  EXPECT_NE(wrong_ca.rc, 0);
  CommandRun plain =
      gridpact("query --node http://127.0.0.1:" + std::to_string(port) + " health", out);
  EXPECT_NE(plain.rc, 0);
  EXPECT_EQ(plain.out["error"]["name"], "BAD_FRAMING") << plain.out.dump();
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridpact
