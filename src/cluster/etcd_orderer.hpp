// The cluster orderer: several nodes, one chain, ordered through etcd.
//
// Keys, under `/gridpact/<chain id>/`:
//   leader           the leader's public key and API URL, attached to its lease
//   blocks/<height>  every block (Block::encode), 20 digits so that keys sort by height
//   pending/<tx id>  transactions clients gave to any node, for the leader to order
//   nodes/<key>      each node's API URL, height and state root (for GET /v1/cluster)
//
// Leadership: a node campaigns by creating `leader` (a transaction comparing its version
// with 0) with a lease it keeps alive; the role ends when the lease lapses (the node died,
// stopped, or lost etcd). The leader orders the pending transactions into blocks and seals
// each with one transaction: "blocks/<h> does not exist and `leader` is held by my lease"
// -> put the block. Two leaders can never write two blocks at one height, and a deposed
// leader cannot write at all. A block is committed locally only once it is in etcd.
//
// Every node (the leader too) applies the blocks in height order: it checks the
// proposer's signature and that the proposer is in the validator set on the state the
// block builds on (Node::may_sign: governance's set for `gridpact node`), re-executes, and
// compares its header with the block's (Node halts on a mismatch and says why). Only a
// node whose key is in the set campaigns; one removed from it stops cutting blocks (its
// next block is dropped unsealed, and it steps down).
//
// Client transactions: whichever node a client talks to admits the transaction into its
// own mempool (signature, nonce) and moves it into `pending/`; the leader admits pending
// transactions into a mempool of its own (pool_) and orders from it. The leader's own
// node's transactions go into pool_ directly, verified once: they travel through etcd only
// in their block (those a block did not take when it steps down, or in a block it could
// not seal, go to `pending/` then). A client that waits for commit (POST
// /v1/tx?wait=commit) is answered when its node commits the block, so an acknowledged
// transaction is in etcd, on a quorum of its members.
//
// Joining by attestation: with `check_leader` set, a node applies a block from etcd only
// once the proposer has passed it in this process. The proposer is asked while it holds
// `leader` (its API URL is there); a block by a proposer that no longer leads is an
// earlier leader's, checked by the nodes that followed it then, and is applied on its
// signature and the validator set alone. A leader that fails is asked again at most once
// a second; meanwhile this node applies nothing more (GET /v1/cluster says why). The
// blocks of a proposer that passed (or of this node) are trusted for their client
// signatures (OrderedBatch::proposer_attested): its attested build verified each one at
// admission. Catching up from a peer, each proposer of the fetched blocks is asked once
// (at the API it publishes in `nodes/`, else at the peer serving its blocks); the blocks of
// an earlier leader that cannot be asked or fails, and every block when `check_leader` is
// unset, have their client signatures verified again.
//
// etcd keeps the last `window_blocks` blocks; a node that lags further behind fetches the
// blocks before the window from a peer's API (GET /v1/blocks/encoded: the `peers` of its
// configuration, then the API URLs the nodes publish in `nodes/`) and checks and
// re-executes each exactly as a block from etcd. With no peer able to serve them it halts
// with BEHIND_WINDOW.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/etcd_client.hpp"
#include "cluster/peer_blocks.hpp"
#include "node/node.hpp"

namespace gridpact::cluster {

struct EtcdOrdererConfig {
  std::vector<EtcdEndpoint> endpoints;
  int64_t lease_ttl_s = 3;             // how long a silent leader keeps the role
  uint64_t window_blocks = 10000;      // blocks kept in etcd
  std::chrono::milliseconds poll{20};  // how often followers look for the next block
  size_t max_txs = 1000;  // per block: one block must stay under etcd's request limit (1.5 MiB)
  std::vector<std::string> peers{};              // http[s]://HOST:PORT of nodes to catch up from
  std::chrono::milliseconds etcd_timeout{2000};  // one etcd call, connecting included
  http::TlsClientFiles etcd_tls{};  // for https:// endpoints: etcd's CA, a client certificate
  http::TlsClientFiles peer_tls{};  // for https:// peers: the CA of the nodes' certificates
  // Checks the leader before this node applies its first block: `gridpact node` verifies
  // the leader's GET /v1/attestation against the allowed measurements. Unset: no check.
  std::function<Status(const std::string& api_url, const PublicKey& leader)> check_leader{};
};

class EtcdOrderer : public Orderer {
 public:
  EtcdOrderer(Node& node, EtcdOrdererConfig config);
  ~EtcdOrderer() override;
  void start(Deliver deliver) override;
  void stop() override;
  bool seal(const Block& block) override;

  // This node's API URL, published in etcd for the others and for /v1/cluster. The node
  // campaigns only once it is set: the others ask a leader for its attestation there.
  void set_api_url(std::string url);
  std::string api_url() const;  // empty until set
  // The leader, its lease, and each node's height and state root (read from etcd).
  Result<json> status();
  bool leading() const { return leader_lease_ != 0; }

  std::string key(std::string_view rest) const { return prefix_ + std::string(rest); }
  static std::string height_key(uint64_t height);

 private:
  void run();
  // Applies the blocks etcd holds from next_ on; how many, or why it cannot.
  Result<size_t> follow();
  // A block as received, with the checks that need no state done (on any thread: catch-up
  // does them for the next batch of blocks while it applies this one).
  struct Received {
    Block block;
    bool signature_valid = false;          // the proposer's signature on the header
    std::vector<Hash32> tx_ids;            // tx_ids[i] == block.txs[i].id()
    bool client_signatures_valid = false;  // checked only when asked (see receive)
  };
  // `verify_clients`: also verify every transaction's signature (catch-up, for the blocks of
  // a proposer that did not pass its attestation).
  static Received receive(Block block, bool verify_clients);
  // Checks the block (height, proposer's signature) and applies it; halts the node if it
  // fails. `durable`: false for a block that need not reach the disk before the next (see
  // OrderedBatch::durable).
  Status apply(Received received, const std::string& source, bool durable);
  // OK once this node's clock has reached `header`'s time less kMaxBlockTimeAheadOfClockMs
  // (ledger/block_time.hpp); BLOCK_FROM_FUTURE before, and follow() tries again.
  Status wait_for_clock(const BlockHeader& header);
  // OK if blocks by `proposer` may be applied (config_.check_leader); LEADER_NOT_ATTESTED.
  // `leader`: the `leader` key's value, read here once if unset.
  Status check_proposer(const PublicKey& proposer, std::optional<json>& leader);
  // Whether blocks by `proposer` are trusted for their client signatures: this node's own,
  // or a proposer that passed check_leader (any thread).
  bool attested(const PublicKey& proposer);
  // Catch-up (catch_up.cpp): whether blocks by `proposer` are trusted for their client
  // signatures, asking it at `url` for its attestation first unless it is attested already
  // or in `asked` (then adds it there); a pass makes it attested.
  bool attest_proposer(const PublicKey& proposer, const std::string& url,
                       std::set<PublicKey>& asked);
  // Applies the blocks up to `last` from peers (catch_up.cpp); how many, or why none could.
  Result<size_t> catch_up(uint64_t last);
  void campaign();
  void keep_lease();
  void step_down(const std::string& why);
  void pull_pending();
  void lead();
  // The forwarder's thread: the local mempool into pending/ (leading: into pool_), this
  // node's status into nodes/.
  void forward_loop();
  Status forward_once();
  // Takes up to `max` of the local mempool's transactions; leading, adds them to pool_ and
  // returns those it refused for now (else returns them all, for pending/).
  OrderedBatch take_local(size_t max);
  // Hands `batch` to the forwarder, for pending/.
  void keep_unforwarded(OrderedBatch batch);
  void publish_status();

  Node& node_;
  EtcdOrdererConfig config_;
  std::string prefix_;
  EtcdClient etcd_, forward_etcd_, status_etcd_;
  PeerBlocks peers_;  // the orderer thread's, for catch-up past the window
  Deliver deliver_;
  std::atomic<bool> running_{false};
  std::thread thread_, forwarder_;

  uint64_t next_ = 0;  // the next height to apply or cut
  std::atomic<int64_t> leader_lease_{0};
  std::chrono::steady_clock::time_point lease_renewed_, last_block_, next_campaign_, next_rescan_;
  std::unique_ptr<Mempool> pool_;  // the leader's: pending transactions to order
  std::mutex pool_mutex_;          // pool_ against the commit subscriber
  std::set<Hash32> known_;         // pending transactions already in pool_
  // Transactions taken from pool_ that no block holds (this node stepped down, or its block
  // was not sealed): the forwarder puts them into pending/ for whoever leads next. At most
  // one pool's worth a step-down; each step-down follows a won campaign.
  std::mutex unforwarded_mutex_;
  OrderedBatch unforwarded_;
  int64_t pending_seen_ = 0;  // etcd revision up to which pending/ was read
  bool sealed_ok_ = false;
  int subscription_ = -1;
  std::unique_ptr<BlockClock> clock_;

  std::set<PublicKey> attested_;  // proposers check_leader passed (under attest_mutex_)
  std::mutex attest_mutex_;
  std::chrono::steady_clock::time_point next_attest_;  // after a failed check (orderer thread)
  std::string attest_error_;                           // the last failed check, for GET /v1/cluster
  std::string waiting_for_clock_;  // why the next block waits for this node's clock, if it does

  mutable std::mutex url_mutex_;
  std::string api_url_;
  int64_t status_lease_ = 0;
};

}  // namespace gridpact::cluster
