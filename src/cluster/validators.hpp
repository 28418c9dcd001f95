// A cluster's validator set file: public keys in hex, one a line ('#' comments).
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "crypto/keys.hpp"

namespace gridpact::cluster {

Result<std::vector<PublicKey>> read_validator_file(const std::string& path);

}  // namespace gridpact::cluster
