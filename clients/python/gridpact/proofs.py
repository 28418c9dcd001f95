"""Offline verification (src/crypto/merkle.*, src/ledger/receipt_proof.*,
src/ledger/state_tree.*): receipt bundles against the validator's key, and state proofs
against a header's state root. Nothing here trusts the node that served the data."""

from .codec import DecodeError, Reader
from .tx import Transaction, sha256, verify_signature

BLOCK_DOMAIN = b"gridpact/block/v1"


class VerifyError(ValueError):
    pass


# ---- Merkle trees of transaction ids and receipt hashes (RFC 6962 style) ----

def leaf_hash(data):
    return sha256(b"\x00", data)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def _split(n):  # largest power of two strictly below n
    k = 1
    while k <= (n - 1) // 2:
        k *= 2
    return k


def merkle_root(leaf_hashes):
    if not leaf_hashes:
        return sha256(b"")
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return node_hash(merkle_root(leaf_hashes[:k]), merkle_root(leaf_hashes[k:]))


def merkle_verify(leaf, index, size, path, root):
    """True when `leaf` (leaf-hashed already) sits at `index` of a tree of `size` with `root`."""
    if size == 0 or index >= size or len(path) > 64:
        return False
    used = [0]

    def fold(index, size):
        if size == 1:
            return leaf
        k = _split(size)
        if index < k:
            child = fold(index, k)
            if child is None or used[0] >= len(path):
                return None
            used[0] += 1
            return node_hash(child, path[used[0] - 1])
        child = fold(index - k, size - k)
        if child is None or used[0] >= len(path):
            return None
        used[0] += 1
        return node_hash(path[used[0] - 1], child)

    got = fold(index, size)
    return got is not None and used[0] == len(path) and got == root


# ---- Headers and receipts ----

def decode_header(data):
    r = Reader(data)
    if r.int("u8") != 1:
        raise DecodeError("UNKNOWN_VERSION")
    h = {"chain_id": r.bytes(64).decode("utf-8"), "height": r.int("u64"),
         "prev_hash": r.need(32), "time_ms": r.int("u64"), "tx_count": r.int("u32"),
         "tx_root": r.need(32), "receipts_root": r.need(32), "state_root": r.need(32),
         "proposer": r.need(32)}
    unsigned_len = r.at
    h["signature"] = r.need(64)
    r.end()
    h["hash"] = sha256(BLOCK_DOMAIN, bytes(data[:unsigned_len]))
    return h


def decode_receipt(data, registry=None):
    r = Reader(data)
    if r.int("u8") != 1:
        raise DecodeError("UNKNOWN_VERSION")
    rc = {"tx_id": r.need(32), "height": r.int("u64"), "index": r.int("u32"),
          "code": r.int("u16"), "message": r.bytes(512).decode("utf-8"), "events": []}
    for _ in range(r.length(256)):
        etype = r.bytes(64).decode("utf-8")
        edata = r.bytes(8192)
        event = {"type": etype, "data": edata}
        if registry is not None:
            try:
                event["fields"] = registry.decode_event(etype, edata)
            except DecodeError:
                event["fields"] = None
        rc["events"].append(event)
    r.end()
    rc["ok"] = rc["code"] == 0
    return rc


def _proof(j):
    return int(j["index"]), int(j["size"]), [bytes.fromhex(h) for h in j["path"]]


def verify_bundle(bundle, validator, registry=None):
    """Checks a receipt bundle (the "bundle" of GET /v1/tx/<id>) against the validator's
    public key (GET /v1/chain "validator", or the genesis document). Returns
    {"tx", "receipt", "header"}; raises VerifyError on any mismatch."""
    validator = bytes.fromhex(validator) if isinstance(validator, str) else bytes(validator)
    tx_raw = bytes.fromhex(bundle["tx_raw"])
    receipt_raw = bytes.fromhex(bundle["receipt_raw"])
    header_raw = bytes.fromhex(bundle["header_raw"])
    tx = Transaction.decode(tx_raw)
    receipt = decode_receipt(receipt_raw, registry)
    header = decode_header(header_raw)
    if header["proposer"] != validator:
        raise VerifyError("block was proposed by another key")
    if not verify_signature(header["proposer"], header["hash"], header["signature"]):
        raise VerifyError("block header signature does not verify")
    if not tx.signature_valid():
        raise VerifyError("transaction signature does not verify")
    tx_id = sha256(tx_raw)
    if receipt["tx_id"] != tx_id:
        raise VerifyError("receipt is for another transaction")
    if receipt["height"] != header["height"]:
        raise VerifyError("receipt is for another block")
    ti, ts, tp = _proof(bundle["tx_proof"])
    ri, rs, rp = _proof(bundle["receipt_proof"])
    if ti != receipt["index"] or ri != receipt["index"]:
        raise VerifyError("proofs are for another position")
    if not merkle_verify(leaf_hash(tx_id), ti, ts, tp, header["tx_root"]):
        raise VerifyError("transaction is not in the block's tx_root")
    if not merkle_verify(leaf_hash(sha256(receipt_raw)), ri, rs, rp, header["receipts_root"]):
        raise VerifyError("receipt is not in the block's receipts_root")
    return {"tx": tx, "receipt": receipt, "header": header}


# ---- State proofs (sparse Merkle tree over SHA-256(key)) ----

def _bit(h, depth):
    return (h[depth // 8] >> (7 - depth % 8)) & 1


def _tree_node(leaf, a, b):
    return sha256(b"\x00" if leaf else b"\x01", a, b)


def verify_state(state_root, key, value, proof):
    """True when, under `state_root`, `key` holds `value` (bytes), or is absent (None).
    `proof` is the JSON of GET /v1/state or /v1/accounts/<pk> (siblings, ends_at_leaf, ...)."""
    state_root = bytes.fromhex(state_root) if isinstance(state_root, str) else bytes(state_root)
    siblings = [bytes.fromhex(s) for s in proof["siblings"]]
    if len(siblings) > 256:
        return False
    key_hash = sha256(key)
    value_hash = None if value is None else sha256(value)
    current = bytes(32)
    if proof["ends_at_leaf"]:
        leaf_key = bytes.fromhex(proof["leaf_key_hash"])
        leaf_value = bytes.fromhex(proof["leaf_value_hash"])
        if leaf_key == key_hash:
            if value_hash != leaf_value:
                return False
        else:
            if value_hash is not None:
                return False
            if any(_bit(leaf_key, d) != _bit(key_hash, d) for d in range(len(siblings))):
                return False
        current = _tree_node(True, leaf_key, leaf_value)
    elif value_hash is not None:
        return False
    for d in range(len(siblings) - 1, -1, -1):
        s = siblings[d]
        current = _tree_node(False, s, current) if _bit(key_hash, d) else _tree_node(False, current, s)
    return current == state_root


def verify_account(account_view, validator):
    """Checks GET /v1/accounts/<pk>: the header is signed by the validator and every state
    proof holds against its state root. Returns the verified {key hex: value bytes|None}."""
    validator = bytes.fromhex(validator) if isinstance(validator, str) else bytes(validator)
    header = decode_header(bytes.fromhex(account_view["header"]["raw"]))
    if header["proposer"] != validator or not verify_signature(
            validator, header["hash"], header["signature"]):
        raise VerifyError("header is not signed by the validator")
    out = {}
    for p in account_view["state_proofs"]:
        value = None if p["value"] is None else bytes.fromhex(p["value"])
        if not verify_state(header["state_root"], bytes.fromhex(p["key"]), value, p["proof"]):
            raise VerifyError(f"state proof of key {p['key']} does not verify")
        out[p["key"]] = value
    return out
