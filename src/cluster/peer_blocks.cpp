#include "cluster/peer_blocks.hpp"

#include "cluster/codes.hpp"

namespace gridpact::cluster {

namespace {

constexpr size_t kMaxAnswer = size_t{20} << 20;  // the API sends about 16 MiB at most

}  // namespace

PeerBlocks::PeerBlocks(std::chrono::milliseconds timeout, http::TlsClientFiles tls)
    : http_(timeout, kMaxAnswer, std::move(tls)) {}
PeerBlocks::~PeerBlocks() = default;

Result<std::vector<Block>> PeerBlocks::fetch(const std::string& url, uint64_t from,
                                             uint64_t count) {
  auto where = http::parse_origin(url);
  if (!where) return where.status();
  const std::string target =
      "/v1/blocks/encoded?from=" + std::to_string(from) + "&count=" + std::to_string(count);
  auto res = http_.request(*where, "GET", target);
  if (!res) return error(kPeerError, res.status().message);
  if (res->status != 200)
    return error(kPeerError, url + " answered " + std::to_string(res->status) + " for " + target +
                                 ": " + res->body.substr(0, 300));
  const std::string& body = res->body;
  std::vector<Block> blocks;
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 4 || blocks.size() >= count)
      return error(kPeerError, url + " sent more, or other, than blocks");
    const size_t n = (size_t{p[at]} << 24) | (size_t{p[at + 1]} << 16) | (size_t{p[at + 2]} << 8) |
                     size_t{p[at + 3]};
    at += 4;
    if (n > body.size() - at) return error(kPeerError, url + " sent a cut-off block");
    auto block = Block::decode(p + at, n);
    if (!block) return error(kPeerError, url + " sent a block that does not decode");
    blocks.push_back(std::move(*block));
    at += n;
  }
  return blocks;
}

}  // namespace gridpact::cluster
