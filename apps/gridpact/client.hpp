// A small client of the node's HTTP API for the command line: it signs transactions
// locally (the key never leaves this process) and submits their canonical bytes.
#pragma once

#include <memory>

#include "ledger/module.hpp"

namespace httplib {
class Client;
}

namespace gridpact::cli {

class ApiClient {
 public:
  explicit ApiClient(const std::string& url);  // e.g. http://127.0.0.1:8080
  ~ApiClient();

  Result<json> get(const std::string& path);
  Result<json> post(const std::string& path, const json& body);

  // Builds, signs and submits a transaction; with `wait`, returns once it is committed,
  // with its receipt. The nonce is the sender's committed nonce plus `nonce_offset`.
  Result<json> submit(const KeyPair& key, uint16_t type, Bytes payload, bool wait = true,
                      uint64_t nonce_offset = 0);
  Result<std::string> chain_id();

 private:
  std::unique_ptr<httplib::Client> http_;
  std::string chain_id_;
};

}  // namespace gridpact::cli
