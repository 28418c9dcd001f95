// A small client of the node's HTTP API for the command line: it signs transactions
// locally (the key never leaves this process) and submits their canonical bytes.
#pragma once

#include <chrono>
#include <memory>

#include "ledger/module.hpp"

namespace httplib {
class Client;
}

namespace gridpact::cli {

class ApiClient {
 public:
  // e.g. http://127.0.0.1:8080 or https://...; `timeout` bounds the connection and each read.
  explicit ApiClient(const std::string& url,
                     std::chrono::seconds timeout = std::chrono::seconds(70));
  // The CA file every later client verifies an https:// node with (gridpact --cacert);
  // empty: the system's CAs.
  static void set_ca_file(std::string path);
  ~ApiClient();

  Result<json> get(const std::string& path);
  Result<json> post(const std::string& path, const json& body);

  // Builds, signs and submits a transaction; with `wait`, returns once it is committed,
  // with its receipt. The nonce is the sender's committed nonce plus `nonce_offset`.
  Result<json> submit(const KeyPair& key, uint16_t type, Bytes payload, bool wait = true,
                      uint64_t nonce_offset = 0);
  // Builds and signs without sending: the node is asked only for what is not given (the
  // chain id, and the sender's committed nonce when `nonce` is empty).
  Result<Transaction> sign(const KeyPair& key, uint16_t type, Bytes payload,
                           std::optional<uint64_t> nonce, const std::string& chain_id = "");
  // Sends signed transactions (a batch when more than one) and returns the node's answer.
  Result<json> send(const std::vector<Bytes>& raws, bool wait);
  Result<std::string> chain_id();

 private:
  std::unique_ptr<httplib::Client> http_;
  std::string chain_id_;
};

}  // namespace gridpact::cli
