// The gate of the API's expensive queries (module queries, /v1/accounts, /v1/db,
// /v1/attestation): they run on a small pool of their own, never on the HTTP workers, so that
// however many arrive, /v1/health and POST /v1/tx always find a free worker and the block
// producer keeps a core. Each client (remote address) may have `per_client_in_flight`
// queries queued or running and start `per_client_per_second` a second (bursts of
// `per_client_burst`); beyond either it is refused at once (the API answers HTTP 429 with
// the error OVERLOADED, code 429, "rate limited: ...", after the refusal delay below). When
// `max_queued` queries wait for the pool, any further one is refused (HTTP 503, OVERLOADED).
//
// What refusing costs: a client that retries at once, on many connections, would keep the
// HTTP workers busy parsing and refusing (about 20,000 refusals a second on 2 cores, which
// put an honest client's commit latency p99 at 4-11 times its baseline in bench/run abuse).
// So the API holds each refusal for `refusal_delay` before answering (no thread held, see
// http::Responder::send_after): a connection then costs one request per `refusal_delay`.
// And the pool's threads run at a lower priority (`nice`): the queries that are admitted
// take what the block producer and the HTTP workers leave, never their time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"

namespace gridpact::api {

struct QueryLimits {
  size_t threads = 0;  // 0: half the machine's hardware threads (at least 1)
  size_t max_queued = 256;
  size_t per_client_in_flight = 4;
  uint64_t per_client_per_second = 50;
  uint64_t per_client_burst = 100;
  std::chrono::milliseconds refusal_delay{100};  // how long the API holds a refusal
  int nice = 10;  // added to the pool threads' nice value (Linux: per thread); 0: unchanged
};

class QueryGate {
 public:
  explicit QueryGate(QueryLimits limits);
  ~QueryGate();
  QueryGate(const QueryGate&) = delete;
  QueryGate& operator=(const QueryGate&) = delete;

  void start();
  void stop();  // runs nothing more; joins the pool (queued work is dropped unanswered)
  enum class Admission { kQueued, kRateLimited, kQueueFull, kStopped };
  // Queues `work` for `client`, or says why not. On a pool thread: runs `work`, counts the
  // query out of the client's in-flight ones, then runs `then` (the answer): a client that
  // waits for each answer before it asks again is never refused for the query just answered.
  Admission run(const std::string& client, std::function<void()> work,
                std::function<void()> then = {});
  // The API's answer to a refusal: HTTP 429 (rate limited) or 503, error OVERLOADED, or
  // 503 SHUTTING_DOWN.
  Status refusal(Admission a) const;
  uint64_t refused() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Client {
    size_t in_flight = 0;
    uint64_t tokens_milli = 0;  // thousandths of a query
    Clock::time_point refilled;
  };
  struct Job {
    std::string client;
    std::function<void()> work;
    std::function<void()> then;
  };
  void worker();
  void forget_idle(Clock::time_point now);

  QueryLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::map<std::string, Client> clients_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  uint64_t refused_ = 0;
};

}  // namespace gridpact::api
