// The command line's side of src/cli/commands.hpp: the shared options, signing with the
// key file, submission and printing, for the commands the modules declare.
#include "app.hpp"
#include "client.hpp"

namespace gridpact::cli {
namespace {

class AppCommandHost final : public CommandHost {
 public:
  explicit AppCommandHost(CLI::App& app)
      : tx_(*app.get_subcommand("tx")), query_(*app.get_subcommand("query")) {}

  CLI::App& tx(const std::string& name, const std::string& help,
               std::function<Result<Payload>()> make) override {
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
      auto p = make();
      if (!p) finish(fail(p.status()));
      finish(submit_and_print(s->node, s->key, !s->no_wait, p->type, std::move(p->bytes)));
    });
    return *cmd;
  }

  CLI::App& query(const std::string& name, const std::string& help,
                  std::function<Result<std::string>()> path) override {
    auto* cmd = query_.add_subcommand(name, help);
    CLI::App* q = &query_;
    cmd->callback([q, path = std::move(path)] {
      auto p = path();
      if (!p) finish(fail(p.status()));
      ApiClient client(q->get_option("--node")->as<std::string>());
      auto r = client.get(*p);
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
