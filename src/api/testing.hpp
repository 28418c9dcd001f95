// Fixtures of the API's tests (api_test.cpp, query_gate_test.cpp): a node with the bank,
// meters and market modules behind a started API server, a JSON client for it, and a raw
// socket client for what a library would not send. Test code only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <map>
#include <set>

#include "api/query_gate.hpp"
#include "api/server.hpp"
#include "api/views.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"

// Named, not anonymous: every test file's TEST_F must see the same fixture types.
namespace gridpact::api::test {

// A raw client socket: sends exactly what is written, reads what arrives (event streams,
// many requests in flight on separate connections).
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool send(const std::string& data) {
    return connected_ &&
           ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until `text` has arrived `times` times (counted from the start), or the timeout.
  bool wait_for(std::string_view text, size_t times = 1, int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      size_t n = 0;
      for (size_t at = in_.find(text); at != std::string::npos; at = in_.find(text, at + 1)) ++n;
      if (n >= times) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char buf[65536];
      ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got <= 0) return false;
      in_.append(buf, static_cast<size_t>(got));
    }
  }
  const std::string& text() const { return in_; }
  // The JSON "data:" of every SSE event named `event` received so far.
  std::vector<json> events(std::string_view event) const {
    std::vector<json> out;
    const std::string marker = "event: " + std::string(event) + "\ndata: ";
    for (size_t at = in_.find(marker); at != std::string::npos; at = in_.find(marker, at + 1)) {
      size_t start = at + marker.size();
      out.push_back(json::parse(in_.substr(start, in_.find('\n', start) - start), nullptr, false));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string in_;
};

inline std::string raw_get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

inline std::string raw_post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct ApiTest : ::testing::Test {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate();
  KeyPair issuer = KeyPair::generate();
  KeyPair alice = KeyPair::generate();
  bank::BankModule genesis_bank;  // write the genesis document's sections
  meters::MetersModule genesis_meters;
  market::MarketModule genesis_market;
  Genesis genesis =
      Genesis::parse(development_genesis("api-test", validator.public_key(), issuer.public_key(),
                                         {{alice.public_key(), 5000}},
                                         {&genesis_bank, &genesis_meters, &genesis_market}))
          .value();
  std::unique_ptr<Node> node;
  std::unique_ptr<Server> server;
  std::unique_ptr<httplib::Client> client;
  uint64_t nonce = 0;
  size_t proof_history_blocks = NodeOptions{}.proof_history_blocks;

  void SetUp() override {
    NodeOptions o{dir.str(), genesis, validator, {}, false};
    o.proof_history_blocks = proof_history_blocks;
    std::vector<std::unique_ptr<Module>> mods;
    mods.push_back(std::make_unique<bank::BankModule>());
    mods.push_back(std::make_unique<meters::MetersModule>());
    mods.push_back(std::make_unique<market::MarketModule>());
    node = Node::open(std::move(o), std::move(mods)).value();
    node->start();
    server = std::make_unique<Server>(*node, ServerOptions{});
    ASSERT_TRUE(server->start().is_ok());
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(20, 0);
  }
  void TearDown() override {
    server->stop();
    node->stop();
  }
  std::string transfer_hex(const PublicKey& to, uint64_t amount) {
    return transfer_hex_at(nonce++, to, amount);
  }
  std::string transfer_hex_at(uint64_t at_nonce, const PublicKey& to, uint64_t amount) {
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = at_nonce;
    tx.type = bank::kTransfer;
    tx.payload = bank::encode(bank::TransferPayload{to, amount, "hi"});
    tx.sign(alice);
    return to_hex(tx.encode());
  }
  json post(const std::string& path, const json& body, int expect_status) {
    auto r = client->Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body);
  }
  json get(const std::string& path, int expect_status = 200) {
    auto r = client->Get(path);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // After `history` + 4 blocks, state proofs verify against the latest root and the one
  // `history` blocks before it; the root one block older is refused with NOT_FOUND, not
  // served from a tree the node no longer holds.
  void expect_proofs_back_to(uint64_t history) {
    auto bob = KeyPair::generate().public_key();
    for (uint64_t i = 0; i < history + 4; ++i)  // each commit waited for: a block each
      ASSERT_EQ(post("/v1/tx?wait=commit", {{"tx", transfer_hex(bob, 1)}}, 200)["status"],
                "committed");
    const uint64_t latest = node->store().height().value();
    ASSERT_GE(latest, history + 4);
    const std::string key = nonce_key(alice.public_key());
    const std::string key_hex = to_hex(to_bytes(key));
    for (uint64_t height : {latest, latest - history}) {
      json j = get("/v1/state?key=" + key_hex + "&height=" + std::to_string(height));
      auto proof = parse_state_proof(j["proof"]);
      ASSERT_TRUE(proof.is_ok());
      auto root = Hash32::from_hex(j["header"]["state_root"].get<std::string>()).value();
      uint64_t sent = 0;  // alice's nonce at `height`: every transaction is hers
      for (uint64_t h = 1; h <= height; ++h) sent += node->store().block(h)->txs.size();
      EXPECT_TRUE(StateTree::verify(root, sha256(key), sha256(encode_u64(sent)), *proof))
          << "height " << height;
    }
    json old =
        get("/v1/state?key=" + key_hex + "&height=" + std::to_string(latest - history - 1), 404);
    EXPECT_EQ(old["error"]["name"], "NOT_FOUND");
  }
};

}  // namespace gridpact::api::test
