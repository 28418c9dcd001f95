#include "meteragent/mqtt.hpp"

#include <mosquitto.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace gridpact::meteragent {

std::string reading_topic(const Hash32& meter_id) {
  return "gridpact/meters/" + meter_id.hex() + "/readings";
}

Result<meters::Reading> parse_reading_message(std::string_view topic, const uint8_t* payload,
                                              size_t size) {
  meters::register_meter_codes();
  auto r = meters::decode_reading(payload, size);
  if (!r) return error(meters::kMalformedReading, "payload: " + r.status().to_string());
  if (topic != reading_topic(r->meter_id))
    return error(meters::kTopicMismatch, "the topic does not name the reading's meter");
  return r;
}

namespace {
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}
}  // namespace

struct MqttClient::Impl {
  mosquitto* mosq = nullptr;
  OnMessage on_message;
  std::string subscription;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::set<int> unacked;
  std::set<int> acked_early;
  bool is_connected = false;
  int refused = 0;        // the broker's last CONNACK refusal (bad credentials...): 0 if none
  int first_failure = 0;  // why the connection ended before it was ever accepted (TLS...)
  uint64_t connects = 0;
  uint64_t subacks = 0;

  ~Impl() {
    if (mosq) {
      mosquitto_disconnect(mosq);
      mosquitto_loop_stop(mosq, false);
      mosquitto_destroy(mosq);
    }
  }
};

namespace {

void on_connect(mosquitto* m, void* obj, int rc) {
  auto* impl = static_cast<MqttClient::Impl*>(obj);
  std::string sub;
  {
    std::lock_guard lock(impl->mu);
    impl->is_connected = rc == 0;
    impl->refused = rc;
    if (rc == 0) ++impl->connects;
    sub = impl->subscription;
  }
  // The broker remembers a persistent session's subscription, but subscribing again is
  // harmless and covers a broker that lost its state.
  if (rc == 0 && !sub.empty()) mosquitto_subscribe(m, nullptr, sub.c_str(), 1);
  impl->cv.notify_all();
}

void on_disconnect(mosquitto*, void* obj, int rc) {
  auto* impl = static_cast<MqttClient::Impl*>(obj);
  {
    std::lock_guard lock(impl->mu);
    impl->is_connected = false;
    if (impl->connects == 0) impl->first_failure = rc;
  }
  impl->cv.notify_all();
}

void on_publish(mosquitto*, void* obj, int mid) {
  auto* impl = static_cast<MqttClient::Impl*>(obj);
  {
    std::lock_guard lock(impl->mu);
    if (!impl->unacked.erase(mid)) impl->acked_early.insert(mid);
  }
  impl->cv.notify_all();
}

void on_subscribe(mosquitto*, void* obj, int, int, const int*) {
  auto* impl = static_cast<MqttClient::Impl*>(obj);
  {
    std::lock_guard lock(impl->mu);
    ++impl->subacks;
  }
  impl->cv.notify_all();
}

void on_message(mosquitto*, void* obj, const mosquitto_message* msg) {
  auto* impl = static_cast<MqttClient::Impl*>(obj);
  if (impl->on_message)
    impl->on_message(msg->topic, static_cast<const uint8_t*>(msg->payload),
                     static_cast<size_t>(msg->payloadlen));
}

Status mqtt_error(int rc, const std::string& what) {
  return error(Code::kStorage, what + ": " + mosquitto_strerror(rc));
}

}  // namespace

MqttClient::MqttClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MqttClient::~MqttClient() = default;

Result<std::unique_ptr<MqttClient>> MqttClient::connect(const MqttOptions& o, OnMessage fn) {
  init_library();
  if (o.client_id.empty()) return error(Code::kInvalidArgument, "MQTT client id is required");
  auto impl = std::make_unique<Impl>();
  impl->on_message = std::move(fn);
  impl->mosq = mosquitto_new(o.client_id.c_str(), /*clean_session=*/false, impl.get());
  if (!impl->mosq) return error(Code::kStorage, "mosquitto_new failed");
  mosquitto_int_option(impl->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(impl->mosq, on_connect);
  mosquitto_disconnect_callback_set(impl->mosq, on_disconnect);
  mosquitto_publish_callback_set(impl->mosq, on_publish);
  mosquitto_subscribe_callback_set(impl->mosq, on_subscribe);
  mosquitto_message_callback_set(impl->mosq, meteragent::on_message);
  mosquitto_reconnect_delay_set(impl->mosq, 1, 2, false);
  // One publication in flight at a time: after a reconnect libmosquitto re-sends the
  // unacknowledged one before anything queued behind it, so readings stay in sequence
  // order (with more in flight, newer ones can overtake the re-sent backlog, and the
  // ledger would then refuse the older ones as replays). A meter sends one per period.
  mosquitto_max_inflight_messages_set(impl->mosq, 1);
  if (!o.username.empty()) {
    int auth = mosquitto_username_pw_set(impl->mosq, o.username.c_str(),
                                         o.password.empty() ? nullptr : o.password.c_str());
    if (auth != MOSQ_ERR_SUCCESS) return mqtt_error(auth, "MQTT username");
  }
  if (!o.tls_ca_file.empty()) {
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    int tls = mosquitto_tls_set(impl->mosq, o.tls_ca_file.c_str(), nullptr, opt(o.tls_cert_file),
                                opt(o.tls_key_file), nullptr);
    if (tls != MOSQ_ERR_SUCCESS) return mqtt_error(tls, "MQTT TLS files");
  }
  int rc = mosquitto_connect(impl->mosq, o.host.c_str(), o.port, o.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS)
    return mqtt_error(rc, "cannot connect to MQTT broker " + o.host + ":" + std::to_string(o.port));
  rc = mosquitto_loop_start(impl->mosq);
  if (rc != MOSQ_ERR_SUCCESS) return mqtt_error(rc, "mosquitto_loop_start");
  {
    std::unique_lock lock(impl->mu);
    // A refusal (bad credentials) would be retried for ever: say so now, with the reason.
    if (!impl->cv.wait_for(lock, std::chrono::seconds(10), [&] {
          return impl->is_connected || impl->refused != 0 || impl->first_failure != 0;
        }))
      return error(Code::kTimeout, "MQTT broker did not accept the connection");
    if (impl->refused != 0)
      return error(Code::kStorage, std::string("MQTT broker refused the connection: ") +
                                       mosquitto_connack_string(impl->refused));
    if (!impl->is_connected)
      return mqtt_error(impl->first_failure,
                        "cannot connect to MQTT broker " + o.host + ":" + std::to_string(o.port));
  }
  return std::unique_ptr<MqttClient>(new MqttClient(std::move(impl)));
}

Status MqttClient::subscribe(std::string_view pattern) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->subscription = std::string(pattern);
  }
  uint64_t before;
  {
    std::lock_guard lock(impl_->mu);
    before = impl_->subacks;
  }
  int rc = mosquitto_subscribe(impl_->mosq, nullptr, impl_->subscription.c_str(), 1);
  if (rc != MOSQ_ERR_SUCCESS) return mqtt_error(rc, "subscribe");
  // Until the broker acknowledges, publications would find no session to queue them in.
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, std::chrono::seconds(10), [&] { return impl_->subacks > before; }))
    return error(Code::kTimeout, "MQTT broker did not acknowledge the subscription");
  return Status::ok();
}

Status MqttClient::publish(const std::string& topic, const Bytes& payload) {
  int mid = 0;
  int rc = MOSQ_ERR_NO_CONN;
  // While the broker is away, wait for the network thread to reconnect (up to a minute)
  // rather than drop the reading.
  for (int tries = 0; tries < 600; ++tries) {
    rc = mosquitto_publish(impl_->mosq, &mid, topic.c_str(), static_cast<int>(payload.size()),
                           payload.data(), 1, false);
    if (rc != MOSQ_ERR_NO_CONN) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (rc != MOSQ_ERR_SUCCESS) return mqtt_error(rc, "publish");
  std::lock_guard lock(impl_->mu);
  // A fast PUBACK may have arrived before we got here.
  if (!impl_->acked_early.erase(mid)) impl_->unacked.insert(mid);
  return Status::ok();
}

Status MqttClient::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return impl_->unacked.empty(); }))
    return error(Code::kTimeout, std::to_string(impl_->unacked.size()) +
                                     " MQTT publications not acknowledged in time");
  return Status::ok();
}

bool MqttClient::connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->is_connected;
}

uint64_t MqttClient::connects() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connects;
}

}  // namespace gridpact::meteragent
