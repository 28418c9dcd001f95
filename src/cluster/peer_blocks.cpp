#include "cluster/peer_blocks.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "cluster/codes.hpp"

namespace gridpact::cluster {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr size_t kMaxAnswer = size_t{20} << 20;  // the API sends about 16 MiB at most

struct HostPort {
  std::string host, port;
};

Result<HostPort> parse_url(std::string_view url) {
  if (!url.starts_with("http://"))
    return error(Code::kInvalidArgument, "a peer is http://HOST:PORT, not " + std::string(url));
  url.remove_prefix(7);
  while (url.ends_with('/')) url.remove_suffix(1);
  auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size())
    return error(Code::kInvalidArgument, "a peer is http://HOST:PORT");
  return HostPort{std::string(url.substr(0, colon)), std::string(url.substr(colon + 1))};
}

}  // namespace

struct PeerBlocks::Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

PeerBlocks::PeerBlocks(std::chrono::milliseconds timeout) : timeout_(timeout) {}
PeerBlocks::~PeerBlocks() = default;

Result<std::vector<Block>> PeerBlocks::fetch(const std::string& url, uint64_t from,
                                             uint64_t count) {
  auto where = parse_url(url);
  if (!where) return where.status();
  if (url != url_) connection_.reset();
  url_ = url;
  std::string body;
  try {
    if (!connection_) {
      auto c = std::make_unique<Connection>();
      asio::ip::tcp::resolver resolver(c->io);
      auto addresses = resolver.resolve(where->host, where->port);
      c->stream.expires_after(timeout_);
      c->stream.connect(addresses);
      connection_ = std::move(c);
    }
    const std::string target =
        "/v1/blocks/encoded?from=" + std::to_string(from) + "&count=" + std::to_string(count);
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, where->host);
    req.keep_alive(true);
    connection_->stream.expires_after(timeout_);
    beast::http::write(connection_->stream, req);
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(kMaxAnswer);
    beast::http::read(connection_->stream, connection_->buffer, parser);
    auto res = parser.release();
    if (!res.keep_alive()) connection_.reset();
    if (res.result_int() != 200)
      return error(kPeerError, url + " answered " + std::to_string(res.result_int()) + " for " +
                                   target + ": " + res.body().substr(0, 300));
    body = std::move(res.body());
  } catch (const std::exception& e) {
    connection_.reset();
    return error(kPeerError, url + ": " + e.what());
  }
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
