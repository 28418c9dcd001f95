#include "cluster/validators.hpp"

#include <fstream>

namespace gridpact::cluster {

Result<std::vector<PublicKey>> read_validator_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(Code::kInvalidArgument, "cannot read " + path);
  std::vector<PublicKey> out;
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find_first_of(" #\t\r"));
    if (line.empty()) continue;
    auto key = PublicKey::from_hex(line);
    if (!key) return error(Code::kInvalidArgument, path + ": not a public key: " + line);
    if (out.size() == 100) return error(Code::kInvalidArgument, path + ": more than 100 keys");
    out.push_back(*key);
  }
  return out;
}

}  // namespace gridpact::cluster
