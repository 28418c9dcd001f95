// A private swtpm (the TPM 2.0 emulator) for tests, benchmarks and `gridpact simulate
// --tpm`: manufactured with EK certificates under a private local CA, listening on a free
// loopback port, stopped by its process id when the object goes. An emulator, not a
// security boundary: its PCR 16 is resettable, so chains that accept its meters are
// development chains (verifier.hpp).
//
// swtpm_setup is given its own configuration, so its local CA lives in the temporary
// directory (ca/) instead of the shared /var/lib/swtpm-localca: tests need neither root
// nor a writable system directory, and never share a CA.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/error.hpp"

namespace gridpact::attest {

class SwtpmProcess {
 public:
  // True if swtpm and swtpm_setup are on PATH.
  static bool available();
  // SWTPM_NOT_INSTALLED if they are not. Otherwise swtpm_setup --tpm2 --create-ek-cert into a fresh
  // temporary directory, then swtpm socket on 127.0.0.1:P (command) and P+1 (control), waiting
  // until it accepts.
  static Result<std::unique_ptr<SwtpmProcess>> start();
  // The swtpm gets SIGTERM when the thread that called start() ends (PR_SET_PDEATHSIG),
  // so call it from a thread that outlives the object (not a short-lived worker).
  // SIGTERM (then SIGKILL after 2 s) to the recorded pid, and removes the directory.
  ~SwtpmProcess();

  std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  // The manufacturer root and issuing CA of this TPM's EK certificates (PEM files).
  std::string ek_root_pem_path() const { return dir_ + "/ca/swtpm-localca-rootca-cert.pem"; }
  std::string ek_issuer_pem_path() const { return dir_ + "/ca/issuercert.pem"; }

 private:
  SwtpmProcess() = default;
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Reads a whole file (tests load the CA PEMs with it).
Result<std::string> read_text_file(const std::string& path);

}  // namespace gridpact::attest
