// For tests: a throw-away public key infrastructure made with the openssl command, so that
// TLS is tested against certificates no test shares with another.
#pragma once

#include <string>

#include "base/error.hpp"

namespace gridpact::http {

struct TestPki {
  std::string ca;                     // the CA's certificate (PEM)
  std::string cert, key;              // a certificate for 127.0.0.1 and localhost (server and
                                      // client use) signed by `ca`, and its key
  std::string other_ca;               // an unrelated CA: verifying with it must fail
  std::string other_cert, other_key;  // a certificate for 127.0.0.1 signed by `other_ca`
};

// Writes the files into `dir` (created if missing); the openssl command must be installed.
Result<TestPki> make_test_pki(const std::string& dir);

}  // namespace gridpact::http
