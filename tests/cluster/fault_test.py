"""Cluster fault scenarios on loopback (ctest label `cluster`).

    python3 tests/cluster/fault_test.py GRIDPACT SCENARIO [--keep DIR]

Starts scripts/cluster.sh (3 etcd members, 3 nodes), runs a load of transfers from several
senders against every node (POST /v1/tx?wait=commit), applies the fault of SCENARIO while
the load runs, then stops the load and checks the history it recorded with check_history():
every acknowledged transaction is on every node exactly once, no transaction is anywhere
twice, each acknowledgement's block holds it, all heads and state roots agree, and money is
conserved. Scenarios:
    kill-leader        SIGKILL the leader
    restart-follower   SIGKILL a follower, restart it, it catches up
    stop-leader        SIGSTOP the leader past its lease, SIGCONT it: it must not fork
    kill-etcd          SIGKILL one etcd member of three, restart it
    kill-two-etcd      SIGKILL two etcd members of three: no block may commit while etcd has
                       no quorum (heights stay, nothing is acknowledged); one member comes
                       back and commits resume
    partition          (root, `ip netns`; else skipped with exit code 77) every node in its
                       own network namespace; the leader's link is cut: it must stop
                       leading once its lease lapses and commit nothing while cut off, a new
                       leader must take over and commit, and after the link is healed the
                       old leader must hold the same chain (no fork)
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import gridpact  # noqa: E402

SENDERS = 4
LEASE_TTL = 2


def http(url, body=None, timeout=20):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}") | {"http_status": e.code}


class Cluster:
    def __init__(self, gridpact_exe, keep):
        self.dir = keep or tempfile.mkdtemp(prefix="gridpact-cluster-")
        self.env = dict(os.environ, GRIDPACT=gridpact_exe, CLUSTER_LEASE_TTL=str(LEASE_TTL))
        self.script = os.path.join(ROOT, "scripts", "cluster.sh")

    def up(self, netns=False):
        subprocess.run(["bash", self.script, "up", self.dir, "--nodes", "3"] +
                       (["--netns"] if netns else []), env=self.env, check=True)
        with open(os.path.join(self.dir, "nodes.txt")) as f:
            self.urls = [line.strip() for line in f if line.strip()]
        self.keys = [json.load(open(os.path.join(self.dir, "keys", f"node-{i + 1}.json")))["public_key"]
                     for i in range(len(self.urls))]
        self.dead = set()
        # What cluster.sh committed before the load: the governance proposal and votes that
        # put nodes 2 and 3 into the validator set.
        top = http(self.urls[0] + "/v1/health")["height"]
        self.setup_txs = {t for _, _, _, txs in chain_contents(self.urls[0], top) for t in txs}

    def down(self):
        subprocess.run(["bash", self.script, "down", self.dir], env=self.env)

    def pid(self, i):
        with open(os.path.join(self.dir, f"node-{i + 1}.pid")) as f:
            return int(f.read())

    def kill(self, i):
        os.kill(self.pid(i), signal.SIGKILL)
        self.dead.add(i)

    def restart(self, i):
        subprocess.run(["bash", self.script, "start-node", self.dir, str(i + 1)], env=self.env,
                       check=True)
        self.dead.discard(i)

    def live(self):
        return [i for i in range(len(self.urls)) if i not in self.dead]

    def leader(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i in self.live():
                try:
                    c = http(self.urls[i] + "/v1/cluster", timeout=5)
                    if c.get("leader"):
                        return self.keys.index(c["leader"]["public_key"])
                except (OSError, ValueError):
                    pass
            time.sleep(0.2)
        raise AssertionError("no leader")


class Load:
    """Senders submitting transfers with wait=commit, each to the nodes in turn."""

    def __init__(self, cluster, chain_id, senders, recipients):
        self.cluster, self.chain_id = cluster, chain_id
        self.senders, self.recipients = senders, recipients
        self.history = []  # events: submit / ack / fail
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(k, n)) for n, k in enumerate(senders)]

    def record(self, **event):
        with self.lock:
            self.history.append(dict(event, t=time.monotonic()))

    def nonce(self, key):
        for i in self.cluster.live():
            try:
                return gridpact.Client(self.cluster.urls[i], timeout=5).nonce(key.public_key)
            except (OSError, gridpact.ApiError):
                continue
        return None

    def run(self, key, n):
        nonce, turn = None, n
        while not self.stop.is_set():
            if nonce is None:
                nonce = self.nonce(key)
                if nonce is None:
                    time.sleep(0.2)
                    continue
            live = self.cluster.live()
            node = live[turn % len(live)]
            turn += 1
            to = random.choice([r for r in self.recipients if r != key.public_key])
            tx = gridpact.build(key, self.chain_id, nonce, *gridpact.transfer(to, 1))
            tx_id = tx.id().hex()
            self.record(kind="submit", tx=tx_id, node=node, sender=key.public_key.hex(), nonce=nonce)
            try:
                r = gridpact.Client(self.cluster.urls[node], timeout=15).submit(
                    tx, wait=True, timeout_ms=10000)
                if r.get("status") == "committed" and r["receipt"]["ok"]:
                    self.record(kind="ack", tx=tx_id, node=node, height=r["receipt"].get("height"))
                    nonce += 1
                    continue
                self.record(kind="fail", tx=tx_id, node=node, why=json.dumps(r)[:200])
            except (OSError, gridpact.ApiError) as e:
                self.record(kind="fail", tx=tx_id, node=node, why=str(e)[:200])
            nonce = None  # unknown whether it commits: read the nonce again
            time.sleep(0.2)

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def chain_contents(url, top):
    """Blocks 1..top of the node at `url`: [(height, hash, state_root, [tx ids])]."""
    out = []
    for h in range(1, top + 1):
        b = http(f"{url}/v1/blocks/{h}")
        out.append((h, b["header"]["hash"], b["header"]["state_root"], [t["id"] for t in b["txs"]]))
    return out


def check_history(history, contents, balances, expected_total, setup=frozenset()):
    """The checker: returns a list of problems (empty: the history is consistent).
    `setup`: transactions committed before the load (they too must be on every node once)."""
    problems = []
    acked = {e["tx"] for e in history if e["kind"] == "ack"}
    submitted = {e["tx"] for e in history if e["kind"] == "submit"} | set(setup)
    heads = {(c[-1][1], c[-1][2]) if c else None for c in contents.values()}
    if len(heads) != 1:
        problems.append(f"heads differ: {heads}")
    for node, chain in contents.items():
        seen = {}
        for height, _, _, txs in chain:
            for t in txs:
                if t in seen:
                    problems.append(f"node {node}: tx {t} in blocks {seen[t]} and {height}")
                seen[t] = height
                if t not in submitted and len(problems) < 20:
                    problems.append(f"node {node}: tx {t} in block {height} was never submitted")
        for t in acked:
            if t not in seen:
                problems.append(f"node {node}: acknowledged tx {t} is missing")
        for e in history:
            if e["kind"] == "ack" and e.get("height") is not None and seen.get(e["tx"]) != e["height"]:
                problems.append(f"node {node}: tx {e['tx']} acknowledged at height {e['height']}, "
                                f"found at {seen.get(e['tx'])}")
    for node, total in balances.items():
        if total != expected_total:
            problems.append(f"node {node}: the accounts hold {total}, they held {expected_total}")
    return problems


def etcd_pid(cluster, member):
    with open(os.path.join(cluster.dir, f"etcd-{member}.pid")) as f:
        return int(f.read())


def heights(cluster):
    return {i: http(cluster.urls[i] + "/v1/health", timeout=5)["height"] for i in cluster.live()}


def kill_two_etcd(cluster, load):
    """Two etcd members of three die: the cluster must stop (no block, no acknowledgement
    while etcd has no quorum), then resume once one member is back. Returns problems."""
    problems = []
    print("SIGKILL etcd members 1 and 2", flush=True)
    os.kill(etcd_pid(cluster, 1), signal.SIGKILL)
    os.kill(etcd_pid(cluster, 2), signal.SIGKILL)
    # A block already in etcd when the quorum went may still be applied: wait that out.
    time.sleep(2)
    before, since = heights(cluster), time.monotonic()
    time.sleep(5)
    after, until = heights(cluster), time.monotonic()
    if before != after:
        problems.append(f"blocks committed without an etcd quorum: heights {before} -> {after}")
    stalled_acks = [e for e in list(load.history) if e["kind"] == "ack" and since <= e["t"] <= until]
    if stalled_acks:
        problems.append(f"{len(stalled_acks)} acknowledgements without an etcd quorum")
    print(f"no quorum: heights {after} held for {until - since:.1f} s", flush=True)
    subprocess.run(["bash", cluster.script, "start-etcd", cluster.dir, "1"], env=cluster.env,
                   check=True)
    back = time.monotonic()
    print("restarted etcd member 1", flush=True)
    end = back + 30
    while time.monotonic() < end and not any(
            e["kind"] == "ack" and e["t"] > back for e in list(load.history)):
        time.sleep(0.2)
    resumed = [e for e in list(load.history) if e["kind"] == "ack" and e["t"] > back]
    if not resumed:
        problems.append("no acknowledgement within 30 s of etcd member 1's return")
    else:
        print(f"commits resumed {resumed[0]['t'] - back:.1f} s after member 1 returned", flush=True)
    time.sleep(2)
    subprocess.run(["bash", cluster.script, "start-etcd", cluster.dir, "2"], env=cluster.env,
                   check=True)
    time.sleep(2)
    return problems


SKIP = 77  # ctest's SKIP_RETURN_CODE for this test


def netns_unavailable():
    """Why this machine cannot make network namespaces, or None."""
    if os.geteuid() != 0:
        return "not root"
    probe = f"gpprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return "ip netns add failed: " + r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def partition(cluster, load):
    """Cut the leader off from etcd and clients, then heal. Returns problems."""
    problems = []
    env = dict(l.split("=", 1) for l in open(os.path.join(cluster.dir, "cluster.env")).read().split())
    victim = cluster.leader()
    ns = f"{env['NETNS']}n{victim + 1}"

    def inside_height():  # the isolated node's height, asked from inside its namespace
        r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sf", "-m", "5",
                            cluster.urls[victim] + "/v1/health"], capture_output=True, text=True)
        return json.loads(r.stdout)["height"] if r.returncode == 0 else None

    print(f"partition: node {victim + 1} (the leader) cut off", flush=True)
    cluster.dead.add(victim)  # no load to it while it is cut off
    subprocess.run(["bash", cluster.script, "partition", cluster.dir, str(victim + 1)],
                   env=cluster.env, check=True)
    cut = time.monotonic()
    # etcd names the cut-off node until its lease lapses; then another must lead.
    new_leader = victim
    while new_leader == victim and time.monotonic() < cut + LEASE_TTL + 15:
        new_leader = cluster.leader(timeout=LEASE_TTL + 15)
        if new_leader == victim:
            time.sleep(0.2)
    if new_leader == victim:
        problems.append("the cut-off node is still named leader")
    print(f"node {new_leader + 1} leads {time.monotonic() - cut:.1f} s after the cut", flush=True)
    # Past its lease (and one etcd call's timeout), the cut-off node commits nothing.
    time.sleep(max(0.0, cut + LEASE_TTL + 3 - time.monotonic()))
    h1 = inside_height()
    t1 = time.monotonic()
    time.sleep(3)
    h2 = inside_height()
    if h1 is None or h2 is None:
        problems.append("the cut-off node did not answer from inside its namespace")
    elif h1 != h2:
        problems.append(f"the cut-off node committed while cut off: height {h1} -> {h2}")
    acks = [e for e in list(load.history) if e["kind"] == "ack" and e["t"] > t1]
    if not acks:
        problems.append("no acknowledgement from the other nodes while the leader was cut off")
    with open(os.path.join(cluster.dir, f"node-{victim + 1}.log")) as f:
        if "no longer leads" not in f.read():
            problems.append("the cut-off node never said it stopped leading")
    print(f"cut off at height {h2}; {len(acks)} acknowledgements meanwhile", flush=True)
    subprocess.run(["bash", cluster.script, "heal", cluster.dir, str(victim + 1)],
                   env=cluster.env, check=True)
    cluster.dead.discard(victim)
    print(f"healed node {victim + 1}", flush=True)
    time.sleep(4)
    return problems


def main():
    gridpact_exe, scenario = sys.argv[1], sys.argv[2]
    keep = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--keep" else None
    if scenario == "partition":
        why = netns_unavailable()
        if why:
            print(f"SKIP partition: network namespaces unavailable ({why})")
            sys.exit(SKIP)
    cluster = Cluster(gridpact_exe, keep)
    ok = False
    outage_problems = []
    try:
        cluster.up(netns=scenario == "partition")
        chain_id = http(cluster.urls[0] + "/v1/chain")["chain_id"]
        alice = gridpact.Key.from_file(os.path.join(cluster.dir, "keys", "alice.json"))
        issuer = gridpact.Key.from_file(os.path.join(cluster.dir, "keys", "issuer.json"))
        senders = [gridpact.Key.generate() for _ in range(SENDERS - 1)]
        def total(url, keys):
            return sum(http(f"{url}/v1/bank/accounts/{k.hex()}")["balance"] for k in keys)
        initial = total(cluster.urls[0], [alice.public_key, issuer.public_key])
        # Alice funds the other senders (through node 2: a follower most likely).
        accounts = [s.public_key for s in senders] + [alice.public_key, issuer.public_key]
        load = Load(cluster, chain_id, senders + [alice], accounts)
        client = gridpact.Client(cluster.urls[1])
        nonce = client.nonce(alice.public_key)
        for n, s in enumerate(senders):
            tx = gridpact.build(alice, chain_id, nonce + n, *gridpact.transfer(s.public_key, 1_000_000))
            load.record(kind="submit", tx=tx.id().hex(), node=1)
            r = client.submit(tx, wait=True, timeout_ms=20000)
            assert r["status"] == "committed", r
            load.record(kind="ack", tx=tx.id().hex(), node=1, height=r["receipt"]["height"])
        load.start()
        time.sleep(3)
        if scenario == "kill-leader":
            victim = cluster.leader()
            print(f"SIGKILL leader: node {victim + 1}", flush=True)
            cluster.kill(victim)
            time.sleep(LEASE_TTL + 5)
        elif scenario == "restart-follower":
            victim = (cluster.leader() + 1) % len(cluster.urls)
            print(f"SIGKILL follower: node {victim + 1}", flush=True)
            cluster.kill(victim)
            time.sleep(3)
            cluster.restart(victim)
            print(f"restarted node {victim + 1}", flush=True)
            time.sleep(4)
        elif scenario == "stop-leader":
            victim = cluster.leader()
            print(f"SIGSTOP leader: node {victim + 1}", flush=True)
            cluster.dead.add(victim)  # no load to it while it sleeps
            os.kill(cluster.pid(victim), signal.SIGSTOP)
            time.sleep(LEASE_TTL + 3)
            os.kill(cluster.pid(victim), signal.SIGCONT)
            cluster.dead.discard(victim)
            print(f"SIGCONT node {victim + 1}", flush=True)
            time.sleep(4)
        elif scenario == "kill-etcd":
            with open(os.path.join(cluster.dir, "etcd-1.pid")) as f:
                etcd_pid = int(f.read())
            print("SIGKILL etcd member 1", flush=True)
            os.kill(etcd_pid, signal.SIGKILL)
            time.sleep(5)
            subprocess.run(["bash", cluster.script, "start-etcd", cluster.dir, "1"], env=cluster.env,
                           check=True)
            print("restarted etcd member 1", flush=True)
            time.sleep(4)
        elif scenario == "kill-two-etcd":
            outage_problems = kill_two_etcd(cluster, load)
        elif scenario == "partition":
            outage_problems = partition(cluster, load)
        else:
            raise SystemExit(f"unknown scenario {scenario}")
        load.finish()
        # Every live node reaches the highest height any had when the load stopped; the
        # chains are compared up to there (idle blocks keep coming after it).
        live = cluster.live()
        top = max(http(cluster.urls[i] + "/v1/health")["height"] for i in live)
        end = time.monotonic() + 30
        while time.monotonic() < end and min(
                http(cluster.urls[i] + "/v1/health")["height"] for i in live) < top:
            time.sleep(0.2)
        contents = {i + 1: chain_contents(cluster.urls[i], top) for i in live}
        balances = {i + 1: total(cluster.urls[i], accounts) for i in live}
        history = {"scenario": scenario, "events": load.history,
                   "contents": {k: v for k, v in contents.items()}, "balances": balances}
        with open(os.path.join(cluster.dir, "history.json"), "w") as f:
            json.dump(history, f)
        problems = outage_problems + check_history(load.history, contents, balances, initial,
                                                         cluster.setup_txs)
        acks = sum(1 for e in load.history if e["kind"] == "ack")
        fails = sum(1 for e in load.history if e["kind"] == "fail")
        print(f"{scenario}: {acks} acknowledged, {fails} unanswered or refused, "
              f"{len(contents[live[0] + 1])} blocks on {len(live)} nodes")
        for p in problems[:20]:
            print("PROBLEM:", p)
        ok = not problems and acks > 0
    finally:
        cluster.down()
        if ok and not keep:
            shutil.rmtree(cluster.dir, ignore_errors=True)
        elif not ok:
            print(f"kept {cluster.dir} (history.json, node and etcd logs)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
