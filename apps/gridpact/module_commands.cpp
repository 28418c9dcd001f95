// The command line's side of src/cli/commands.hpp: the shared options, signing with the
// key file, submission and printing, for the commands the modules declare.
#include <fstream>
#include <sstream>

#include "app.hpp"
#include "client.hpp"

namespace gridpact::cli {
namespace {

Result<Bytes> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(Code::kNotFound, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return Bytes(text.begin(), text.end());
}

class AppCommandHost final : public CommandHost {
 public:
  using CommandHost::query;
  using CommandHost::tx;
  explicit AppCommandHost(CLI::App& app)
      : tx_(*app.get_subcommand("tx")), query_(*app.get_subcommand("query")) {}

  CLI::App& tx(const std::string& name, const std::string& help,
               std::function<Result<Payload>(const TxContext&)> make) override {
    struct Shared {
      std::string node = "http://127.0.0.1:8080";
      std::string key;
      bool no_wait = false;
    };
    auto s = std::make_shared<Shared>();
    auto* cmd = tx_.add_subcommand(name, help);
    cmd->add_option("--node", s->node, "Node API URL");
    cmd->add_option("--key", s->key, "Key file of the signer")->required();
    cmd->add_flag("--no-wait", s->no_wait, "Return once accepted, without waiting for the commit");
    cmd->callback([s, make = std::move(make)] {
      TxContext context{[s]() { return ApiClient(s->node).chain_id(); },
                        [s]() -> Result<PublicKey> {
                          auto key = read_key_file(s->key);
                          if (!key) return key.status();
                          return key->public_key();
                        },
                        read_file};
      auto p = make(context);
      if (!p) finish(fail(p.status()));
      if (p->print_instead) return print_json(*p->print_instead);
      finish(submit_and_print(s->node, s->key, !s->no_wait, p->type, std::move(p->bytes)));
    });
    return *cmd;
  }

  CLI::App& query(const std::string& name, const std::string& help,
                  std::function<Result<json>(const Get&)> run) override {
    auto* cmd = query_.add_subcommand(name, help);
    CLI::App* q = &query_;
    cmd->callback([q, run = std::move(run)] {
      auto client = std::make_shared<ApiClient>(q->get_option("--node")->as<std::string>());
      auto r = run([client](const std::string& path) { return client->get(path); });
      if (!r) finish(fail(r.status()));
      print_json(*r);
    });
    return *cmd;
  }

 private:
  CLI::App& tx_;
  CLI::App& query_;
};

}  // namespace

void add_module_commands(CLI::App& app, void (*add)(CommandHost&)) {
  AppCommandHost host(app);
  add(host);
}

}  // namespace gridpact::cli
