#include "meteragent/bridge.hpp"

#include <spdlog/spdlog.h>

namespace gridpact::meteragent {

MqttBridge::MqttBridge(Node& node, KeyPair relay, MqttOptions options)
    : node_(node), relay_(std::move(relay)), options_(std::move(options)) {
  if (options_.client_id.empty()) options_.client_id = "gridpact-node-" + node.genesis().chain_id;
}

MqttBridge::~MqttBridge() {
  stop();
}

Status MqttBridge::start() {
  auto c = MqttClient::connect(options_, [this](const std::string& topic, const uint8_t* p,
                                                size_t n) { (void)handle(topic, p, n); });
  if (!c) return c.status();
  client_ = std::move(c).value();
  if (Status s = client_->subscribe(kReadingsSubscription); !s) return s;
  spdlog::info("MQTT bridge: subscribed to {} on {}:{} as '{}' (QoS 1, persistent session)",
               kReadingsSubscription, options_.host, options_.port, options_.client_id);
  return Status::ok();
}

void MqttBridge::stop() {
  client_.reset();
}

BridgeStats MqttBridge::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Status MqttBridge::handle(const std::string& topic, const uint8_t* payload, size_t size) {
  std::lock_guard lock(mu_);
  ++stats_.received;
  auto reading = parse_reading_message(topic, payload, size);
  if (!reading) {
    ++stats_.malformed;
    spdlog::warn("MQTT bridge: dropped a message on '{}' ({} bytes): {} {}", topic.substr(0, 128),
                 size, code_name(reading.status().code), static_cast<int>(reading.status().code));
    return reading.status();
  }
  auto last = last_seq_.find(reading->meter_id);
  if (last != last_seq_.end() && reading->seq <= last->second) {
    ++stats_.duplicates;
    return Status::ok();
  }
  // Nonces: the committed one on first use, then counted here; resynchronised whenever
  // the mempool disagrees (another process used the relay key, or a restart).
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!nonce_known_) {
      next_nonce_ = get_u64(node_.store(), nonce_key(relay_.public_key()));
      nonce_known_ = true;
    }
    Transaction tx;
    tx.chain_id = node_.genesis().chain_id;
    tx.nonce = next_nonce_;
    tx.type = meters::kReading;
    tx.payload = meters::encode(*reading);
    tx.sign(relay_);
    auto id = node_.submit(std::move(tx));
    if (id) {
      ++next_nonce_;
      ++stats_.submitted;
      last_seq_[reading->meter_id] = reading->seq;
      return Status::ok();
    }
    Code c = id.status().code;
    if (c == Code::kNonceReused || c == Code::kNonceTooFar || c == Code::kNonceMismatch) {
      nonce_known_ = false;
      continue;
    }
    ++stats_.refused;
    spdlog::warn("MQTT bridge: node refused a reading of meter {}: {}",
                 reading->meter_id.hex().substr(0, 16), id.status().to_string());
    return id.status();
  }
  ++stats_.refused;
  return error(Code::kNonceMismatch, "relay nonce out of step");
}

}  // namespace gridpact::meteragent
