"""The message registry (clients/schema.json, printed by `gridpact schema`): every message
type's number, name and payload layout, and every event's layout."""

import json
import os

from .codec import decode_fields, encode_fields

_HERE = os.path.dirname(os.path.abspath(__file__))
# Inside the package (a copy made when it is installed), else the repository's.
_CANDIDATES = [os.path.join(_HERE, "schema.json"), os.path.join(_HERE, "..", "..", "schema.json")]


class Registry:
    def __init__(self, schema):
        self.schema = schema
        self.messages = {m["name"]: m for m in schema["messages"]}
        self.by_type = {m["type"]: m for m in schema["messages"]}
        self.events = {e["type"]: e for e in schema["events"]}

    def message(self, name_or_type):
        m = (self.by_type if isinstance(name_or_type, int) else self.messages).get(name_or_type)
        if m is None:
            raise KeyError(f"no message {name_or_type!r} in the schema (regenerate it?)")
        return m

    def encode_payload(self, name_or_type, value):
        """(type number, payload bytes) of a message given as its fields' values."""
        m = self.message(name_or_type)
        return m["type"], encode_fields(m["fields"], value)

    def decode_payload(self, type_, payload):
        return decode_fields(self.message(type_)["fields"], payload)

    def decode_event(self, event_type, data):
        """An event's fields (a receipt's events carry their canonical encoding)."""
        e = self.events.get(event_type)
        if e is None:
            return None
        return decode_fields(e["fields"], data)


def load(path=None):
    """The registry from `path`, $GRIDPACT_SCHEMA, or the copy beside the package."""
    for p in [path, os.environ.get("GRIDPACT_SCHEMA")] + _CANDIDATES:
        if p and os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                return Registry(json.load(f))
    raise FileNotFoundError("schema.json not found; run `gridpact schema > schema.json`")


_default = None


def registry():
    global _default
    if _default is None:
        _default = load()
    return _default
