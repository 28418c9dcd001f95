#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include "api/server.hpp"
#include "app.hpp"
#include "client.hpp"
#include "cluster/cluster_api.hpp"
#include "http/client.hpp"
#include "meteragent/bridge.hpp"
#include "modules/bank/bank.hpp"
#include "node_attest/node_attest.hpp"

namespace gridpact::cli {
namespace {

struct NodeArgs {
  std::string data;
  std::string listen = "127.0.0.1:8080";
  std::string genesis;
  std::string validator_key;
  std::string port_file;
  std::string db;  // SQL read model URL, empty: none
  NodeAttestArgs attest;
  std::string mqtt;  // HOST:PORT of the broker the meters bridge subscribes to
  std::string mqtt_username, mqtt_password_file, mqtt_ca, mqtt_cert, mqtt_key;
  uint64_t mqtt_in_flight_timeout_s = meteragent::MqttBridge::kInFlightTimeout.count();
  size_t proof_history = NodeOptions{}.proof_history_blocks;
  Mempool::Limits mempool;
  std::vector<std::string> allowed_hosts, cors_origins;
  uint64_t mempool_waiting_ttl_ms = Mempool::Limits{}.waiting_ttl.count();
  size_t api_threads = 0, api_max_connections = 0;
  size_t api_max_streams = api::ServerOptions{}.max_streams;
  api::QueryLimits queries;
  uint64_t query_refusal_delay_ms = api::QueryLimits{}.refusal_delay.count();
  std::string cluster;          // etcd://HOST:PORT,...: cluster mode
  std::string cluster_api_url;  // how the others reach this node's API
  int64_t cluster_lease_ttl = 3;
  std::vector<std::string> cluster_peers;         // http[s]://HOST:PORT of nodes to catch up from
  std::string cluster_measurement;                // the leader executable's SHA-256; empty: ours
  std::vector<std::string> cluster_attest_roots;  // AK roots a tpm2 leader chains to
  std::string tls_cert, tls_key;                  // HTTPS for the API
  http::TlsClientFiles etcd_tls;                  // for https:// etcd endpoints
  std::string peer_cacert;                        // CA of the peers' HTTPS certificates
  // Cluster mode: verify the client signatures of an attested leader's blocks too.
  bool verify_signatures = false;
};

// Idle keep-alive connections and event subscribers each hold a descriptor: take the
// hard limit the operator allows rather than the usual soft 1,024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the descriptor limit");
}

int run_node(const NodeArgs& a) {
  DataDir dir{a.data};
  std::string genesis_path = a.genesis;
  std::string key_path = a.validator_key;
  if (genesis_path.empty()) {
    if (Status s = ensure_development_chain(dir); !s) return fail(s);
    genesis_path = dir.genesis_path();
    if (key_path.empty()) key_path = dir.key_path("validator");
  }
  auto genesis = Genesis::load(genesis_path);
  if (!genesis) return fail(genesis.status());
  if (genesis->development)
    spdlog::warn(
        "DEVELOPMENT CHAIN '{}': keys are stored in {}/keys. INSECURE, not for real money.",
        genesis->chain_id, a.data);

  auto colon = a.listen.rfind(':');
  if (colon == std::string::npos)
    return fail(error(Code::kInvalidArgument, "--listen must be HOST:PORT"));
  api::ServerOptions server_options;
  server_options.host = a.listen.substr(0, colon);
  server_options.port = std::atoi(a.listen.c_str() + colon + 1);
  server_options.allowed_hosts = a.allowed_hosts;
  server_options.cors_origins = a.cors_origins;
  raise_descriptor_limit();
  server_options.threads = a.api_threads;
  server_options.max_connections = a.api_max_connections;
  server_options.max_streams = a.api_max_streams;
  server_options.queries = a.queries;
  server_options.queries.refusal_delay = std::chrono::milliseconds(a.query_refusal_delay_ms);
  if (a.tls_cert.empty() != a.tls_key.empty())
    return fail(error(Code::kInvalidArgument, "give --tls-cert and --tls-key together"));
  if (a.etcd_tls.cert_file.empty() != a.etcd_tls.key_file.empty())
    return fail(error(Code::kInvalidArgument, "give --etcd-cert and --etcd-key together"));
  server_options.tls_cert_file = a.tls_cert;
  server_options.tls_key_file = a.tls_key;
  const std::string scheme = a.tls_cert.empty() ? "http://" : "https://";

  NodeOptions options;
  options.data_dir = a.data;
  options.genesis = *genesis;
  options.proof_history_blocks = a.proof_history;
  options.mempool = a.mempool;
  options.mempool.waiting_ttl = std::chrono::milliseconds(a.mempool_waiting_ttl_ms);
  options.verify_sealed_signatures = a.verify_signatures;
  // The MQTT bridge's relay key (DATA/keys/relay.json), loaded before the node opens so
  // that the mempool can tell it apart.
  std::optional<KeyPair> relay;
  if (!a.mqtt.empty()) {
    std::string relay_path = dir.key_path("relay");
    if (!std::filesystem::exists(relay_path)) {
      std::filesystem::create_directories(a.data + "/keys");
      if (Status s = write_key_file(relay_path, KeyPair::generate()); !s) return fail(s);
    }
    auto key = read_key_file(relay_path);
    if (!key) return fail(key.status());
    relay = *key;
  }
  // Standing comes from the operator: an account it funded may use the full quota before
  // its first transaction commits; a key nobody funded is a newcomer. The node's own relay
  // has standing: it pays no balance, and a backlog of readings after downtime must not
  // hit the newcomer quota.
  options.sender_standing = [relay_key = relay ? std::optional(relay->public_key()) : std::nullopt](
                                const StateReader& state, const PublicKey& account) {
    return account == relay_key || bank::balance(state, account) > 0;
  };
  if (!key_path.empty()) {
    auto key = read_key_file(key_path);
    if (!key) return fail(key.status());
    options.validator_key = *key;
  }
  options.may_sign = governed_validators(genesis->validator);
  auto attestor = make_node_attestor(a.data, genesis->chain_id, options.validator_key, a.attest);
  if (!attestor) return fail(attestor.status());
  cluster::EtcdOrderer* cluster_orderer = nullptr;
  OrdererFactory make_orderer;
  if (!a.cluster.empty()) {
    auto endpoints = cluster::parse_etcd_endpoints(a.cluster);
    if (!endpoints) return fail(endpoints.status());
    cluster::EtcdOrdererConfig config{.endpoints = *endpoints, .lease_ttl_s = a.cluster_lease_ttl};
    config.peers = a.cluster_peers;
    config.etcd_tls = a.etcd_tls;
    config.peer_tls.ca_file = a.peer_cacert;
    // Joining by attestation: a leader must run the allowed executable (by default this
    // one), on a TPM under the given roots, or virtually on a development chain only. Its
    // https:// API is verified against the peers' CA.
    if (!a.peer_cacert.empty()) ApiClient::set_ca_file(a.peer_cacert);
    Result<Hash32> measurement = node_attest::measure_self();
    if (!a.cluster_measurement.empty()) measurement = *Hash32::from_hex(a.cluster_measurement);
    if (!measurement) return fail(measurement.status());
    auto roots = read_certificates(a.cluster_attest_roots);
    if (!roots) return fail(roots.status());
    config.check_leader = leader_attestation(genesis->chain_id, *measurement, genesis->development,
                                             std::move(roots).value());
    make_orderer = [config, &cluster_orderer](Node& n) {
      auto orderer = std::make_unique<cluster::EtcdOrderer>(n, config);
      cluster_orderer = orderer.get();
      return orderer;
    };
  }
  auto node = Node::open(std::move(options), all_modules(), make_orderer);
  if (!node) return fail(node.status());

  // Handle SIGINT/SIGTERM in this thread only: every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  (*node)->start();
  api::Server server(**node, server_options);
  std::unique_ptr<NodeExtension> read_model;
  if (!a.db.empty()) {
    auto rm = start_read_model(**node, server, a.db);
    if (!rm) return fail(rm.status());
    read_model = std::move(rm.value());
  }
  (*attestor)->install(server);
  if (cluster_orderer) cluster::install_cluster_routes(server, *cluster_orderer);
  if (Status s = server.start(); !s) return fail(s);
  if (cluster_orderer)
    cluster_orderer->set_api_url(!a.cluster_api_url.empty() ? a.cluster_api_url
                                                            : scheme + server_options.host + ":" +
                                                                  std::to_string(server.port()));
  spdlog::info("chain '{}' at height {}; API on {}{}:{}", genesis->chain_id,
               (*node)->store().height().value_or(0), scheme, server_options.host, server.port());
  if (!a.port_file.empty()) std::ofstream(a.port_file) << server.port() << "\n";

  // Meter readings from MQTT, relayed as transactions signed by DATA/keys/relay.json.
  std::unique_ptr<meteragent::MqttBridge> bridge;
  if (!a.mqtt.empty()) {
    auto c = a.mqtt.rfind(':');
    if (c == std::string::npos)
      return fail(error(Code::kInvalidArgument, "--mqtt must be HOST:PORT"));
    meteragent::MqttOptions mo;
    mo.host = a.mqtt.substr(0, c);
    mo.port = std::atoi(a.mqtt.c_str() + c + 1);
    mo.client_id = "gridpact-node-" + genesis->chain_id;
    mo.username = a.mqtt_username;
    if (!a.mqtt_password_file.empty()) {
      std::ifstream in(a.mqtt_password_file);
      if (!in || !std::getline(in, mo.password))
        return fail(error(Code::kInvalidArgument, "cannot read " + a.mqtt_password_file));
    }
    mo.tls_ca_file = a.mqtt_ca;
    mo.tls_cert_file = a.mqtt_cert;
    mo.tls_key_file = a.mqtt_key;
    bridge = std::make_unique<meteragent::MqttBridge>(
        **node, *relay, mo, std::chrono::seconds(a.mqtt_in_flight_timeout_s));
    if (Status s = bridge->start(); !s) return fail(s);
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  bridge.reset();
  server.stop();
  read_model.reset();
  (*node)->stop();
  return 0;
}

}  // namespace

void add_node_command(CLI::App& app) {
  auto a = std::make_shared<NodeArgs>();
  auto* cmd = app.add_subcommand("node", "Run a node: takes transactions over HTTP, cuts blocks");
  cmd->add_option("--data", a->data, "Data directory (created if missing)")->required();
  cmd->add_option("--listen", a->listen, "HOST:PORT for the API (port 0: any free port)");
  cmd->add_option("--genesis", a->genesis,
                  "Genesis TOML; without it, a development chain is created in --data");
  cmd->add_option("--validator-key", a->validator_key, "Key file of the block-signing validator");
  cmd->add_option("--port-file", a->port_file, "Write the API port to this file once listening");
  cmd->add_option("--db", a->db,
                  "Keep a SQL read model: sqlite:PATH or postgresql://... (serves /v1/db)");
  cmd->add_option("--attest-tpm", a->attest.tpm,
                  "Attest with this TPM (tcp:HOST:PORT of an swtpm, or a TCTI); default: "
                  "virtual, INSECURE evidence");
  cmd->add_option("--attest-ak", a->attest.ak, "Enrolled AK key blob (with --attest-tpm)");
  cmd->add_option("--attest-ak-cert", a->attest.ak_cert, "AK certificate chain, PEM or DER");
  cmd->add_option(
      "--mqtt", a->mqtt,
      "HOST:PORT of an MQTT broker: relay meter readings from gridpact/meters/+/readings");
  cmd->add_option("--mqtt-username", a->mqtt_username, "MQTT broker user name");
  cmd->add_option("--mqtt-password-file", a->mqtt_password_file,
                  "File whose first line is the MQTT broker password");
  cmd->add_option("--mqtt-ca", a->mqtt_ca, "CA file: connect to the broker over TLS, verified");
  cmd->add_option("--mqtt-cert", a->mqtt_cert, "Client certificate for the broker (TLS)");
  cmd->add_option("--mqtt-key", a->mqtt_key, "Client key for the broker (TLS)");
  cmd->add_option("--mqtt-in-flight-timeout-s", a->mqtt_in_flight_timeout_s,
                  "Seconds a relayed reading may stay uncommitted before a later copy of it is "
                  "relayed again")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{3600}));
  cmd->add_option("--proof-history", a->proof_history,
                  "Blocks back that state proofs can be served against (each keeps the tree "
                  "nodes its block replaced in memory)")
      ->check(CLI::Range(size_t{2}, size_t{100'000}))
      ->capture_default_str();
  cmd->add_option("--allow-host", a->allowed_hosts,
                  "A name the API answers to in Host (repeat; default: the --listen address, "
                  "localhost, 127.0.0.1, [::1])");
  cmd->add_option("--cors-origin", a->cors_origins,
                  "An origin (https://name[:port]) whose web pages may read API answers "
                  "(repeat; default: none, same origin only)");
  cmd->add_option("--mempool-max-txs", a->mempool.max_txs, "Transactions the mempool holds")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--mempool-max-bytes", a->mempool.max_bytes, "Encoded bytes the mempool holds")
      ->check(CLI::Range(size_t{64} << 10, size_t{64} << 30))
      ->capture_default_str();
  cmd->add_option("--mempool-max-per-sender", a->mempool.max_per_sender,
                  "Pending transactions one sender may have")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--mempool-max-per-newcomer", a->mempool.max_per_new_sender,
                  "Pending transactions of a sender with no committed transaction and no balance")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--mempool-max-newcomer-txs", a->mempool.max_new_sender_txs,
                  "Pending transactions of all such newcomers together")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--mempool-waiting-ttl-ms", a->mempool_waiting_ttl_ms,
                  "How long a transaction waits behind a nonce gap before it is dropped")
      ->check(CLI::Range(uint64_t{100}, uint64_t{86'400'000}))
      ->capture_default_str();
  cmd->add_option("--api-threads", a->api_threads,
                  "Worker threads of the API (default 0: one per hardware thread); waiting "
                  "requests and idle connections hold none")
      ->check(CLI::Range(size_t{0}, size_t{256}));
  cmd->add_option("--api-max-connections", a->api_max_connections,
                  "Connections the API holds at once (default 0: the descriptor limit less 256)")
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  cmd->add_option("--api-max-streams", a->api_max_streams, "Event subscribers at once")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}))
      ->capture_default_str();
  // Expensive queries (module queries, /v1/accounts, /v1/db, /v1/attestation): their own
  // pool, so they never hold the workers that answer /v1/health and POST /v1/tx.
  cmd->add_option("--api-query-threads", a->queries.threads,
                  "Threads of the expensive queries (default 0: half the hardware threads)")
      ->check(CLI::Range(size_t{0}, size_t{256}));
  cmd->add_option("--api-query-queue", a->queries.max_queued,
                  "Expensive queries waiting for a thread before more get 503 OVERLOADED")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--api-query-in-flight", a->queries.per_client_in_flight,
                  "Expensive queries one client address may have queued or running (beyond: "
                  "HTTP 429)")
      ->check(CLI::Range(size_t{1}, size_t{100'000}))
      ->capture_default_str();
  cmd->add_option("--api-query-rate", a->queries.per_client_per_second,
                  "Expensive queries one client address may start a second (HTTP 429)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--api-query-burst", a->queries.per_client_burst,
                  "Expensive queries one client address may start at once after a pause")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--api-query-refusal-delay-ms", a->query_refusal_delay_ms,
                  "How long a refused expensive query waits for its 429 or 503 answer (a client "
                  "retrying at once then costs one request per delay and connection)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{10'000}))
      ->capture_default_str();
  cmd->add_option("--cluster", a->cluster,
                  "Cluster mode: order blocks through these etcd members "
                  "(etcd://HOST:PORT,... ; https://HOST:PORT for TLS)");
  cmd->add_option("--etcd-cacert", a->etcd_tls.ca_file,
                  "CA file that signed the etcd members' certificates (https:// endpoints; "
                  "default: the system's CAs)");
  cmd->add_option("--etcd-cert", a->etcd_tls.cert_file,
                  "Client certificate for etcd (its --client-cert-auth), with --etcd-key");
  cmd->add_option("--etcd-key", a->etcd_tls.key_file, "Key of --etcd-cert");
  cmd->add_option("--tls-cert", a->tls_cert,
                  "Serve the API over HTTPS with this certificate chain (PEM), with --tls-key");
  cmd->add_option("--tls-key", a->tls_key, "Private key of --tls-cert (PEM)");
  cmd->add_option("--cluster-peer-cacert", a->peer_cacert,
                  "CA file that signed the other nodes' API certificates (https:// peers; "
                  "default: the system's CAs)");
  cmd->add_option("--cluster-api-url", a->cluster_api_url,
                  "The URL the other nodes and clients reach this node's API at (default: "
                  "http://LISTEN, https:// with --tls-cert)");
  cmd->add_option("--cluster-lease-ttl", a->cluster_lease_ttl,
                  "Seconds a leader that stopped answering keeps the role")
      ->check(CLI::Range(int64_t{2}, int64_t{60}))
      ->capture_default_str();
  cmd->add_option("--cluster-measurement", a->cluster_measurement,
                  "SHA-256 (hex) of the executable a leader must run, checked through its "
                  "GET /v1/attestation before this node applies its blocks (default: this "
                  "node's own executable)")
      ->check([](const std::string& hex) {
        return Hash32::from_hex(hex) ? std::string() : "64 hex digits (SHA-256)";
      });
  cmd->add_option("--cluster-attest-root", a->cluster_attest_roots,
                  "PEM or DER file of an AK enrolment CA a leader's TPM evidence must chain to "
                  "(repeatable; without one, only a development chain's virtual evidence "
                  "passes)");
  cmd->add_flag("--verify-signatures", a->verify_signatures,
                "Cluster mode: verify the client signatures of every block another node sealed, "
                "also an attested leader's (default: trusted, as that leader's build verified "
                "them; `verify-chain` checks them all)");
  cmd->add_option("--cluster-peers", a->cluster_peers,
                  "Nodes (http[s]://HOST:PORT,...) to fetch blocks from that etcd no longer keeps "
                  "(besides the API URLs the nodes publish in etcd); each block is checked "
                  "and re-executed")
      ->delimiter(',')
      ->check([](const std::string& url) {
        return http::parse_origin(url) ? std::string() : "a peer is http[s]://HOST:PORT";
      });
  cmd->callback([a] { finish(run_node(*a)); });
}

}  // namespace gridpact::cli
