// The cluster's error codes (1800-1899).
#pragma once

#include "base/error.hpp"

namespace gridpact::cluster {

#define GRIDPACT_CLUSTER_CODES(X)                                                                  \
  X(kEtcdUnavailable, 1800, "ETCD_UNAVAILABLE", "no etcd endpoint answered in time")               \
  X(kEtcdError, 1801, "ETCD_ERROR", "etcd refused the request or answered something unexpected")   \
  X(kClusterHalted, 1802, "CLUSTER_HALTED",                                                        \
    "this node stopped applying blocks: it could not reproduce a block of the cluster")            \
  X(kBehindWindow, 1803, "BEHIND_WINDOW", "the blocks this node lacks are no longer kept in etcd") \
  X(kPeerError, 1804, "PEER_ERROR", "a peer could not serve blocks, or served something else")     \
  X(kBlockFromFuture, 1805, "BLOCK_FROM_FUTURE",                                                   \
    "the next block is stamped ahead of this node's clock: applied once the clock reaches it")     \
  X(kLeaderNotAttested, 1810, "LEADER_NOT_ATTESTED",                                               \
    "the leader's attestation did not verify: this node applies none of its blocks")

GRIDPACT_CODES(kClusterCodes, "cluster", 1800, GRIDPACT_CLUSTER_CODES);

void register_cluster_codes();

}  // namespace gridpact::cluster
