// GET /v1/db?q=match|assets|agreements|payments|height: the read model over the node's
// HTTP API (gridpact node --db). Queries run on a small pool of read connections (at most
// kMaxConnections): each takes a free one and waits while all are busy, so one slow query
// holds one connection, not the route. The route is an expensive query of the API's query
// gate (api/query_gate.hpp), so waiting queries hold no HTTP worker and each client's share
// is limited. The radius is bounded as in the state queries (agreements::kMaxRadiusKm).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "db/read_model.hpp"

namespace gridpact::api {
class Server;
}

namespace gridpact::db {

class Routes {
 public:
  static constexpr size_t kMaxConnections = 4;
  // `models`: the read connections, at most kMaxConnections of them (the rest are closed).
  explicit Routes(std::vector<std::unique_ptr<ReadModel>> models);
  Result<json> answer(const json& params);
  // Runs `fn` on a free connection, waiting while every one is busy (answer() does).
  Result<json> on_connection(const std::function<Result<json>(ReadModel&)>& fn);

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<ReadModel>> free_;
};

void install_routes(api::Server& server, std::shared_ptr<Routes> routes);

}  // namespace gridpact::db
