// The node's MQTT bridge (library gridpact_meterbridge): subscribes to
// gridpact/meters/+/readings with QoS 1 in a persistent session, wraps each reading in a
// meters/reading transaction signed by a relay key, and submits it to the node.
//
// Anyone who can publish to the broker can send anything, so a reading is judged as the
// chain will judge it before it is relayed, against committed state: the meter must be
// registered and not revoked, and the reading signed by the meter's registered key
// (otherwise FORGED: METER_NOT_FOUND, METER_REVOKED or READING_BAD_SIGNATURE). Its
// sequence number must be above the last one committed for the meter and above the one
// of a relayed reading still on its way (else a duplicate: an MQTT redelivery). A relayed
// reading counts as delivered only once it is committed: if it is not committed within
// `in_flight_timeout` (default kInFlightTimeout; dropped by the node), a later copy is
// relayed again, under a nonce read again from committed state (the lost one took its
// nonce with it).
// A forged message, whatever sequence number it claims, changes nothing for the meter.
//
// Malformed payloads (MALFORMED_READING, TOPIC_MISMATCH) are logged with their code, the
// topic and the payload size -- never the payload or a key -- and dropped.
#pragma once

#include <atomic>
#include <chrono>
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
  uint64_t forged = 0;   // unknown or revoked meter, or not its signature
  uint64_t refused = 0;  // refused by the mempool
};

class MqttBridge {
 public:
  static constexpr std::chrono::seconds kInFlightTimeout{60};
  MqttBridge(Node& node, KeyPair relay, MqttOptions options,
             std::chrono::milliseconds in_flight_timeout = kInFlightTimeout);
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
  std::chrono::milliseconds in_flight_timeout_;
  std::unique_ptr<MqttClient> client_;
  mutable std::mutex mu_;
  uint64_t next_nonce_ = 0;
  bool nonce_known_ = false;
  struct InFlight {
    uint64_t seq = 0;
    Hash32 tx_id;
    std::chrono::steady_clock::time_point submitted;
  };
  // Relayed readings not yet seen committed, per meter (bounded: one per registered meter).
  std::map<Hash32, InFlight> in_flight_;
  BridgeStats stats_;
};

}  // namespace gridpact::meteragent
