#include "attest/swtpm_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "attest/codes.hpp"
#include "base/testing.hpp"

namespace gridpact::attest {
namespace {

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  return false;
}

// fork + execvp with stdout/stderr appended to `log`; returns the child's pid. Everything
// the child needs is prepared before fork(), so the child only makes system calls.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) {
    if (fd >= 0) close(fd);
    return pid;
  }
  // Stopped with the thread that started it, however that ends (a killed `gridpact
  // simulate --tpm` leaves no swtpm behind); the check covers a parent already gone.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);
  if (fd >= 0) {
    dup2(fd, 1);  // dup2 clears O_CLOEXEC on the copies
    dup2(fd, 2);
  }
  execvp(args[0], args.data());
  _exit(127);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return error(Code::kNotFound, "cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool SwtpmProcess::available() {
  return on_path("swtpm") && on_path("swtpm_setup");
}

Result<std::unique_ptr<SwtpmProcess>> SwtpmProcess::start() {
  register_attest_codes();
  if (!available())
    return error(kSwtpmNotInstalled,
                 "swtpm or swtpm_setup is not on PATH (Debian packages swtpm, swtpm-tools; "
                 "scripts/install-deps.sh installs them)");
  std::unique_ptr<SwtpmProcess> p(new SwtpmProcess);
  std::string tmpl = (std::filesystem::temp_directory_path() / "gridpact-swtpm-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return error(Code::kStorage, "mkdtemp failed");
  p->dir_ = tmpl;
  const std::string& d = p->dir_;
  std::filesystem::create_directories(d + "/ca");
  std::filesystem::create_directories(d + "/state");
  write_file(d + "/localca.conf", "statedir = " + d + "/ca\nsigningkey = " + d +
                                      "/ca/signkey.pem\nissuercert = " + d +
                                      "/ca/issuercert.pem\ncertserial = " + d + "/ca/certserial\n");
  write_file(d + "/localca.options",
             "--platform-manufacturer GridPact\n--platform-version 2.1\n--platform-model swtpm\n");
  write_file(d + "/setup.conf",
             "create_certs_tool = /usr/bin/swtpm_localca\n"
             "create_certs_tool_config = " +
                 d +
                 "/localca.conf\n"
                 "create_certs_tool_options = " +
                 d +
                 "/localca.options\n"
                 "active_pcr_banks = sha256\n");
  pid_t setup = spawn({"swtpm_setup", "--tpm2", "--tpmstate", d + "/state", "--create-ek-cert",
                       "--config", d + "/setup.conf", "--overwrite"},
                      d + "/setup.log");
  int status = 0;
  if (setup < 0 || waitpid(setup, &status, 0) != setup || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return error(Code::kStorage, "swtpm_setup failed; see " + d + "/setup.log");

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> dist(20000, 60000);
  for (int attempt = 0; attempt < 20; ++attempt) {
    int port = dist(rng);
    if (!testing::loopback_port_free(static_cast<uint16_t>(port)) ||
        !testing::loopback_port_free(static_cast<uint16_t>(port + 1)))
      continue;
    std::string ctrl = "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1";
    std::string server = "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1";
    pid_t pid = spawn({"swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + d + "/state", "--server",
                       server, "--ctrl", ctrl, "--flags", "not-need-init,startup-clear"},
                      d + "/swtpm.log");
    if (pid < 0) return error(Code::kStorage, "fork failed");
    for (int i = 0; i < 250; ++i) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;  // exited, most likely lost a race for the port: try another
        break;
      }
      if (testing::loopback_accepts(static_cast<uint16_t>(port))) {
        p->pid_ = pid;
        p->port_ = port;
        return p;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }
  return error(Code::kTimeout, "swtpm did not start; see " + d + "/swtpm.log");
}

SwtpmProcess::~SwtpmProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = waitpid(pid_, &status, WNOHANG) == pid_;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (!dir_.empty() && !std::getenv("GRIDPACT_KEEP_SWTPM")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace gridpact::attest
