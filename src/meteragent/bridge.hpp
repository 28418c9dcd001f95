// The node's MQTT bridge (library gridpact_meterbridge): subscribes to
// gridpact/meters/+/readings with QoS 1 in a persistent session, wraps each reading in a
// meters/reading transaction signed by a relay key, and submits it to the node. A reading
// is judged by the meter's own signature on chain; the relay only pays the nonce.
//
// Malformed payloads (MALFORMED_READING, TOPIC_MISMATCH) are logged with their code, the
// topic and the payload size -- never the payload or a key -- and dropped. A reading whose
// sequence number is not above the last one this bridge submitted for that meter is an
// MQTT redelivery (at-least-once) and is dropped before it costs a transaction.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "meteragent/mqtt.hpp"
#include "node/node.hpp"

namespace gridpact::meteragent {

struct BridgeStats {
  uint64_t received = 0;
  uint64_t submitted = 0;
  uint64_t duplicates = 0;
  uint64_t malformed = 0;
  uint64_t refused = 0;  // refused by the mempool
};

class MqttBridge {
 public:
  MqttBridge(Node& node, KeyPair relay, MqttOptions options);
  ~MqttBridge();
  Status start();
  void stop();
  BridgeStats stats() const;
  // One message, as the subscription delivers it (public for tests and fuzzing).
  Status handle(const std::string& topic, const uint8_t* payload, size_t size);

 private:
  Node& node_;
  KeyPair relay_;
  MqttOptions options_;
  std::unique_ptr<MqttClient> client_;
  mutable std::mutex mu_;
  uint64_t next_nonce_ = 0;
  bool nonce_known_ = false;
  std::map<Hash32, uint64_t> last_seq_;
  BridgeStats stats_;
};

}  // namespace gridpact::meteragent
