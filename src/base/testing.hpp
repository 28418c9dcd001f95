// Loopback helpers for tests that start real servers (etcd, mosquitto, swtpm, PostgreSQL)
// on 127.0.0.1: which port to give one, and when it is up.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace gridpact::testing {

inline sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port the kernel handed out for a moment and nobody listens on now (0 if none could be
// had). Another process may take it before the caller's server binds it: callers retry.
inline uint16_t free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = loopback_address(0);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// `call` (bind or connect) on a fresh TCP socket and loopback `port`: true if it succeeded.
inline bool loopback_call(uint16_t port, int (*call)(int, const sockaddr*, socklen_t)) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr = loopback_address(port);
  bool ok = call(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// True if `port` could be bound on loopback now.
inline bool loopback_port_free(uint16_t port) {
  return loopback_call(port, ::bind);
}

// True if something accepts connections on `port` on loopback.
inline bool loopback_accepts(uint16_t port) {
  return loopback_call(port, ::connect);
}

}  // namespace gridpact::testing
