#include "api/commit_feed.hpp"

#include "api/views.hpp"

namespace gridpact::api {

using Clock = std::chrono::steady_clock;

struct CommitFeed::Wait {
  explicit Wait(http::Responder r) : responder(std::move(r)) {}
  http::Responder responder;
  bool batch = false;
  std::vector<std::optional<Hash32>> ids;
  std::mutex mutex;  // guards what follows
  json results;
  std::vector<bool> settled;
  size_t remaining = 0;
  bool done = false;
  bool registered = false;  // counted in waiting_ (guarded by waits_mutex_)
};

namespace {

std::string sse(std::string_view event, const std::string& data, uint64_t id = 0) {
  std::string out;
  if (id) out += "id: " + std::to_string(id) + "\n";
  out += "event: ";
  out += event;
  out += "\ndata: " + data + "\n\n";
  return out;
}

std::string gap_event(uint64_t from, uint64_t to) {
  json gap = error_json(error(
      Code::kEventsGap, "blocks no longer retained by the stream; read them at /v1/blocks/N"));
  gap["from"] = from;
  gap["to"] = to;
  return sse("gap", gap.dump());
}

}  // namespace

CommitFeed::CommitFeed(Node& node, size_t retained_blocks)
    : node_(node), retained_(retained_blocks) {
  for (Module* m : node_.executor().modules())
    for (const auto& t : m->tx_types()) type_names_[t.type] = json(std::string(t.name)).dump();
}

CommitFeed::~CommitFeed() {
  stop();
}

void CommitFeed::start() {
  thread_ = std::thread([this] { run(); });
  subscription_ =
      node_.subscribe([this](const Block& b, const std::vector<Receipt>& rs) { on_commit(b, rs); });
}

void CommitFeed::stop() {
  if (subscription_ >= 0) node_.unsubscribe(subscription_);
  subscription_ = -1;
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Wait>> parked;
  {
    std::lock_guard lock(waits_mutex_);
    for (auto& [id, list] : waiters_)
      for (auto& [w, slot] : list) parked.push_back(w);
  }
  for (auto& w : parked) finish(w, error(Code::kShuttingDown, "node is stopping"));
  {
    std::lock_guard lock(blocks_mutex_);
    for (auto& f : block_followers_) f.stream->close();
    block_followers_.clear();
  }
  std::lock_guard lock(accounts_mutex_);
  for (auto& [pk, list] : account_followers_)
    for (auto& s : list) s->close();
  account_followers_.clear();
}

size_t CommitFeed::waiting() const {
  std::lock_guard lock(waits_mutex_);
  return waiting_;
}

// On the node's committer thread: copy, queue, return.
void CommitFeed::on_commit(const Block& block, const std::vector<Receipt>& receipts) {
  auto c = std::make_shared<Committed>();
  c->header = block.header;
  const size_t n = std::min(block.txs.size(), receipts.size());
  c->txs.reserve(n);
  for (size_t i = 0; i < n; ++i)
    c->txs.push_back({receipts[i].tx_id, block.txs[i].sender, block.txs[i].type, receipts[i].code});
  {
    std::lock_guard lock(waits_mutex_);
    if (!waiters_.empty())
      for (size_t i = 0; i < n; ++i)
        if (waiters_.count(receipts[i].tx_id)) c->waited.push_back(receipts[i]);
  }
  std::lock_guard lock(queue_mutex_);
  queue_.push_back(std::move(c));
  queue_cv_.notify_one();
}

void CommitFeed::run() {
  auto next_prune = Clock::now();
  for (;;) {
    std::deque<std::shared_ptr<Committed>> batch;
    {
      std::unique_lock lock(queue_mutex_);
      // Deadlines are checked every 20 ms: parked requests need no timer of their own.
      queue_cv_.wait_for(lock, std::chrono::milliseconds(20),
                         [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
    }
    for (const auto& c : batch) deliver(*c);
    expire_due();
    if (Clock::now() >= next_prune) {
      prune_closed_streams();
      next_prune = Clock::now() + std::chrono::seconds(5);
    }
  }
}

void CommitFeed::wait(std::vector<std::optional<Hash32>> ids, json results, bool batch,
                      const http::Responder& responder, std::chrono::milliseconds timeout) {
  auto w = std::make_shared<Wait>(responder);
  w->batch = batch;
  w->results = std::move(results);
  w->settled.assign(ids.size(), true);
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i]) w->settled[i] = false, w->remaining++;
  w->ids = std::move(ids);
  if (w->remaining == 0) return finish(w, Status::ok());
  {
    std::lock_guard lock(waits_mutex_);
    for (size_t i = 0; i < w->ids.size(); ++i)
      if (w->ids[i]) waiters_[*w->ids[i]].emplace_back(w, i);
    deadlines_.emplace(Clock::now() + timeout, w);
    w->registered = true;
    waiting_++;
  }
  // Committed before we were registered: the store has it already (a block is stored
  // before it is announced), so nothing is missed; settle() ignores a second answer.
  for (size_t i = 0; i < w->ids.size(); ++i) {
    if (!w->ids[i]) continue;
    if (auto loc = node_.store().find_tx(*w->ids[i]))
      if (auto r = node_.store().receipt(loc->height, loc->index)) settle(w, i, *r);
  }
}

void CommitFeed::settle(const std::shared_ptr<Wait>& w, size_t slot, const Receipt& r) {
  {
    std::lock_guard lock(w->mutex);
    if (w->done || w->settled[slot]) return;
    w->settled[slot] = true;
    w->results[slot]["status"] = "committed";
    w->results[slot]["receipt"] = receipt_json(r, node_.executor());
    if (--w->remaining > 0) return;
  }
  finish(w, Status::ok());
}

// Answers once: every transaction committed (ok), or the deadline or shutdown (`why`).
void CommitFeed::finish(const std::shared_ptr<Wait>& w, const Status& why) {
  json body;
  int status = 200;
  {
    std::lock_guard lock(w->mutex);
    if (w->done) return;
    w->done = true;
    for (size_t i = 0; i < w->ids.size(); ++i)
      if (!w->settled[i]) w->results[i]["status"] = "pending";
    if (w->batch) {
      body = {{"results", std::move(w->results)}};
    } else {
      body = std::move(w->results[0]);
      if (body.contains("error"))
        status = http::status_for(static_cast<Code>(body["error"]["code"].get<int>()));
    }
    if (!why) {
      body["error"] = error_json(why)["error"];
      status = http::status_for(why.code);
    }
  }
  {
    std::lock_guard lock(waits_mutex_);
    for (const auto& id : w->ids) {
      if (!id) continue;
      auto it = waiters_.find(*id);
      if (it == waiters_.end()) continue;
      std::erase_if(it->second, [&](const auto& e) { return e.first == w; });
      if (it->second.empty()) waiters_.erase(it);
    }
    if (w->registered) waiting_--;
    w->registered = false;
  }
  w->responder.send(http::Response::json_text(body.dump(), status));
}

void CommitFeed::expire_due() {
  std::vector<std::shared_ptr<Wait>> due;
  {
    std::lock_guard lock(waits_mutex_);
    auto now = Clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      if (auto w = deadlines_.begin()->second.lock()) due.push_back(std::move(w));
      deadlines_.erase(deadlines_.begin());
    }
  }
  for (auto& w : due) finish(w, error(Code::kTimeout, "not committed before timeout_ms"));
}

std::string CommitFeed::block_event(const Committed& c) const {
  json j = header_json(c.header);
  j.erase("raw");
  size_t failed = 0;
  json txs = json::array();
  for (const auto& t : c.txs) {
    failed += t.code == 0 ? 0 : 1;
    txs.push_back({{"id", t.id.hex()}, {"code", t.code}});
  }
  j["failed_txs"] = failed;
  j["txs"] = std::move(txs);
  return j.dump();
}

void CommitFeed::deliver(const Committed& c) {
  // Parked requests first: they are what a client is blocked on.
  for (const auto& r : c.waited) {
    std::vector<std::pair<std::shared_ptr<Wait>, size_t>> list;
    {
      std::lock_guard lock(waits_mutex_);
      auto it = waiters_.find(r.tx_id);
      if (it == waiters_.end()) continue;
      list = it->second;
    }
    for (auto& [w, slot] : list) settle(w, slot, r);
  }

  const uint64_t h = c.header.height;
  {
    std::lock_guard lock(blocks_mutex_);
    recent_.emplace_back(h, block_event(c));
    while (recent_.size() > retained_) recent_.pop_front();
    const std::string event = sse("block", recent_.back().second, h);
    std::erase_if(block_followers_, [&](BlockFollower& f) {
      if (h < f.next) return false;
      std::string out = f.next < h ? gap_event(f.next, h - 1) : std::string();
      f.next = h + 1;
      return !f.stream->send(out + event);
    });
  }

  std::lock_guard lock(accounts_mutex_);
  if (account_followers_.empty()) return;
  for (size_t i = 0; i < c.txs.size(); ++i) {
    auto it = account_followers_.find(c.txs[i].sender);
    if (it == account_followers_.end()) continue;
    const auto& t = c.txs[i];
    auto name = type_names_.find(t.type);
    // What json{...}.dump() printed (keys in order), written directly: one event per
    // committed transaction is the feed's hot path.
    std::string data =
        "{\"code\":" + std::to_string(t.code) +
        ",\"code_name\":" + json(std::string(code_name(static_cast<Code>(t.code)))).dump() +
        ",\"height\":" + std::to_string(h) + ",\"index\":" + std::to_string(i) + ",\"tx_id\":\"" +
        t.id.hex() + "\",\"type\":" + std::to_string(t.type) +
        ",\"type_name\":" + (name == type_names_.end() ? "\"\"" : name->second) + "}";
    const std::string event = sse("tx", data, h);
    std::erase_if(it->second, [&](const auto& s) { return !s->send(event); });
    if (it->second.empty()) account_followers_.erase(it);
  }
}

// Subscribers that left between blocks (or whose account never transacts) are dropped here.
void CommitFeed::prune_closed_streams() {
  {
    std::lock_guard lock(blocks_mutex_);
    std::erase_if(block_followers_, [](const auto& f) { return !f.stream->open(); });
  }
  std::lock_guard lock(accounts_mutex_);
  for (auto it = account_followers_.begin(); it != account_followers_.end();) {
    std::erase_if(it->second, [](const auto& s) { return !s->open(); });
    it = it->second.empty() ? account_followers_.erase(it) : std::next(it);
  }
}

void CommitFeed::follow_blocks(const http::Responder& responder, uint64_t from) {
  auto stream = responder.open_stream();
  if (!stream) return;
  std::lock_guard lock(blocks_mutex_);
  BlockFollower f{stream, from};
  std::string backlog;
  if (!recent_.empty() && recent_.front().first > f.next) {
    backlog += gap_event(f.next, recent_.front().first - 1);
    f.next = recent_.front().first;
  }
  for (const auto& [h, data] : recent_) {
    if (h < f.next) continue;
    backlog += sse("block", data, h);
    f.next = h + 1;
  }
  if (!backlog.empty() && !stream->send(std::move(backlog))) return;
  block_followers_.push_back(std::move(f));
}

void CommitFeed::follow_account(const http::Responder& responder, const PublicKey& account) {
  auto stream = responder.open_stream();
  if (!stream) return;
  std::lock_guard lock(accounts_mutex_);
  auto& list = account_followers_[account];
  std::erase_if(list, [](const auto& s) { return !s->open(); });
  list.push_back(std::move(stream));
}

}  // namespace gridpact::api
