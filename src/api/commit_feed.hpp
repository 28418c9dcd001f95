// What the API tells its clients about each committed block:
// - POST /v1/tx?wait=commit: the request is parked (its Responder kept, no thread held) and
//   answered once every accepted transaction of it has committed, or with 504 TIMEOUT at its
//   deadline, with what did commit by then;
// - GET /v1/events/blocks: one event per block, its header and each transaction's id and
//   outcome code;
// - GET /v1/events/accounts/{pk}: one event per committed transaction sent by that account.
// The node's committer thread only copies a few fields per transaction (id, sender, type,
// code) and the receipts someone waits for into a queue; one feed thread formats and sends,
// so no JSON is built on the commit path and no subscriber can slow a commit.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/server.hpp"
#include "node/node.hpp"

namespace gridpact::api {

class CommitFeed {
 public:
  // `retained_blocks`: block events kept for streams that ask to start in the past.
  explicit CommitFeed(Node& node, size_t retained_blocks = 256);
  ~CommitFeed();
  void start();
  // Answers every parked request with 502 SHUTTING_DOWN and closes every stream.
  void stop();

  // Parks one POST. results[i] is the answer for transaction i so far; ids[i] is set for
  // each accepted one, whose result gains "status":"committed" and its "receipt".
  void wait(std::vector<std::optional<Hash32>> ids, json results, bool batch,
            const http::Responder& responder, std::chrono::milliseconds timeout);
  // Opens a stream of block events from height `from` (older ones no longer retained are
  // announced by an "event: gap").
  void follow_blocks(const http::Responder& responder, uint64_t from);
  void follow_account(const http::Responder& responder, const PublicKey& account);
  // Requests parked now.
  size_t waiting() const;

 private:
  struct Wait;
  struct Tx {
    Hash32 id;
    PublicKey sender;
    uint16_t type;
    uint16_t code;
  };
  struct Committed {
    BlockHeader header;
    std::vector<Tx> txs;
    std::vector<Receipt> waited;  // receipts of the transactions someone waits for
  };
  void on_commit(const Block& block, const std::vector<Receipt>& receipts);
  void run();
  void deliver(const Committed& c);
  void settle(const std::shared_ptr<Wait>& w, size_t slot, const Receipt& r);
  void finish(const std::shared_ptr<Wait>& w, const Status& why);
  void expire_due();
  void prune_closed_streams();
  std::string block_event(const Committed& c) const;

  Node& node_;
  size_t retained_;
  int subscription_ = -1;
  std::thread thread_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::shared_ptr<Committed>> queue_;
  bool stopping_ = false;

  // Parked requests by the ids they wait for, and by deadline.
  mutable std::mutex waits_mutex_;
  std::unordered_map<Hash32, std::vector<std::pair<std::shared_ptr<Wait>, size_t>>,
                     FixedBytesHasher>
      waiters_;
  std::multimap<std::chrono::steady_clock::time_point, std::weak_ptr<Wait>> deadlines_;
  size_t waiting_ = 0;

  struct BlockFollower {
    std::shared_ptr<http::EventStream> stream;
    uint64_t next;
  };
  std::mutex blocks_mutex_;
  std::deque<std::pair<uint64_t, std::string>> recent_;  // height, event data
  std::vector<BlockFollower> block_followers_;

  std::mutex accounts_mutex_;
  std::map<PublicKey, std::vector<std::shared_ptr<http::EventStream>>> account_followers_;
  std::map<uint16_t, std::string> type_names_;  // each a JSON string, quoted and escaped
};

}  // namespace gridpact::api
