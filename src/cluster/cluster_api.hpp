// GET /v1/cluster: the leader, its lease, and each node's height and state root.
#pragma once

#include "api/server.hpp"
#include "cluster/etcd_orderer.hpp"

namespace gridpact::cluster {

void install_cluster_routes(api::Server& server, EtcdOrderer& orderer);

}  // namespace gridpact::cluster
