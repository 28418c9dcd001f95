"""The canonical binary encoding (src/codec/codec.hpp), driven by the field layouts of the
registry (clients/schema.json, printed by `gridpact schema`).

Values are what the node's JSON shows (codec::fields_json): integers as int (or a decimal
string), named enums by name (or number), fixed-size and byte fields as hex (or bytes),
strings as text, optionals as None or the value, lists as lists, nested structs as dicts.
A field left out of a dict takes its zero value (0, the range's low end, False, "", empty,
absent), except fixed-size fields (keys, hashes), which must be given.
"""

import struct

__all__ = ["EncodeError", "DecodeError", "Writer", "Reader", "encode_fields", "decode_fields",
           "encode_value", "decode_value"]


class EncodeError(ValueError):
    """A value that does not fit its field (the node would refuse it as BAD_ENCODING)."""


class DecodeError(ValueError):
    """Bytes that are not one value of the layout (TRUNCATED, TRAILING_BYTES, ...)."""


_INT = {"u8": (1, False), "u16": (2, False), "u32": (4, False), "u64": (8, False),
        "i8": (1, True), "i16": (2, True), "i32": (4, True), "i64": (8, True)}


def _bounds(kind):
    size, signed = _INT[kind]
    if signed:
        return -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1
    return 0, (1 << (8 * size)) - 1


class Writer:
    def __init__(self):
        self.out = bytearray()

    def int(self, kind, v):
        size, signed = _INT[kind]
        self.out += int(v).to_bytes(size, "big", signed=signed)
        return self

    def u8(self, v):
        return self.int("u8", v)

    def u32(self, v):
        return self.int("u32", v)

    def u64(self, v):
        return self.int("u64", v)

    def raw(self, b):
        self.out += b
        return self

    def bytes(self, b, max_len):
        if len(b) > max_len:
            raise EncodeError(f"{len(b)} bytes exceed the field's {max_len}")
        self.out += struct.pack(">I", len(b)) + b
        return self

    def str(self, s, max_len):
        return self.bytes(s.encode("utf-8"), max_len)

    def take(self):
        return bytes(self.out)


class Reader:
    def __init__(self, data):
        self.data = bytes(data)
        self.at = 0

    def need(self, n):
        if self.at + n > len(self.data):
            raise DecodeError("TRUNCATED")
        b = self.data[self.at:self.at + n]
        self.at += n
        return b

    def int(self, kind):
        size, signed = _INT[kind]
        return int.from_bytes(self.need(size), "big", signed=signed)

    def length(self, max_len):
        n = self.int("u32")
        if n > max_len:
            raise DecodeError(f"FIELD_TOO_LONG: {n} > {max_len}")
        return n

    def bytes(self, max_len):
        return self.need(self.length(max_len))

    def end(self):
        if self.at != len(self.data):
            raise DecodeError("TRAILING_BYTES")


def _hex_or_bytes(v, what):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, str):
        try:
            return bytes.fromhex(v)
        except ValueError:
            raise EncodeError(f"{what}: not hex") from None
    raise EncodeError(f"{what}: expected hex or bytes, got {type(v).__name__}")


def _zero(desc):
    kind = desc["kind"]
    if kind in _INT:
        return desc["range"][0] if "range" in desc else 0
    return {"bool": False, "string": "", "bytes": b"", "list": [], "optional": None,
            "struct": {}}.get(kind)


def encode_value(desc, v, w, path):
    kind = desc["kind"]
    if kind in _INT:
        if isinstance(v, str) and v in desc.get("values", {}):
            v = desc["values"][v]
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise EncodeError(f"{path}: expected an integer, got {v!r}")
        try:
            v = int(v)
        except ValueError:
            raise EncodeError(f"{path}: {v!r} is not an integer or a name") from None
        lo, hi = desc.get("range", _bounds(kind))
        if not lo <= v <= hi or not _bounds(kind)[0] <= v <= _bounds(kind)[1]:
            raise EncodeError(f"{path}: {v} is out of range [{lo}, {hi}]")
        if "mask" in desc and v & ~desc["mask"]:
            raise EncodeError(f"{path}: unknown flag bits in {v}")
        w.int(kind, v)
    elif kind == "bool":
        if not isinstance(v, bool):
            raise EncodeError(f"{path}: expected true or false, got {v!r}")
        w.u8(1 if v else 0)
    elif kind == "fixed":
        b = _hex_or_bytes(v, path)
        if len(b) != desc["size"]:
            raise EncodeError(f"{path}: {len(b)} bytes, expected {desc['size']}")
        w.raw(b)
    elif kind == "string":
        if not isinstance(v, str):
            raise EncodeError(f"{path}: expected text, got {v!r}")
        try:
            w.str(v, desc["max_len"])
        except EncodeError as e:
            raise EncodeError(f"{path}: {e}") from None
    elif kind == "bytes":
        try:
            w.bytes(_hex_or_bytes(v, path), desc["max_len"])
        except EncodeError as e:
            raise EncodeError(f"{path}: {e}") from None
    elif kind == "optional":
        w.u8(0 if v is None else 1)
        if v is not None:
            encode_value(desc["item"], v, w, path)
    elif kind == "list":
        if not isinstance(v, (list, tuple)):
            raise EncodeError(f"{path}: expected a list, got {v!r}")
        if len(v) > desc["max_len"]:
            raise EncodeError(f"{path}: {len(v)} items exceed the field's {desc['max_len']}")
        w.u32(len(v))
        for i, item in enumerate(v):
            encode_value(desc["item"], item, w, f"{path}[{i}]")
    elif kind == "struct":
        _encode_fields(desc["fields"], v, w, path)
    elif kind == "const":
        w.int(desc["type"], desc["value"])
    else:
        raise EncodeError(f"{path}: unknown kind {kind!r} (a newer schema?)")


def _encode_fields(fields, obj, w, path):
    if not isinstance(obj, dict):
        raise EncodeError(f"{path or 'payload'}: expected an object, got {obj!r}")
    names = {f["name"] for f in fields if f["kind"] != "const"}
    unknown = set(obj) - names
    if unknown:
        raise EncodeError(f"{path or 'payload'}: unknown fields {sorted(unknown)}")
    for f in fields:
        name = f"{path}.{f['name']}" if path else f["name"]
        if f["kind"] == "const":
            encode_value(f, None, w, name)
        elif f["name"] in obj:
            encode_value(f, obj[f["name"]], w, name)
        elif f["kind"] == "fixed":
            raise EncodeError(f"{name}: required")
        else:
            encode_value(f, _zero(f), w, name)


def encode_fields(fields, obj):
    """The canonical bytes of `obj` (a dict) under the layout `fields`."""
    w = Writer()
    _encode_fields(fields, obj, w, "")
    return w.take()


def decode_value(desc, r, path):
    kind = desc["kind"]
    if kind in _INT:
        v = r.int(kind)
        lo, hi = desc.get("range", _bounds(kind))
        if not lo <= v <= hi:
            raise DecodeError(f"BAD_ENCODING: {path} {v} is out of range")
        if "mask" in desc and v & ~desc["mask"]:
            raise DecodeError(f"BAD_ENCODING: {path} has unknown flag bits")
        for name, number in desc.get("values", {}).items():
            if number == v:
                return name
        return v
    if kind == "bool":
        b = r.int("u8")
        if b > 1:
            raise DecodeError(f"BAD_ENCODING: {path} boolean {b}")
        return b == 1
    if kind == "fixed":
        return r.need(desc["size"]).hex()
    if kind == "string":
        try:
            return r.bytes(desc["max_len"]).decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"BAD_ENCODING: {path} is not UTF-8") from None
    if kind == "bytes":
        return r.bytes(desc["max_len"]).hex()
    if kind == "optional":
        present = decode_value({"kind": "bool"}, r, path)
        return decode_value(desc["item"], r, path) if present else None
    if kind == "list":
        return [decode_value(desc["item"], r, f"{path}[{i}]") for i in range(r.length(desc["max_len"]))]
    if kind == "struct":
        return _decode_fields(desc["fields"], r, path)
    if kind == "const":
        v = r.int(desc["type"])
        if v != desc["value"]:
            raise DecodeError(f"UNKNOWN_VERSION: {path} {v} is not {desc['value']}")
        return v
    raise DecodeError(f"{path}: unknown kind {kind!r}")


def _decode_fields(fields, r, path):
    out = {}
    for f in fields:
        name = f"{path}.{f['name']}" if path else f["name"]
        v = decode_value(f, r, name)
        if f["kind"] != "const":
            out[f["name"]] = v
    return out


def decode_fields(fields, data):
    """The dict that `data` encodes under the layout `fields` (all of it, or DecodeError)."""
    r = Reader(data)
    out = _decode_fields(fields, r, "")
    r.end()
    return out
