// The meters' commands (src/cli/commands.hpp): gridpact tx meter-register | meter-revoke |
// reading | meter-policy, and gridpact query meter | meters | readings.
#pragma once

#include <memory>

#include "cli/commands.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::meters {

// A meter's signing platform (a virtual key or a TPM 2.0), as registration and readings
// need it. Opening one is the meter agent's business (src/meteragent), which a module does
// not include: the command line passes in how (MeterPlatforms).
class MeterSigner {
 public:
  virtual ~MeterSigner() = default;
  virtual Hash32 meter_id() const = 0;
  virtual Result<Signature> sign(const Hash32& digest) = 0;
  // The registration payload of `fields` for `owner`, with fresh evidence.
  virtual Result<RegisterPayload> registration(const std::string& chain_id, const PublicKey& owner,
                                               const RegisterPayload& fields) = 0;
};

// Adds the platform options (--platform and what it needs) to a command, and returns what
// opens the platform they name once the command line is parsed.
using OpenSigner = std::function<Result<std::unique_ptr<MeterSigner>>()>;
using MeterPlatforms = std::function<OpenSigner(CLI::App& cmd)>;

void add_commands(cli::CommandHost& host, const MeterPlatforms& platforms);

}  // namespace gridpact::meters
