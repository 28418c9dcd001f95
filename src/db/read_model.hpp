// The marketplace's SQL read model: listings (assets, premises), agreements, payments and
// ratings mirrored from the ledger into SQL tables, block by block in chain order, for
// search and matching queries with indexes.
//
// Each block is applied in one SQL transaction together with gp_meta.last_height, so a
// crash at any moment resumes at the next block: no gaps, no duplicates (rows are
// upserted by primary key). What a block changed comes from the agreements module's
// change log (agr/log/<height>); row contents are read from the latest committed state,
// so a read model catching up converges on the chain's state. verify() recomputes every
// row from chain state and reports any difference.
//
// Tables: gp_meta(key, value), assets, premises, agreements, payments, ratings, trade_ratings,
// account_ratings, proposals, proposal_votes (see schema in read_model.cpp; the governance
// rows in governance_rows.hpp, following the governance module's log), token_balances,
// token_mints, token_pool (tokens_rows.hpp, following the tokens module's logs).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "db/sql.hpp"
#include "ledger/module.hpp"
#include "modules/agreements/match.hpp"

namespace gridpact {
class Node;
class Store;
}  // namespace gridpact

namespace gridpact::db {

class ReadModel {
 public:
  static Result<std::unique_ptr<ReadModel>> open(const std::string& url);

  Sql& sql() { return *sql_; }
  Result<uint64_t> last_height();
  // Applies block `height`'s changes (read from `state`, the chain's latest state) and
  // records last_height = height, atomically.
  Status apply_block(const StateReader& state, uint64_t height);
  // Applies every block after last_height up to `height`.
  Status catch_up(const StateReader& state, uint64_t height);

  // Listed assets ranked for premises `premises` (the premises row comes from the DB).
  Result<json> match(uint64_t premises, const agreements::MatchFilter& f);
  // Listed assets within f.radius_m of (lat, lon) passing the filter, nearest first.
  Result<json> search_assets(int64_t lat_e6, int64_t lon_e6, const agreements::MatchFilter& f);
  Result<json> agreements_of(const std::string& account_hex);
  Result<json> payments_of(uint64_t agreement);

  // Recomputes every table from `state` and compares. {"ok", "differences": [...], counts}.
  Result<json> verify(const StateReader& state);

 private:
  explicit ReadModel(std::unique_ptr<Sql> sql) : sql_(std::move(sql)) {}
  Status schema();
  std::unique_ptr<Sql> sql_;
};

// Keeps a read model in step with a node: catches up at start, then follows each
// committed block from a worker thread (the block path never waits for SQL).
class Follower {
 public:
  Follower(Node& node, ReadModel& model);
  ~Follower();
  Status start();
  void stop();
  // Waits until the read model has applied `height` (tests, the CLI).
  bool wait_height(uint64_t height, std::chrono::milliseconds timeout);
  Status last_error() const;

 private:
  void run();
  Node& node_;
  ReadModel& model_;
  int subscription_ = -1;
  std::thread worker_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t target_ = 0, applied_ = 0;
  bool stopping_ = false;
  Status error_;
};

}  // namespace gridpact::db
