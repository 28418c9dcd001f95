// A small client of etcd's v3 API through its JSON gateway (etcd 3.4: POST /v3/kv/range,
// /v3/kv/txn, /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke; keys and values in
// base64, 64-bit numbers as decimal strings), over HTTP/1.1 with Boost.Beast.
//
// Why the gateway and not gRPC: the gateway is part of every etcd 3.4 server, the project
// already speaks HTTP with Beast and JSON with nlohmann, and it needs no generated code,
// no protoc step and no libgrpc++ (a large dependency for the five calls we make). A
// watch is not needed: followers poll the next block key with a bound (a few ms), which
// also needs no streaming. What we lose: nothing for our use; the gateway maps one-to-one
// onto the gRPC messages.
//
// One client holds one keep-alive connection at a time (http::Client), to one of the
// endpoints; on a connection error it moves on to the next endpoint. A call takes at most
// `timeout` in all, whichever members it tries: a member that went silent (a partition)
// costs one call, and the next call starts with the next member. An `https://` endpoint
// is reached over TLS: etcd's certificate is verified against the CA file given (etcd's
// --trusted-ca-file side), and a client certificate is sent when one is given (for etcd's
// --client-cert-auth). Calls are serialised (a mutex): give
// each thread that needs its own pace its own client.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "http/client.hpp"

namespace gridpact::cluster {

struct EtcdEndpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
};

// "etcd://ENDPOINT,ENDPOINT,..." or "ENDPOINT,...", each HOST:PORT, http://HOST:PORT or
// https://HOST:PORT (TLS).
Result<std::vector<EtcdEndpoint>> parse_etcd_endpoints(std::string_view spec);

struct EtcdKv {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

struct EtcdRange {
  std::vector<EtcdKv> kvs;
  int64_t revision = 0;  // the store's revision when read
  bool more = false;     // the limit cut the answer short
};

// One condition of a transaction: the key's version (0: absent), or the lease it is
// attached to, equals `value`.
struct EtcdCompare {
  enum class Target { kVersion, kLease };
  std::string key;
  Target target = Target::kVersion;
  int64_t value = 0;
};

// One write of a transaction: a put (with a lease, or 0) or a delete of one key.
struct EtcdOp {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key, value;
  int64_t lease = 0;
  static EtcdOp put(std::string key, std::string value, int64_t lease = 0) {
    return {Kind::kPut, std::move(key), std::move(value), lease};
  }
  static EtcdOp del(std::string key) { return {Kind::kDelete, std::move(key), {}, 0}; }
};

// The first key after every key that starts with `prefix`.
std::string prefix_end(std::string prefix);

class EtcdClient {
 public:
  EtcdClient(std::vector<EtcdEndpoint> endpoints,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
             http::TlsClientFiles tls = {});
  ~EtcdClient();

  // Keys in [key, range_end) (range_end empty: key alone), at most `limit` (0: all), only
  // those modified at or after `min_mod_revision` (0: any).
  Result<EtcdRange> range(const std::string& key, const std::string& range_end = {},
                          int64_t limit = 0, int64_t min_mod_revision = 0);
  Status put(const std::string& key, const std::string& value, int64_t lease = 0);
  // All conditions hold: the writes are done, true; otherwise nothing is written, false.
  Result<bool> txn(const std::vector<EtcdCompare>& compare, const std::vector<EtcdOp>& success);
  // A new lease of `ttl_seconds`; its id.
  Result<int64_t> grant(int64_t ttl_seconds);
  // Renews the lease; its remaining TTL in seconds, 0 if it has expired.
  Result<int64_t> keepalive(int64_t lease);
  Status revoke(int64_t lease);

 private:
  // POSTs `body` to `path`; the answer's JSON text, or why not.
  Result<std::string> post(const std::string& path, const std::string& body);
  std::vector<EtcdEndpoint> endpoints_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  size_t current_ = 0;
  http::Client http_;
};

}  // namespace gridpact::cluster
