// Catch-up past etcd's window: blocks fetched from peers' APIs (etcd_orderer.hpp, "etcd
// keeps the last `window_blocks` blocks"), checked and applied exactly as blocks from etcd.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <map>

#include "cluster/codes.hpp"
#include "cluster/etcd_orderer.hpp"

namespace gridpact::cluster {

namespace {
constexpr uint64_t kCatchUpBatch = 1000;  // blocks per request to a peer
}  // namespace

bool EtcdOrderer::attest_proposer(const PublicKey& proposer, const std::string& url,
                                  std::set<PublicKey>& asked) {
  if (attested(proposer)) return true;
  if (!config_.check_leader || !asked.insert(proposer).second) return false;
  const std::string who = proposer.hex().substr(0, 8);
  if (const Status s = config_.check_leader(url, proposer); !s) {
    spdlog::info("cluster: catch-up verifies every client signature of {}'s blocks ({})", who,
                 s.to_string());
    return false;
  }
  spdlog::info(
      "cluster: {} at {} passed its attestation: its blocks' client signatures are "
      "trusted",
      who, url);
  std::lock_guard lock(attest_mutex_);
  attested_.insert(proposer);
  return true;
}

Result<size_t> EtcdOrderer::catch_up(uint64_t last) {
  std::vector<std::string> urls = config_.peers;
  const std::string me = api_url();
  std::map<PublicKey, std::string> node_urls;  // the API each node publishes, by its key
  if (auto nodes = etcd_.range(key("nodes/"), prefix_end(key("nodes/")), 256)) {
    for (const EtcdKv& kv : nodes->kvs) {
      json n = json::parse(kv.value, nullptr, false);
      if (!n.is_object() || !n.contains("api") || !n["api"].is_string()) continue;
      std::string url = n["api"];
      if (url.empty()) continue;  // a node whose API is not up yet
      if (auto k = PublicKey::from_hex(n.value("public_key", ""))) node_urls[*k] = url;
      if (url != me && std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
    }
  }
  std::set<PublicKey> asked;  // proposers asked for their attestation (once per catch-up)
  spdlog::info("cluster: catching up blocks {} to {} from peers ({} known)", next_, last,
               urls.size());
  size_t applied = 0;
  Status last_error = Status::ok();
  for (const std::string& url : urls) {
    // The next batch is fetched, decoded and checked while this one is applied. Its
    // proposers are asked for their attestation first (where they publish their API, else
    // at the peer serving their blocks): the blocks of one that passes are trusted for their
    // client signatures, like an attested leader's; the others have every one verified.
    auto fetch = [this, &url, &node_urls, &asked, last](uint64_t from) {
      return std::async(
          std::launch::async,
          [this, url, from, last, &node_urls, &asked]() -> Result<std::vector<Received>> {
            auto blocks =
                peers_.fetch(url, from, std::min<uint64_t>(kCatchUpBatch, last - from + 1));
            if (!blocks) return blocks.status();
            std::vector<Received> received;
            received.reserve(blocks->size());
            for (Block& b : std::move(blocks).value()) {
              const PublicKey& proposer = b.header.proposer;
              const auto published = node_urls.find(proposer);
              const bool trusted = attest_proposer(
                  proposer, published == node_urls.end() ? url : published->second, asked);
              received.push_back(receive(std::move(b), !trusted));
            }
            return received;
          });
    };
    auto next_batch = fetch(next_);
    while (running_ && next_ <= last) {
      auto blocks = next_batch.get();
      if (!blocks || blocks->empty()) {
        last_error = blocks ? error(kPeerError, url + " holds no block " + std::to_string(next_))
                            : blocks.status();
        break;
      }
      std::vector<Received> got = std::move(blocks).value();
      const uint64_t after = next_ + got.size();
      if (after <= last) next_batch = fetch(after);
      for (Received& b : got) {
        if (next_ > last) break;
        // Fetched blocks can be fetched again: only the last of a batch waits for the disk.
        const bool durable = &b == &got.back() || next_ == last;
        if (Status s = apply(std::move(b), "from " + url, durable); !s) {
          if (next_batch.valid()) next_batch.wait();
          return s;
        }
        ++applied;
      }
    }
    if (next_batch.valid()) next_batch.wait();
    if (next_ > last) break;
  }
  if (applied == 0 && !last_error) return last_error;
  return applied;
}

}  // namespace gridpact::cluster
