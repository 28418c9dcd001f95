"""Keys and transactions (src/ledger/transaction.hpp): build, sign, encode, decode.

   u8 version | str chain_id (<= 64) | sender (32) | u64 nonce | u16 type |
   bytes payload (<= 61440) | signature (64)

The signature is Ed25519 by the sender over SHA-256("gridpact/tx/v1" || every field but
the signature); the id is SHA-256 of the whole encoding."""

import hashlib
import json
import os
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from .codec import DecodeError, Reader, Writer

DOMAIN = b"gridpact/tx/v1"
VERSION = 1
MAX_CHAIN_ID = 64
MAX_PAYLOAD = 60 * 1024
MAX_TX_BYTES = 64 * 1024


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


class Key:
    """An Ed25519 key pair. The seed never leaves this object but through `seed`."""

    def __init__(self, seed):
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._signing = nacl.signing.SigningKey(bytes(seed))
        self.seed = bytes(seed)
        self.public_key = bytes(self._signing.verify_key)

    @classmethod
    def generate(cls):
        return cls(os.urandom(32))

    @classmethod
    def from_file(cls, path):
        """A gridpact key file ({"public_key": hex, "seed": hex}, e.g. chain/keys/alice.json)."""
        with open(path, encoding="utf-8") as f:
            return cls(bytes.fromhex(json.load(f)["seed"]))

    def sign(self, message):
        return self._signing.sign(bytes(message)).signature

    def __repr__(self):  # never the seed
        return f"Key({self.public_key.hex()})"


def verify_signature(public_key, message, signature):
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
        return True
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False


@dataclass
class Transaction:
    chain_id: str
    nonce: int
    type: int
    payload: bytes
    sender: bytes = bytes(32)
    signature: bytes = bytes(64)

    def _unsigned(self, w):
        w.u8(VERSION).str(self.chain_id, MAX_CHAIN_ID).raw(self.sender)
        w.u64(self.nonce).int("u16", self.type).bytes(self.payload, MAX_PAYLOAD)
        return w

    def signing_hash(self):
        return sha256(self._unsigned(Writer().raw(DOMAIN)).take())

    def sign(self, key):
        self.sender = key.public_key
        self.signature = key.sign(self.signing_hash())
        return self

    def signature_valid(self):
        return verify_signature(self.sender, self.signing_hash(), self.signature)

    def encode(self):
        return self._unsigned(Writer()).raw(self.signature).take()

    def id(self):
        return sha256(self.encode())

    def hex(self):
        return self.encode().hex()

    @classmethod
    def decode(cls, data):
        if len(data) > MAX_TX_BYTES:
            raise DecodeError("TOO_LARGE")
        r = Reader(data)
        if r.int("u8") != VERSION:
            raise DecodeError("UNKNOWN_VERSION")
        chain_id = r.bytes(MAX_CHAIN_ID).decode("utf-8")
        sender = r.need(32)
        nonce = r.int("u64")
        type_ = r.int("u16")
        payload = r.bytes(MAX_PAYLOAD)
        signature = r.need(64)
        r.end()
        return cls(chain_id, nonce, type_, payload, sender, signature)


def build(key, chain_id, nonce, message, value, registry=None):
    """A signed transaction of `message` (a name such as "market/offer", or its number)
    with payload fields `value`, encoded from the registry."""
    from .schema import registry as default_registry
    type_, payload = (registry or default_registry()).encode_payload(message, value)
    return Transaction(chain_id, nonce, type_, payload).sign(key)
