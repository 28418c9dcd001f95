// Meter readings through the whole pipeline: admission (the relay's Ed25519 transaction
// signature), mempool, solo orderer, the meters handler (the meter's own signature,
// sequence and register checks, two state writes), state tree and fsynced RocksDB commit.
// Readings are signed before the clock starts; P-256 readings are signed in software with
// the same ECDSA a TPM produces (a TPM signs a few per second, it is not what is measured).
//
//   METRIC readings_ed25519_verify_per_s   raw Ed25519 verification, one core
//   METRIC readings_p256_verify_per_s      raw P-256 verification, parsed key, one core
//   METRIC readings_ed25519_per_s          committed virtual-meter readings per second
//   METRIC readings_p256_per_s             committed tpm2-meter readings per second
//   METRIC readings_cpu_us_{ed25519,p256}  process CPU time per committed reading
//   METRIC meters_10k_15min_core_pct_{ed25519,p256}
//          share of one core that 10,000 meters reporting every 15 minutes need
//          (11.1 readings/s x CPU per reading); the aim is < 10 %.
// tpm_quote_verify_ms (registration cost, once per meter) is printed by bench_attest.
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "attest/p256.hpp"
#include "bench_util.hpp"
#include "modules/meters/meters.hpp"
#include "node/node.hpp"

using namespace gridpact;
using Clock = std::chrono::steady_clock;

namespace {

using bench::seed_of;

template <typename Fn>
double rate(Fn&& fn) {
  size_t n = 0;
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(bench::quick() ? 1 : 2)) {
    fn();
    n += 100;
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

// Puts the benchmark's meters into genesis state (their registration, with evidence, is
// not what is measured here).
class SeedModule : public Module {
 public:
  explicit SeedModule(std::vector<meters::MeterInfo> m) : meters_(std::move(m)) {}
  std::string_view name() const override { return "bench_seed"; }
  std::vector<TxTypeInfo> tx_types() const override { return {}; }
  Status init_genesis(StateOverlay& s, const json&) override {
    for (const auto& m : meters_) meters::import_meter(s, m, 0, 0);
    return Status::ok();
  }
  Status check(const Transaction&) const override { return error(Code::kUnknownType, "none"); }
  Status deliver(TxContext&) override { return error(Code::kUnknownType, "none"); }
  json payload_json(uint16_t, const Bytes&) const override { return {}; }
  Result<json> query(const StateReader&, std::string_view, const json&) const override {
    return error(Code::kNotFound, "none");
  }

 private:
  std::vector<meters::MeterInfo> meters_;
};

// ECDSA over a digest, as the TPM signs reading_digest() (P256KeyPair::sign hashes).
Signature sign_digest(const attest::P256KeyPair& key, const Hash32& digest) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.pkey(), nullptr);
  size_t n = 0;
  Bytes der(80);
  n = der.size();
  if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
      EVP_PKEY_sign(ctx, der.data(), &n, digest.data(), digest.size()) <= 0)
    std::abort();
  EVP_PKEY_CTX_free(ctx);
  return attest::der_to_raw(der.data(), n).value();
}

struct Run {
  double per_s = 0;
  double cpu_per_reading_s = 0;
};

// `sign(i, reading)` signs reading of meter i.
Run run(const std::string& label, size_t n_meters, size_t periods,
        const std::vector<meters::MeterInfo>& infos,
        const std::function<Signature(size_t, const Hash32&)>& sign) {
  auto validator = KeyPair::generate();
  Genesis genesis;
  genesis.chain_id = "bench-" + label;
  genesis.validator = validator.public_key();
  genesis.document = {{"meters", {{"allow_virtual", true}}}};
  genesis.hash = sha256(genesis.chain_id);

  uint64_t now_period =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) /
      meters::kDefaultPeriodMs;
  // One relay account per 50 meters, as a handful of MQTT bridges or gateways would.
  size_t relays = std::max<size_t>(1, n_meters / 50);
  std::vector<KeyPair> relay;
  for (size_t i = 0; i < relays; ++i) relay.push_back(KeyPair::from_seed(seed_of(i, 0x77)));
  std::vector<uint64_t> nonce(relays, 0);
  std::vector<Transaction> txs;
  txs.reserve(n_meters * periods);
  for (size_t p = 0; p < periods; ++p)
    for (size_t i = 0; i < n_meters; ++i) {
      meters::Reading r{infos[i].id, now_period - periods + 1 + p, p + 1, 1000 * (p + 1), 10 * p,
                        {}};
      r.signature = sign(i, meters::reading_digest(genesis.chain_id, r));
      Transaction tx;
      tx.chain_id = genesis.chain_id;
      size_t who = i % relays;
      tx.nonce = nonce[who]++;
      tx.type = meters::kReading;
      tx.payload = meters::encode(r);
      tx.sign(relay[who]);
      txs.push_back(std::move(tx));
    }

  auto dir = std::filesystem::temp_directory_path() /
             ("gridpact-bench-readings-" + validator.public_key().hex().substr(0, 8));
  std::filesystem::remove_all(dir);
  NodeOptions options{dir.string(), genesis, validator, {}, true};
  std::vector<std::unique_ptr<Module>> modules;
  modules.push_back(std::make_unique<meters::MetersModule>());
  modules.push_back(std::make_unique<SeedModule>(infos));
  auto node = Node::open(std::move(options), std::move(modules)).value();
  node->start();

  std::atomic<size_t> committed{0}, failed{0};
  int sub = node->subscribe([&](const Block&, const std::vector<Receipt>& receipts) {
    for (const auto& r : receipts) (r.ok() ? committed : failed)++;
  });
  double cpu0 = bench::cpu_seconds();
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      // Each thread owns whole relays, so that every relay's nonces arrive in order.
      for (size_t i = 0; i < txs.size(); ++i) {
        if ((i % n_meters) % relays % 2 != t) continue;
        while (node->stats().mempool_size > 40000)
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (!node->submit(txs[i])) std::abort();
      }
    });
  for (auto& th : threads) th.join();
  auto deadline = Clock::now() + std::chrono::seconds(600);
  while (committed + failed < txs.size() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = bench::cpu_seconds() - cpu0;
  node->unsubscribe(sub);
  node->stop();
  node.reset();
  std::filesystem::remove_all(dir);
  if (failed != 0 || committed != txs.size()) {
    std::fprintf(stderr, "%s: %zu committed, %zu failed of %zu\n", label.c_str(), committed.load(),
                 failed.load(), txs.size());
    std::exit(1);
  }
  return {static_cast<double>(committed) / secs, cpu / static_cast<double>(committed)};
}

}  // namespace

int main() {
  crypto_init();
  const size_t n_meters = bench::quick() ? 2'000 : 10'000;
  const size_t periods = bench::quick() ? 2 : 4;

  // Raw verification rates.
  {
    auto k = KeyPair::generate();
    Hash32 d = sha256("reading");
    Signature s = k.sign(d);
    bench::metric("readings_ed25519_verify_per_s", rate([&] {
                    for (int i = 0; i < 100; ++i)
                      if (!verify(k.public_key(), d, s)) std::abort();
                  }),
                  "verifications/s");
    auto p = attest::P256KeyPair::generate();
    Bytes msg = to_bytes("reading");
    auto sig = p.sign(msg);
    auto pub = attest::P256PublicKey::parse(p.public_point()).value();
    bench::metric("readings_p256_verify_per_s", rate([&] {
                    for (int i = 0; i < 100; ++i)
                      if (!pub.verify_digest(sha256(msg), sig)) std::abort();
                  }),
                  "verifications/s");
  }

  auto owner = KeyPair::generate().public_key();
  auto make_info = [&](const Bytes& key, attest::Platform platform) {
    meters::MeterInfo m;
    m.public_key = key;
    m.id = meters::meter_id_of(key);
    m.owner = owner;
    m.microgrid = "mg-bench";
    m.platform = platform;
    m.insecure = platform == attest::Platform::kVirtual;
    return m;
  };

  {
    std::vector<KeyPair> keys;
    std::vector<meters::MeterInfo> infos;
    for (size_t i = 0; i < n_meters; ++i) {
      keys.push_back(KeyPair::from_seed(seed_of(i, 0x11)));
      const auto& pk = keys.back().public_key();
      infos.push_back(
          make_info(Bytes(pk.bytes.begin(), pk.bytes.end()), attest::Platform::kVirtual));
    }
    auto r = run("ed25519", n_meters, periods, infos,
                 [&](size_t i, const Hash32& d) { return keys[i].sign(d); });
    bench::metric("readings_ed25519_per_s", r.per_s, "readings/s");
    bench::metric("readings_cpu_us_ed25519", r.cpu_per_reading_s * 1e6, "us");
    bench::metric("meters_10k_15min_core_pct_ed25519", 10000.0 / 900.0 * r.cpu_per_reading_s * 100,
                  "%");
  }
  {
    std::vector<attest::P256KeyPair> keys;
    std::vector<meters::MeterInfo> infos;
    for (size_t i = 0; i < n_meters; ++i) {
      keys.push_back(attest::P256KeyPair::generate());
      const auto& pt = keys.back().public_point();
      infos.push_back(make_info(Bytes(pt.bytes.begin(), pt.bytes.end()), attest::Platform::kTpm2));
    }
    auto r = run("p256", n_meters, periods, infos,
                 [&](size_t i, const Hash32& d) { return sign_digest(keys[i], d); });
    bench::metric("readings_p256_per_s", r.per_s, "readings/s");
    bench::metric("readings_cpu_us_p256", r.cpu_per_reading_s * 1e6, "us");
    bench::metric("meters_10k_15min_core_pct_p256", 10000.0 / 900.0 * r.cpu_per_reading_s * 100,
                  "%");
  }
  return 0;
}
