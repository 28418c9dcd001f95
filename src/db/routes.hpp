// GET /v1/db?q=match|assets|agreements|payments|height: the read model over the node's
// HTTP API (gridpact node --db). Queries use their own connection, one at a time (under one
// lock); the route is an expensive query of the API's query gate (api/query_gate.hpp), so
// waiting queries hold no HTTP worker and each client's share is limited.
#pragma once

#include <memory>
#include <mutex>

#include "db/read_model.hpp"

namespace gridpact::api {
class Server;
}

namespace gridpact::db {

class Routes {
 public:
  static constexpr uint64_t kMaxRadiusKm = 500;
  explicit Routes(std::unique_ptr<ReadModel> model) : model_(std::move(model)) {}
  Result<json> answer(const json& params);

 private:
  std::mutex mutex_;
  std::unique_ptr<ReadModel> model_;
};

void install_routes(api::Server& server, std::shared_ptr<Routes> routes);

}  // namespace gridpact::db
