// A small MQTT client over libmosquitto for the meter agent (publisher) and the node's
// bridge (subscriber). At-least-once delivery end to end:
//   - QoS 1 both ways; the client id is fixed and clean_session is false, so the broker
//     keeps the subscriber's session (subscriptions and queued messages) across
//     disconnects and, with persistence on, across its own restarts;
//   - libmosquitto's network thread reconnects by itself and re-sends unacknowledged
//     QoS 1 publications; flush() waits until the broker acknowledged every one.
// Topic of a meter's readings: gridpact/meters/<meter id hex>/readings; the payload is the
// canonical reading encoding (modules/meters).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "modules/meters/meters.hpp"

namespace gridpact::meteragent {

constexpr std::string_view kReadingsSubscription = "gridpact/meters/+/readings";
std::string reading_topic(const Hash32& meter_id);
// Decodes a message of the readings topic: MALFORMED_READING if the payload does not
// decode, TOPIC_MISMATCH if the topic names another meter than the reading (or is not a
// readings topic).
Result<meters::Reading> parse_reading_message(std::string_view topic, const uint8_t* payload,
                                              size_t size);

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // fixed per meter / per node: the broker keys sessions by it
  int keepalive_s = 10;
  // Broker authentication (empty: anonymous) and TLS (empty CA file: plain TCP). With a
  // CA file the broker's certificate is verified against it; a client certificate and key
  // are sent if given.
  std::string username{}, password{};
  std::string tls_ca_file{}, tls_cert_file{}, tls_key_file{};
};

class MqttClient {
 public:
  using OnMessage =
      std::function<void(const std::string& topic, const uint8_t* payload, size_t size)>;

  static Result<std::unique_ptr<MqttClient>> connect(const MqttOptions& options,
                                                     OnMessage on_message = nullptr);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // QoS 1; returns once the broker acknowledged the subscription.
  Status subscribe(std::string_view pattern);
  Status publish(const std::string& topic, const Bytes& payload);  // QoS 1
  // Waits until every publication so far is acknowledged by the broker.
  Status flush(std::chrono::milliseconds timeout);
  bool connected() const;
  uint64_t connects() const;  // successful (re)connections so far

  struct Impl;

 private:
  explicit MqttClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridpact::meteragent
