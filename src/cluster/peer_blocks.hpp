// Blocks from another node's API (GET /v1/blocks/encoded), for a node that needs blocks
// etcd no longer holds (it keeps a window of recent ones). Nothing read here is trusted:
// the orderer checks each block's proposer and signature and re-executes it, comparing
// every root, exactly as it does with blocks from etcd.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "http/client.hpp"
#include "ledger/block.hpp"

namespace gridpact::cluster {

class PeerBlocks {
 public:
  explicit PeerBlocks(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                      http::TlsClientFiles tls = {});
  ~PeerBlocks();
  // Up to `count` blocks from height `from` on, from the node whose API is at `url`
  // (http://HOST:PORT, or https://HOST:PORT verified with the CA of `tls`); fewer at the
  // head of its chain. Keeps one connection to the last node asked.
  Result<std::vector<Block>> fetch(const std::string& url, uint64_t from, uint64_t count);

 private:
  http::Client http_;
};

}  // namespace gridpact::cluster
