#include "cluster/etcd_orderer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <utility>

#include "cluster/codes.hpp"

namespace gridpact::cluster {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kOpsPerTxn = 100;  // etcd refuses more than --max-txn-ops (128) by default

std::string as_string(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Appends `from`'s transactions and their ids to `to`.
void append(OrderedBatch& to, OrderedBatch from) {
  std::move(from.txs.begin(), from.txs.end(), std::back_inserter(to.txs));
  to.tx_ids.insert(to.tx_ids.end(), from.tx_ids.begin(), from.tx_ids.end());
}

const uint8_t* as_bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// The height at the end of a block key, or nullopt.
std::optional<uint64_t> key_height(const std::string& key) {
  if (key.size() < 20) return std::nullopt;
  uint64_t h = 0;
  for (char c : key.substr(key.size() - 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    h = h * 10 + static_cast<uint64_t>(c - '0');
  }
  return h;
}

}  // namespace

std::string EtcdOrderer::height_key(uint64_t height) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "blocks/%020" PRIu64, height);
  return buf;
}

EtcdOrderer::EtcdOrderer(Node& node, EtcdOrdererConfig config)
    : node_(node),
      config_(std::move(config)),
      prefix_("/gridpact/" + node.genesis().chain_id + "/"),
      etcd_(config_.endpoints, config_.etcd_timeout, config_.etcd_tls),
      forward_etcd_(config_.endpoints, config_.etcd_timeout, config_.etcd_tls),
      status_etcd_(config_.endpoints, config_.etcd_timeout, config_.etcd_tls),
      peers_(std::chrono::seconds(10), config_.peer_tls) {
  register_cluster_codes();
  config_.max_txs = std::min<size_t>(config_.max_txs, node.genesis().max_block_txs);
}

EtcdOrderer::~EtcdOrderer() {
  stop();
}

void EtcdOrderer::set_api_url(std::string url) {
  std::lock_guard lock(url_mutex_);
  api_url_ = std::move(url);
}

std::string EtcdOrderer::api_url() const {
  std::lock_guard lock(url_mutex_);
  return api_url_;
}

void EtcdOrderer::start(Deliver deliver) {
  if (running_.exchange(true)) return;
  deliver_ = std::move(deliver);
  subscription_ = node_.subscribe([this](const Block& block, const std::vector<Receipt>&) {
    std::lock_guard lock(pool_mutex_);
    if (pool_) pool_->committed(block.txs);
  });
  thread_ = std::thread([this] { run(); });
  forwarder_ = std::thread([this] { forward_loop(); });
}

void EtcdOrderer::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  if (forwarder_.joinable()) forwarder_.join();
  node_.unsubscribe(subscription_);
  // Hand the role over now rather than when the lease lapses.
  if (int64_t lease = leader_lease_.exchange(0)) (void)etcd_.revoke(lease);
  if (status_lease_) (void)status_etcd_.revoke(status_lease_);
}

void EtcdOrderer::run() {
  next_ = node_.store().height().value_or(0) + 1;
  clock_ = std::make_unique<BlockClock>(std::chrono::milliseconds(kMaxBlockTimeAheadOfClockMs));
  last_block_ = Clock::now();
  Status last_error = Status::ok();
  while (running_) {
    if (node_.halted()) {
      if (leading()) step_down("this node halted");
      std::this_thread::sleep_for(config_.poll);
      continue;
    }
    // Leading, nobody else can write a block (each needs the lease on `leader`, which is
    // ours): no read of etcd per block. If the lease is gone after all, sealing fails, the
    // node steps down and reads what was written.
    auto applied = leading() ? Result<size_t>(size_t{0}) : follow();
    if (!applied) {
      if (applied.status().to_string() != last_error.to_string())
        spdlog::warn("cluster: {}", applied.status().to_string());
      last_error = applied.status();
      if (leading() && Clock::now() - lease_renewed_ > std::chrono::seconds(config_.lease_ttl_s))
        step_down("etcd unreachable for longer than the lease");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    last_error = Status::ok();
    if (*applied > 0) {
      // Someone else wrote at our height: whatever we thought, we do not lead.
      if (leading()) step_down("another node wrote block " + std::to_string(next_ - 1));
      continue;
    }
    if (!leading()) campaign();
    if (leading()) keep_lease();
    if (leading())
      lead();
    else
      std::this_thread::sleep_for(config_.poll);
  }
}

Result<size_t> EtcdOrderer::follow() {
  auto r = etcd_.range(key(height_key(next_)), prefix_end(key("blocks/")), 16);
  if (!r) return r.status();
  size_t applied = 0;
  std::optional<json> leader;  // read when a block needs it
  for (const EtcdKv& kv : r->kvs) {
    auto height = key_height(kv.key);
    if (!height || *height != next_) {
      if (height && *height > next_ && applied == 0) {
        // Blocks before the window are gone from etcd: a peer may still serve them.
        auto caught = catch_up(*height - 1);
        if (caught && *caught > 0) return caught;
        if (node_.halted()) return error(kClusterHalted, *node_.halted());
        node_.halt("BEHIND_WINDOW: etcd keeps blocks from " + std::to_string(*height) +
                   ", this node needs " + std::to_string(next_) + " and no peer served them (" +
                   (caught ? std::string("none known") : caught.status().to_string()) + ")");
        return error(kBehindWindow, "blocks before " + std::to_string(*height) + " are gone");
      }
      if (height && *height > next_) return applied;
      return error(kEtcdError, "unexpected block key " + kv.key);
    }
    auto block = Block::decode(as_bytes(kv.value), kv.value.size());
    if (!block) {
      node_.halt("block " + std::to_string(next_) +
                 " in etcd does not decode: " + block.status().to_string());
      return error(kClusterHalted, "block " + std::to_string(next_) + " does not decode");
    }
    if (Status s = check_proposer(block->header.proposer, leader); !s) return s;
    // Blocks in etcd can be read again: only the last of a batch waits for the disk.
    const bool last_read = &kv == &r->kvs.back();
    if (Status s = apply(receive(std::move(*block), false), "in etcd", last_read); !s) return s;
    ++applied;
  }
  return applied;
}

EtcdOrderer::Received EtcdOrderer::receive(Block block, bool verify_clients) {
  Received r;
  r.signature_valid = block.header.signature_valid();
  r.tx_ids.reserve(block.txs.size());
  for (const Transaction& tx : block.txs) r.tx_ids.push_back(tx.id());
  r.client_signatures_valid =
      verify_clients && std::all_of(block.txs.begin(), block.txs.end(),
                                    [](const Transaction& tx) { return tx.signature_valid(); });
  r.block = std::move(block);
  return r;
}

Status EtcdOrderer::apply(Received received, const std::string& source, bool durable) {
  Block& block = received.block;
  std::string bad;
  // Whether the proposer is in the validator set is decided by the node on the state the
  // block builds on (Node::may_sign), when it executes the block.
  if (block.header.height != next_)
    bad = "names height " + std::to_string(block.header.height);
  else if (!received.signature_valid)
    bad = "carries a signature that does not verify";
  if (!bad.empty()) {
    node_.halt("block " + std::to_string(next_) + " " + source + " " + bad);
    return error(kClusterHalted, "block " + std::to_string(next_) + " " + bad);
  }
  if (Status s = wait_for_clock(block.header); !s) return s;
  OrderedBatch batch;
  batch.time_ms = block.header.time_ms;
  batch.txs = std::move(block.txs);
  batch.tx_ids = std::move(received.tx_ids);
  batch.sealed = block.header;
  batch.durable = durable;
  batch.signatures_verified = received.client_signatures_valid;
  batch.proposer_attested = attested(block.header.proposer);
  deliver_(std::move(batch));
  if (node_.halted()) return error(kClusterHalted, *node_.halted());
  ++next_;
  return Status::ok();
}

Status EtcdOrderer::wait_for_clock(const BlockHeader& header) {
  std::string why;
  if (header.time_ms > wall_clock_ms() + kMaxBlockTimeAheadOfClockMs)
    why = "block " + std::to_string(header.height) + " by " + header.proposer.hex().substr(0, 8) +
          " is stamped more than " + std::to_string(kMaxBlockTimeAheadOfClockMs) +
          " ms ahead of this node's clock: not applied before the clock reaches it";
  std::lock_guard lock(attest_mutex_);
  waiting_for_clock_ = why;  // shown by GET /v1/cluster; follow() logs it and retries
  return why.empty() ? Status::ok() : error(kBlockFromFuture, why);
}

bool EtcdOrderer::attested(const PublicKey& proposer) {
  if (proposer == node_.options().validator_key->public_key()) return true;
  std::lock_guard lock(attest_mutex_);
  return attested_.count(proposer) > 0;
}

Status EtcdOrderer::check_proposer(const PublicKey& proposer, std::optional<json>& leader) {
  if (!config_.check_leader || attested(proposer)) return Status::ok();
  if (!leader) {  // read once per follow(), not once per block
    auto r = etcd_.range(key("leader"));
    if (!r) return r.status();
    leader = r->kvs.empty() ? json() : json::parse(r->kvs[0].value, nullptr, false);
  }
  if (!leader->is_object() || leader->value("public_key", "") != proposer.hex())
    return Status::ok();  // an earlier leader's block (see the header)
  const auto now = Clock::now();
  if (now < next_attest_) {
    std::lock_guard lock(attest_mutex_);
    return error(kLeaderNotAttested, attest_error_);
  }
  // Asked without the mutex: GET /v1/cluster must not wait on the leader's answer.
  const std::string url = leader->value("api", "");
  const Status s = config_.check_leader(url, proposer);
  std::lock_guard lock(attest_mutex_);
  if (!s) {
    next_attest_ = now + std::chrono::seconds(1);  // a failing leader is asked once a second
    const std::string why =
        "leader " + proposer.hex().substr(0, 8) + " at " + url + ": " + s.to_string();
    if (attest_error_ != why) spdlog::error("cluster: not following the leader: {}", why);
    attest_error_ = why;
    return error(kLeaderNotAttested, why);
  }
  attested_.insert(proposer);
  spdlog::info("cluster: leader {} at {} passed its attestation", proposer.hex().substr(0, 8), url);
  attest_error_.clear();
  return Status::ok();
}

void EtcdOrderer::campaign() {
  const auto now = Clock::now();
  if (now < next_campaign_) return;
  next_campaign_ = now + std::chrono::milliseconds(250);
  // A leader publishes its API URL: the others check its attestation there and fetch its
  // blocks. The node starts its orderer before its server, so it waits for the URL here.
  const std::string url = api_url();
  if (url.empty()) return;
  auto current = etcd_.range(key("leader"));
  if (!current || !current->kvs.empty()) return;
  // Every block applied so far must be committed before this node orders: the pool reads
  // committed nonces to refuse transactions already in a block.
  if (!node_.wait_height(next_ - 1, std::chrono::seconds(5))) return;
  // Only keys in the validator set lead (the set on the state the next block builds on).
  if (!node_.may_sign_next(node_.options().validator_key->public_key())) return;
  auto lease = etcd_.grant(config_.lease_ttl_s);
  if (!lease) return;
  const json me = {{"public_key", node_.options().validator_key->public_key().hex()}, {"api", url}};
  auto won = etcd_.txn({{key("leader"), EtcdCompare::Target::kVersion, 0}},
                       {EtcdOp::put(key("leader"), me.dump(), *lease)});
  if (!won || !*won) {
    (void)etcd_.revoke(*lease);
    return;
  }
  lease_renewed_ = Clock::now();
  last_block_ = lease_renewed_;
  {
    std::lock_guard lock(pool_mutex_);
    pool_ = node_.make_mempool();
  }
  known_.clear();
  pending_seen_ = 0;
  next_rescan_ = {};
  leader_lease_ = *lease;
  spdlog::info("cluster: {} leads from height {} (lease {:x})",
               node_.options().validator_key->public_key().hex().substr(0, 8), next_, *lease);
}

void EtcdOrderer::keep_lease() {
  const auto now = Clock::now();
  const auto ttl = std::chrono::seconds(config_.lease_ttl_s);
  if (now - lease_renewed_ < ttl / 3) return;
  auto left = etcd_.keepalive(leader_lease_);
  if (left && *left > 0)
    lease_renewed_ = now;
  else if (left)
    step_down("the lease lapsed");
  else if (now - lease_renewed_ > ttl)
    step_down("cannot renew the lease: " + left.status().to_string());
}

void EtcdOrderer::step_down(const std::string& why) {
  // Revoked, the lease frees `leader` for another node now rather than when it lapses (no
  // call when it has lapsed already: etcd may be out of reach, and it freed the key itself).
  const int64_t lease = leader_lease_.exchange(0);
  if (lease && Clock::now() - lease_renewed_ < std::chrono::seconds(config_.lease_ttl_s))
    (void)etcd_.revoke(lease);
  {
    // What pool_ holds goes to pending/ for the next leader (this node's own transactions
    // are nowhere else; those from pending/ are put again, unchanged).
    std::lock_guard lock(pool_mutex_);
    if (pool_) keep_unforwarded(pool_->take(SIZE_MAX));
    pool_.reset();
  }
  known_.clear();
  spdlog::warn("cluster: {} no longer leads: {}",
               node_.options().validator_key->public_key().hex().substr(0, 8), why);
}

void EtcdOrderer::pull_pending() {
  const auto now = Clock::now();
  // New pending keys since the last read; now and then all of them, for those the pool
  // could not take yet (a nonce too far ahead, a full pool).
  const bool rescan = now >= next_rescan_;
  if (rescan) next_rescan_ = now + std::chrono::seconds(1);
  auto r = etcd_.range(key("pending/"), prefix_end(key("pending/")), 5000,
                       rescan ? 0 : pending_seen_ + 1);
  if (!r) return;
  if (!r->more) pending_seen_ = r->revision;
  std::vector<EtcdOp> refused;
  for (const EtcdKv& kv : r->kvs) {
    auto id = Hash32::from_hex(kv.key.substr(key("pending/").size()));
    if (id && known_.count(*id)) continue;
    auto tx = Transaction::decode(as_bytes(kv.value), kv.value.size());
    Result<Hash32> added = tx ? pool_->add(std::move(*tx)) : Result<Hash32>(tx.status());
    if (added) {
      known_.insert(*added);
      continue;
    }
    const Code c = added.status().code;
    if (c == Code::kMempoolFull || c == Code::kSenderQuota || c == Code::kNonceTooFar) continue;
    // Refused for good (a used nonce: most often already in a block).
    refused.push_back(EtcdOp::del(kv.key));
  }
  for (size_t i = 0; i < refused.size(); i += kOpsPerTxn)
    (void)etcd_.txn(
        {},
        {refused.begin() + static_cast<std::ptrdiff_t>(i),
         refused.begin() + static_cast<std::ptrdiff_t>(std::min(refused.size(), i + kOpsPerTxn))});
}

void EtcdOrderer::lead() {
  pull_pending();
  // This node's own transactions, taken here rather than by the forwarder: one thread
  // hand-over less per block (what does not fit goes to pending/ through the forwarder).
  if (OrderedBatch refused = take_local(config_.max_txs); !refused.txs.empty())
    keep_unforwarded(std::move(refused));
  const auto now = Clock::now();
  const bool idle_due =
      now - last_block_ >= std::chrono::milliseconds(node_.genesis().idle_interval_ms);
  if (pool_->ready() == 0 && !idle_due) {
    node_.mempool().wait_ready(1, now + config_.poll);
    return;
  }
  OrderedBatch batch = pool_->take(config_.max_txs);
  batch.time_ms = clock_->stamp();
  OrderedBatch taken;  // the transactions again, if the block is not sealed
  taken.txs = batch.txs;
  taken.tx_ids = batch.tx_ids;
  sealed_ok_ = false;
  deliver_(std::move(batch));
  if (!sealed_ok_) {
    // Perhaps in etcd after all (an error after the write): the next leader's pool refuses
    // whatever a block already holds, as a used nonce.
    keep_unforwarded(std::move(taken));
    if (!node_.halted()) step_down("block " + std::to_string(next_) + " was not sealed");
    return;
  }
  if (node_.halted()) return;
  const std::vector<Hash32>& ids = taken.tx_ids;
  ++next_;
  last_block_ = now;
  // The ordered transactions leave pending/ (a leader that dies first leaves them to the
  // next, whose pool refuses them as used nonces), and the oldest block leaves the window.
  std::vector<EtcdOp> done;
  for (const Hash32& id : ids)
    if (known_.erase(id)) done.push_back(EtcdOp::del(key("pending/" + id.hex())));
  if (next_ - 1 > config_.window_blocks)
    done.push_back(EtcdOp::del(key(height_key(next_ - 1 - config_.window_blocks))));
  for (size_t i = 0; i < done.size(); i += kOpsPerTxn)
    (void)etcd_.txn(
        {}, {done.begin() + static_cast<std::ptrdiff_t>(i),
             done.begin() + static_cast<std::ptrdiff_t>(std::min(done.size(), i + kOpsPerTxn))});
}

bool EtcdOrderer::seal(const Block& block) {
  const int64_t lease = leader_lease_;
  if (!lease || block.header.height != next_) return false;
  const std::string k = key(height_key(block.header.height));
  auto ok = etcd_.txn(
      {{k, EtcdCompare::Target::kVersion, 0}, {key("leader"), EtcdCompare::Target::kLease, lease}},
      {EtcdOp::put(k, as_string(block.encode()))});
  if (!ok) spdlog::warn("cluster: sealing block {}: {}", next_, ok.status().to_string());
  // An error leaves it unknown whether the block got in: dropping it is still safe, the
  // follow step applies whatever etcd holds at this height.
  sealed_ok_ = ok && *ok;
  return sealed_ok_;
}

void EtcdOrderer::forward_loop() {
  auto next_status = Clock::now();
  while (running_) {
    // Leading, the orderer thread takes this node's transactions itself (lead()).
    if (leading())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    else
      node_.mempool().wait_ready(1, Clock::now() + std::chrono::milliseconds(50));
    if (Status s = forward_once(); !s) {
      spdlog::warn("cluster: forwarding transactions: {}", s.to_string());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (Clock::now() >= next_status) {
      publish_status();
      next_status = Clock::now() + std::chrono::seconds(1);
    }
  }
}

void EtcdOrderer::keep_unforwarded(OrderedBatch batch) {
  std::lock_guard lock(unforwarded_mutex_);
  append(unforwarded_, std::move(batch));
}

OrderedBatch EtcdOrderer::take_local(size_t max) {
  OrderedBatch batch = node_.mempool().take(max);  // with its ids (a Mempool's)
  OrderedBatch to_pending;
  // Leading: this node's transactions go into pool_ as they are (admission verified their
  // signatures; pool_ does not again), with no trip through pending/ and back.
  std::lock_guard lock(pool_mutex_);
  if (!pool_) return batch;
  for (size_t i = 0; i < batch.txs.size(); ++i) {
    auto added = pool_->add(batch.txs[i], batch.tx_ids[i]);
    const Code c = added ? Code::kOk : added.status().code;
    // Refused for now (a full pool, a nonce ahead): pending/ keeps it for a rescan.
    if (c == Code::kMempoolFull || c == Code::kSenderQuota || c == Code::kNonceTooFar) {
      to_pending.txs.push_back(std::move(batch.txs[i]));
      to_pending.tx_ids.push_back(batch.tx_ids[i]);
    }
  }
  return to_pending;
}

Status EtcdOrderer::forward_once() {
  OrderedBatch batch = take_local(kOpsPerTxn * 10);
  {
    std::lock_guard lock(unforwarded_mutex_);
    append(batch, std::exchange(unforwarded_, {}));
  }
  std::vector<EtcdOp> puts;
  for (size_t i = 0; i < batch.txs.size(); ++i)
    puts.push_back(
        EtcdOp::put(key("pending/" + batch.tx_ids[i].hex()), as_string(batch.txs[i].encode())));
  // Taken transactions exist nowhere else: retry until etcd has them (or the node stops).
  for (size_t i = 0; i < puts.size() && running_;) {
    auto end = std::min(puts.size(), i + kOpsPerTxn);
    auto ok = forward_etcd_.txn({}, {puts.begin() + static_cast<std::ptrdiff_t>(i),
                                     puts.begin() + static_cast<std::ptrdiff_t>(end)});
    if (ok) {
      i = end;
      continue;
    }
    spdlog::warn("cluster: forwarding transactions: {}", ok.status().to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status::ok();
}

void EtcdOrderer::publish_status() {
  if (!status_lease_) {
    auto lease = status_etcd_.grant(std::max<int64_t>(5, config_.lease_ttl_s * 2));
    if (!lease) return;
    status_lease_ = *lease;
  } else if (auto left = status_etcd_.keepalive(status_lease_); !left || *left == 0) {
    if (left) status_lease_ = 0;  // lapsed: a new one next time
    return;
  }
  const std::string url = api_url();
  const PublicKey me = node_.options().validator_key->public_key();
  json status = {{"public_key", me.hex()},
                 {"api", url},
                 {"height", node_.store().height().value_or(0)},
                 {"state_root", node_.store().state_root().hex()},
                 {"leading", leading()}};
  if (auto h = node_.halted()) status["halted"] = *h;
  (void)status_etcd_.put(key("nodes/" + me.hex()), status.dump(), status_lease_);
}

Result<json> EtcdOrderer::status() {
  auto leader = status_etcd_.range(key("leader"));
  if (!leader) return leader.status();
  auto nodes = status_etcd_.range(key("nodes/"), prefix_end(key("nodes/")), 256);
  if (!nodes) return nodes.status();
  json out = {{"leader", nullptr}, {"nodes", json::array()}};
  if (!leader->kvs.empty()) {
    json l = json::parse(leader->kvs[0].value, nullptr, false);
    if (l.is_object()) {
      char lease[24];
      std::snprintf(lease, sizeof lease, "%" PRIx64, static_cast<uint64_t>(leader->kvs[0].lease));
      l["lease"] = lease;
      l["lease_ttl_s"] = config_.lease_ttl_s;
      out["leader"] = std::move(l);
    }
  }
  for (const EtcdKv& kv : nodes->kvs) {
    json n = json::parse(kv.value, nullptr, false);
    if (n.is_object()) out["nodes"].push_back(std::move(n));
  }
  out["this_node"] = {{"public_key", node_.options().validator_key->public_key().hex()},
                      {"leading", leading()},
                      {"height", node_.store().height().value_or(0)}};
  if (auto h = node_.halted()) out["this_node"]["halted"] = *h;
  std::lock_guard lock(attest_mutex_);
  if (!attest_error_.empty()) out["this_node"]["leader_not_attested"] = attest_error_;
  if (!waiting_for_clock_.empty()) out["this_node"]["waiting_for_clock"] = waiting_for_clock_;
  return out;
}

}  // namespace gridpact::cluster
