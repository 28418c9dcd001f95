// A meter's signing platform on the command line: for gridpact meter-agent, and for the
// meters module's meter-register and reading (src/modules/meters/cli.hpp).
#include <spdlog/spdlog.h>

#include "app.hpp"
#include "meter_cli.hpp"

namespace gridpact::cli {

void add_platform_options(CLI::App& cmd, PlatformArgs& a) {
  cmd.add_option("--platform", a.platform, "Meter platform: virtual (INSECURE) or tpm2")
      ->check(CLI::IsMember({"virtual", "tpm2"}));
  cmd.add_option("--meter-key", a.meter_key, "virtual: the meter's Ed25519 key file");
  cmd.add_option("--tpm", a.tpm, "tpm2: TCTI, e.g. swtpm:host=127.0.0.1,port=2321");
  cmd.add_option("--state", a.state, "tpm2: the meter's state directory (key blobs, AK chain)");
}

Result<std::unique_ptr<meteragent::Platform>> open_platform(const PlatformArgs& a) {
  if (a.platform == "tpm2") {
    if (a.tpm.empty() || a.state.empty())
      return error(Code::kInvalidArgument, "--platform tpm2 needs --tpm and --state");
    return meteragent::tpm2_platform(a.tpm, a.state);
  }
  if (a.meter_key.empty())
    return error(Code::kInvalidArgument, "--platform virtual needs --meter-key");
  auto key = read_key_file(a.meter_key);
  if (!key) return key.status();
  spdlog::warn("virtual meter: software key, no hardware attestation. INSECURE.");
  return meteragent::virtual_platform(*key);
}

namespace {

// The meter agent's platforms as the meters module's commands see them.
class AgentSigner final : public meters::MeterSigner {
 public:
  explicit AgentSigner(std::unique_ptr<meteragent::Platform> platform)
      : platform_(std::move(platform)) {}
  Hash32 meter_id() const override { return platform_->meter_id(); }
  Result<Signature> sign(const Hash32& digest) override { return platform_->sign(digest); }
  Result<meters::RegisterPayload> registration(const std::string& chain_id, const PublicKey& owner,
                                               const meters::RegisterPayload& fields) override {
    auto p = meteragent::registration(*platform_, chain_id, owner, fields);
    if (p)
      spdlog::info("registering meter {} ({})", platform_->meter_id().hex(),
                   platform_->insecure() ? "virtual, INSECURE" : "tpm2");
    return p;
  }

 private:
  std::unique_ptr<meteragent::Platform> platform_;
};

}  // namespace

meters::MeterPlatforms meter_platforms() {
  return [](CLI::App& cmd) -> meters::OpenSigner {
    auto a = std::make_shared<PlatformArgs>();
    add_platform_options(cmd, *a);
    return [a]() -> Result<std::unique_ptr<meters::MeterSigner>> {
      auto platform = open_platform(*a);
      if (!platform) return platform.status();
      return std::unique_ptr<meters::MeterSigner>(
          std::make_unique<AgentSigner>(std::move(platform).value()));
    };
  };
}

}  // namespace gridpact::cli
