#include "cluster/cluster_api.hpp"

#include "cluster/codes.hpp"

namespace gridpact::cluster {

void install_cluster_routes(api::Server& server, EtcdOrderer& orderer) {
  server.extend([&orderer](http::Router& router) {
    router.add("GET", "/v1/cluster", [&orderer](http::Request&, const http::Responder& res) {
      auto status = orderer.status();
      if (!status) {
        res.send(http::Response::json_text(http::error_body(status.status()), 503));
        return;
      }
      res.send(http::Response::json_text(status->dump()));
    });
  });
}

}  // namespace gridpact::cluster
