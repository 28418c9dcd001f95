#include "sim/ledger.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "meteragent/agent.hpp"
#include "modules/all_modules.hpp"
#include "modules/meters/testing.hpp"
#include "sim/community.hpp"

namespace gridpact::sim {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU seconds the calling thread has used.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

Status Ledger::open(const std::string& genesis_text) {
  std::filesystem::create_directories(o_.chain_dir);
  {
    std::ofstream out(o_.chain_dir + "/genesis.toml", std::ios::trunc);
    out << genesis_text;
    if (!out) return error(Code::kStorage, "cannot write " + o_.chain_dir + "/genesis.toml");
  }
  auto g = Genesis::parse(genesis_text);
  if (!g) return g.status();
  genesis_ = *g;
  auto store = Store::open(o_.chain_dir + "/db", {.sync = false});
  if (!store) return store.status();
  store_ = std::move(store).value();
  // The gridpact binary's modules, in its order (verify-chain replays with those).
  modules_ = all_modules();
  executor_ = std::make_unique<Executor>(*store_, module_pointers(modules_), genesis_.chain_id);
  auto batch = executor_->genesis(genesis_.document, genesis_.hash, genesis_.time_ms);
  if (!batch) return batch.status();
  if (Status st = store_->commit(*batch); !st) return st;
  return store_->put_meta("genesis_hash", genesis_.hash.hex());
}

Result<Ledger::Prepared> Ledger::prepare(std::vector<Pending> pending) {
  auto t0 = Clock::now();
  std::vector<Transaction> txs(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    txs[i].chain_id = genesis_.chain_id;
    txs[i].nonce = nonces_[pending[i].key->public_key()]++;
    txs[i].type = pending[i].type;
  }
  // TPM meters sign one after another: a meter's TPM connection serves one caller.
  for (Pending& p : pending) {
    if (!p.tpm_meter) continue;
    auto sig = p.tpm_meter->sign(meters::reading_digest(genesis_.chain_id, p.reading));
    if (!sig) return sig.status();
    p.reading.signature = *sig;
    p.payload = meters::encode(p.reading);
  }
  parallel_for(pending.size(), o_.threads, [&](size_t i) {
    Pending& p = pending[i];
    if (p.meter_key) {
      meters::sign_virtual(p.reading, genesis_.chain_id, *p.meter_key);
      p.payload = meters::encode(p.reading);
    }
    txs[i].payload = std::move(p.payload);
    txs[i].sign(*p.key);
  });
  for (const auto& p : pending) r_.signatures += p.meter_key || p.tpm_meter ? 2 : 1;
  auto t1 = Clock::now();
  r_.timing.sign_s += std::chrono::duration<double>(t1 - t0).count();
  std::vector<Hash32> ids(txs.size());
  std::vector<uint8_t> valid(txs.size());
  parallel_for(txs.size(), o_.threads, [&](size_t i) {
    ids[i] = txs[i].id();
    valid[i] = txs[i].signature_valid();
  });
  for (size_t i = 0; i < txs.size(); ++i) {
    if (!valid[i]) return error(Code::kBadSignature, "a simulated transaction failed admission");
    if (pending[i].id_out) *pending[i].id_out = ids[i];
  }
  r_.timing.verify_s += since(t1);
  return Prepared{std::move(txs), std::move(ids)};
}

Status Ledger::apply(Prepared p, uint64_t time_ms, const KeyPair& validator,
                     const std::function<bool()>& spare_core) {
  if (!write_status_) return write_status_;
  auto t2 = Clock::now();
  const double cpu2 = thread_cpu_s();
  std::vector<Transaction> txs = std::move(p.txs);
  std::vector<Hash32> ids = std::move(p.ids);
  const size_t n = txs.size();
  auto executed = executor_->execute(std::move(txs), time_ms, false, std::move(ids));
  if (!executed) return executed.status();
  auto batch = std::make_shared<CommitBatch>(std::move(executed).value());
  batch->block.header.sign(validator);
  r_.state_writes += batch->state_changes.size();
  const double execute_s = since(t2);
  r_.timing.execute_s += execute_s;
  r_.timing.execute_cpu_s += thread_cpu_s() - cpu2;
  // The next block builds on this one while it is written; the one before must be
  // written first (the store takes blocks in order).
  executor_->stage(batch);
  if (Status st = wait_written(); !st) return st;
  const auto launch = !spare_core || spare_core() ? std::launch::async : std::launch::deferred;
  writing_ = std::async(launch, [this, batch, n, execute_s] {
    auto t3 = Clock::now();
    const double cpu3 = thread_cpu_s();
    Status st = store_->commit(*batch);
    const double commit_s = since(t3);
    r_.timing.commit_s += commit_s;
    r_.timing.commit_cpu_s += thread_cpu_s() - cpu3;
    const double secs = execute_s + commit_s;
    r_.block_tx_per_s.push_back(secs > 0 ? static_cast<double>(n) / secs : 0);
    return st;
  });
  r_.blocks++;
  r_.transactions += n;
  for (size_t i = 0; i < n; ++i)
    if (!batch->receipts[i].ok()) {
      r_.failed_transactions++;
      std::string name(code_name(static_cast<Code>(batch->receipts[i].code)));
      if (r_.failures[name]++ == 0)
        first_failures_ += name + ": " + batch->receipts[i].message + "\n";
    }
  last_block_txs_ = n;
  return launch == std::launch::deferred ? wait_written() : Status::ok();
}

Status Ledger::wait_written() {
  if (writing_.valid() && write_status_) write_status_ = writing_.get();
  return write_status_;
}

Module& Ledger::module(std::string_view name) {
  for (auto& m : modules_)
    if (m->name() == name) return *m;
  throw std::logic_error("no module " + std::string(name));
}

}  // namespace gridpact::sim
