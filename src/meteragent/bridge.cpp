#include "meteragent/bridge.hpp"

#include <spdlog/spdlog.h>

#include "attest/p256.hpp"

namespace gridpact::meteragent {

namespace {

bool signed_by(const meters::MeterInfo& m, const Hash32& digest, const Signature& sig) {
  if (m.platform == attest::Platform::kVirtual)
    return m.public_key.size() == PublicKey::kSize &&
           verify(PublicKey::from_span(m.public_key.data()), digest, sig);
  return m.public_key.size() == attest::kP256PointSize &&
         attest::verify_p256_digest(attest::P256Point::from_span(m.public_key.data()), digest,
                                    attest::P256Signature::from_span(sig.data()));
}

}  // namespace

MqttBridge::MqttBridge(Node& node, KeyPair relay, MqttOptions options,
                       std::chrono::milliseconds in_flight_timeout)
    : node_(node),
      relay_(std::move(relay)),
      options_(std::move(options)),
      in_flight_timeout_(in_flight_timeout) {
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
  // Judged as the chain will, against committed state, before it costs a transaction.
  auto meter = meters::find_meter(node_.store(), reading->meter_id);
  Status forged = !meter           ? error(meters::kMeterNotFound, "no such meter")
                  : meter->revoked ? error(meters::kMeterRevoked, "meter is revoked")
                  : !signed_by(*meter, meters::reading_digest(node_.genesis().chain_id, *reading),
                               reading->signature)
                      ? error(meters::kReadingBadSignature, "not signed by the meter's key")
                      : Status::ok();
  if (!forged) {
    ++stats_.forged;
    spdlog::warn("MQTT bridge: dropped a reading on '{}': {} {}", topic.substr(0, 128),
                 code_name(forged.code), static_cast<int>(forged.code));
    return forged;
  }
  const uint64_t committed =
      meters::last_reading(node_.store(), meter->id).value_or(meters::LastReading{}).seq;
  if (auto f = in_flight_.find(meter->id); f != in_flight_.end()) {
    // Delivered only when committed: a relayed reading that never made it is forgotten.
    if (f->second.seq <= committed || node_.store().find_tx(f->second.tx_id)) {
      in_flight_.erase(f);
    } else if (std::chrono::steady_clock::now() - f->second.submitted > in_flight_timeout_) {
      in_flight_.erase(f);
      nonce_known_ = false;  // the lost transaction's nonce was never used
    } else if (reading->seq <= f->second.seq) {
      ++stats_.duplicates;
      return Status::ok();
    }
  }
  if (reading->seq <= committed) {
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
      in_flight_[meter->id] = {reading->seq, *id, std::chrono::steady_clock::now()};
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
