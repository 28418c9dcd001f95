#include "http/testing_tls.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace gridpact::http {
namespace {

Status run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
    return error(Code::kInvalidArgument, "failed: " + command);
  return Status::ok();
}

// A P-256 CA named `name` in dir/name.pem, its key in dir/name.key.
Status make_ca(const std::string& dir, const std::string& name) {
  return run(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
      "/CN=" +
      name + " -keyout " + dir + "/" + name + ".key -out " + dir + "/" + name + ".pem");
}

// A certificate for 127.0.0.1 and localhost, for servers and clients, signed by `ca`.
Status make_cert(const std::string& dir, const std::string& ca, const std::string& name) {
  const std::string base = dir + "/" + name;
  std::ofstream(base + ".ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "extendedKeyUsage=serverAuth,clientAuth\n"
                                  "basicConstraints=CA:FALSE\n";
  if (Status s = run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "
                     "/CN=localhost -keyout " +
                     base + ".key -out " + base + ".csr");
      !s)
    return s;
  return run("openssl x509 -req -days 2 -in " + base + ".csr -CA " + dir + "/" + ca +
             ".pem -CAkey " + dir + "/" + ca + ".key -CAcreateserial -extfile " + base +
             ".ext -out " + base + ".pem");
}

}  // namespace

Result<TestPki> make_test_pki(const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (auto s : {make_ca(dir, "ca"), make_cert(dir, "ca", "node"), make_ca(dir, "other-ca"),
                 make_cert(dir, "other-ca", "other")})
    if (!s) return s;
  return TestPki{dir + "/ca.pem",       dir + "/node.pem",  dir + "/node.key",
                 dir + "/other-ca.pem", dir + "/other.pem", dir + "/other.key"};
}

}  // namespace gridpact::http
