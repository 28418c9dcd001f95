#include "cluster/testing.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/testing.hpp"

namespace gridpact::cluster::testing {

EtcdProcess::EtcdProcess() {
  char tmpl[] = "/tmp/gridpact-etcd-XXXXXX";
  dir_ = mkdtemp(tmpl);
}

EtcdProcess::~EtcdProcess() {
  stop();
  std::filesystem::remove_all(dir_);
}

void EtcdProcess::use_tls(std::string ca, std::string cert, std::string key,
                          bool client_cert_auth) {
  client_tls_ = {ca, client_cert_auth ? cert : "", client_cert_auth ? key : ""};
  tls_ca_ = std::move(ca);
  tls_cert_ = std::move(cert);
  tls_key_ = std::move(key);
  client_cert_auth_ = client_cert_auth;
}

bool EtcdProcess::start() {
  client_port_ = gridpact::testing::free_loopback_port();
  peer_port_ = gridpact::testing::free_loopback_port();
  const std::string client = (tls_cert_.empty() ? "http://127.0.0.1:" : "https://127.0.0.1:") +
                             std::to_string(client_port_);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::string data = dir_ + "/data", log = dir_ + "/etcd.log";
  std::vector<std::string> args{"etcd",        "--name",
                                "test",        "--data-dir",
                                data,          "--listen-client-urls",
                                client,        "--advertise-client-urls",
                                client,        "--listen-peer-urls",
                                peer,          "--initial-advertise-peer-urls",
                                peer,          "--initial-cluster",
                                "test=" + peer};
  if (!tls_cert_.empty()) {
    args.insert(args.end(),
                {"--cert-file", tls_cert_, "--key-file", tls_key_, "--trusted-ca-file", tls_ca_});
    if (client_cert_auth_) args.push_back("--client-cert-auth");
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Prepared before fork(): the child of a threaded process only makes system calls.
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // Dies with the test (a crashed test must not leave etcd running), and keeps none of
    // the test's output pipes open: ctest waits for them to close, and would wait out its
    // timeout behind an orphaned etcd.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent || null_fd < 0 || log_fd < 0) _exit(126);
    dup2(null_fd, STDIN_FILENO);  // dup2 clears O_CLOEXEC on the copies
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execvp("etcd", argv.data());
    _exit(127);
  }
  if (null_fd >= 0) close(null_fd);
  if (log_fd >= 0) close(log_fd);
  EtcdClient client_check(endpoints(), std::chrono::milliseconds(500), client_tls_);
  for (int i = 0; i < 150; ++i) {
    if (client_check.range("probe")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void EtcdProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace gridpact::cluster::testing
