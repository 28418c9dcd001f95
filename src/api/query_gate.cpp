#include "api/query_gate.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gridpact::api {

QueryGate::QueryGate(QueryLimits limits) : limits_(limits) {
  if (limits_.threads == 0) limits_.threads = std::max(1u, std::thread::hardware_concurrency() / 2);
  limits_.per_client_burst = std::max<uint64_t>(1, limits_.per_client_burst);
  limits_.per_client_in_flight = std::max<size_t>(1, limits_.per_client_in_flight);
}

QueryGate::~QueryGate() {
  stop();
}

void QueryGate::start() {
  std::lock_guard lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (size_t i = 0; i < limits_.threads; ++i) threads_.emplace_back([this] { worker(); });
}

void QueryGate::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

uint64_t QueryGate::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

// Clients with nothing in flight and a full bucket are indistinguishable from new ones:
// dropping them bounds the table by the clients active within one burst's refill time.
void QueryGate::forget_idle(Clock::time_point now) {
  const auto full_after = std::chrono::milliseconds(
      limits_.per_client_per_second
          ? limits_.per_client_burst * 1000 / limits_.per_client_per_second + 1
          : 0);
  std::erase_if(clients_, [&](const auto& entry) {
    const Client& c = entry.second;
    return c.in_flight == 0 &&
           (limits_.per_client_per_second == 0 ? c.tokens_milli >= limits_.per_client_burst * 1000
                                               : now - c.refilled >= full_after);
  });
}

Status QueryGate::refusal(Admission a) const {
  switch (a) {
    case Admission::kQueued:
      return Status::ok();
    case Admission::kRateLimited:
      return error(Code::kOverloaded, "rate limited: at most " +
                                          std::to_string(limits_.per_client_in_flight) +
                                          " expensive queries at once and " +
                                          std::to_string(limits_.per_client_per_second) +
                                          " a second per client address; retry later");
    case Admission::kQueueFull:
      return error(Code::kOverloaded, "too many expensive queries waiting; retry later");
    case Admission::kStopped:
      break;
  }
  return error(Code::kShuttingDown, "the node is stopping");
}

QueryGate::Admission QueryGate::run(const std::string& client, std::function<void()> work,
                                    std::function<void()> then) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Admission::kStopped;
    const auto now = Clock::now();
    if (clients_.size() >= 10'000) forget_idle(now);
    auto [it, fresh] = clients_.try_emplace(client);
    Client& c = it->second;
    const uint64_t capacity = limits_.per_client_burst * 1000;
    if (fresh) {
      c.tokens_milli = capacity;
      c.refilled = now;
    } else {
      // Refill: per_client_per_second queries a second is that many thousandths a millisecond.
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - c.refilled).count();
      c.tokens_milli = std::min<uint64_t>(
          capacity, c.tokens_milli + static_cast<uint64_t>(ms) * limits_.per_client_per_second);
      c.refilled = now;
    }
    if (c.in_flight >= limits_.per_client_in_flight || c.tokens_milli < 1000) {
      ++refused_;
      return Admission::kRateLimited;
    }
    if (queue_.size() >= limits_.max_queued) {
      ++refused_;
      return Admission::kQueueFull;
    }
    c.tokens_milli -= 1000;
    c.in_flight++;
    queue_.push_back({client, std::move(work), std::move(then)});
  }
  cv_.notify_one();
  return Admission::kQueued;
}

namespace {

// Linux gives each thread its own nice value: this lowers the calling thread's priority only.
void lower_priority(int nice) {
  if (nice == 0) return;
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && setpriority(PRIO_PROCESS, tid, std::clamp(now + nice, -20, 19)) == 0) return;
  spdlog::warn("api: could not lower the priority of a query thread: {}", std::strerror(errno));
}

}  // namespace

void QueryGate::worker() {
  lower_priority(limits_.nice);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job.work();
    } catch (const std::exception& e) {  // the work answers its own errors; this is a bug
      spdlog::warn("api: an expensive query threw: {}", e.what());
    }
    {
      std::lock_guard lock(mu_);
      if (auto it = clients_.find(job.client); it != clients_.end() && it->second.in_flight > 0)
        it->second.in_flight--;
    }
    if (job.then) job.then();
  }
}

}  // namespace gridpact::api
