// Tests' own etcd: one member on loopback, free ports, a temporary data directory,
// stopped (SIGKILL: its data is thrown away) when the object goes.
#pragma once

#include <sys/types.h>

#include <string>

#include "cluster/etcd_client.hpp"

namespace gridpact::cluster::testing {

// A TCP port nobody listens on right now.
uint16_t free_port();

class EtcdProcess {
 public:
  EtcdProcess();
  ~EtcdProcess();
  // Starts etcd and waits until it answers; false if it did not within 15 s.
  bool start();
  void stop();
  uint16_t client_port() const { return client_port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::vector<EtcdEndpoint> endpoints() const { return {{"127.0.0.1", client_port_}}; }

 private:
  std::string dir_;
  uint16_t client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace gridpact::cluster::testing
