"""GridPact client kit: build, sign and encode every transaction type from the registry
(schema.json, printed by `gridpact schema`), verify receipts and state proofs offline, and
use the node's API.

    import gridpact
    key = gridpact.Key.from_file("chain/keys/alice.json")
    node = gridpact.Client("http://127.0.0.1:8080")
    chain = node.chain()
    tx = gridpact.build(key, chain["chain_id"], node.nonce(key.public_key),
                        *gridpact.transfer(bob, 5_000_000))
    result = node.submit(tx, wait=True)
    proof = gridpact.verify_bundle(node.tx(tx.id())["bundle"], chain["validator"])
"""

from .api import ApiError, Client
from .codec import DecodeError, EncodeError, decode_fields, encode_fields
from .messages import bid, meter_id, offer, reading, register_virtual_meter, transfer
from .proofs import (VerifyError, decode_header, decode_receipt, merkle_root, merkle_verify,
                     verify_account, verify_bundle, verify_state)
from .schema import Registry, load, registry
from .tx import Key, Transaction, build, sha256, verify_signature

__all__ = ["ApiError", "Client", "DecodeError", "EncodeError", "decode_fields", "encode_fields",
           "bid", "meter_id", "offer", "reading", "register_virtual_meter", "transfer",
           "VerifyError", "decode_header", "decode_receipt", "merkle_root", "merkle_verify",
           "verify_account", "verify_bundle", "verify_state", "Registry", "load", "registry",
           "Key", "Transaction", "build", "sha256", "verify_signature"]
