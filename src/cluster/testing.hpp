// Tests' own etcd: one member on loopback, free ports, a temporary data directory,
// stopped (SIGKILL: its data is thrown away) when the object goes. With `use_tls`, it
// serves its clients over TLS only (https://, the certificate and CA given) and, with
// `client_cert_auth`, only to clients whose certificate that CA signed.
#pragma once

#include <sys/types.h>

#include <string>

#include "cluster/etcd_client.hpp"

namespace gridpact::cluster::testing {

class EtcdProcess {
 public:
  EtcdProcess();
  ~EtcdProcess();
  // Before start(): serve clients over TLS with `server` (cert, key) trusting `ca`.
  void use_tls(std::string ca, std::string cert, std::string key, bool client_cert_auth);
  // What a client needs to reach it (empty when it speaks plain HTTP).
  http::TlsClientFiles client_tls() const { return client_tls_; }
  // Starts etcd and waits until it answers; false if it did not within 15 s. etcd dies
  // with the thread that called this (PR_SET_PDEATHSIG): call it from the test's own.
  bool start();
  void stop();
  uint16_t client_port() const { return client_port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::vector<EtcdEndpoint> endpoints() const {
    return {{"127.0.0.1", client_port_, !tls_cert_.empty()}};
  }

 private:
  std::string dir_;
  uint16_t client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
  std::string tls_ca_, tls_cert_, tls_key_;
  bool client_cert_auth_ = false;
  http::TlsClientFiles client_tls_;
};

}  // namespace gridpact::cluster::testing
