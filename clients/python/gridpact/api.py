"""The node's HTTP/JSON API (docs/openapi.yaml), with the standard library only."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from .tx import Transaction


class ApiError(Exception):
    """The node's JSON error: a stable numeric code and name (`gridpact codes`)."""

    def __init__(self, status, code, name, message):
        super().__init__(f"{name} ({code}): {message}")
        self.status, self.code, self.name, self.message = status, code, name, message


class Client:
    def __init__(self, url="http://127.0.0.1:8080", timeout=70):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._chain = None

    def _request(self, method, path, body=None, params=None):
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                err = json.loads(e.read())["error"]
            except (ValueError, KeyError):
                raise ApiError(e.code, 0, "HTTP", str(e)) from None
            raise ApiError(e.code, err.get("code"), err.get("name"), err.get("message")) from None

    def get(self, path, **params):
        return self._request("GET", path, params=params or None)

    # ---- Reads ----

    def health(self):
        return self.get("/v1/health")

    def chain(self):
        """{chain_id, genesis_hash, validator, development, height, tx_types}."""
        if self._chain is None:
            self._chain = self.get("/v1/chain")
        return self._chain

    def account(self, public_key):
        pk = public_key.hex() if isinstance(public_key, (bytes, bytearray)) else public_key
        return self.get(f"/v1/accounts/{pk}")

    def nonce(self, public_key):
        return self.account(public_key)["nonce"]

    def tx(self, tx_id):
        """{tx, receipt, header, bundle}: the bundle verifies offline (proofs.verify_bundle)."""
        tid = tx_id.hex() if isinstance(tx_id, (bytes, bytearray)) else tx_id
        return self.get(f"/v1/tx/{tid}")

    def block(self, height="latest"):
        return self.get(f"/v1/blocks/{height}")

    def state(self, key, height=None):
        params = {"key": key.hex() if isinstance(key, (bytes, bytearray)) else key}
        if height is not None:
            params["height"] = height
        return self.get("/v1/state", **params)

    def query(self, module, path, **params):
        """A module's query: GET /v1/<module>/<path>?params."""
        return self.get(f"/v1/{module}/{path}", **params)

    # ---- Writes ----

    def submit(self, txs, wait=False, timeout_ms=None):
        """Sends signed transactions (one, or a list as one batch). With wait=True, returns
        once each is committed ("status": "committed", with its receipt) or the timeout has
        passed ("pending"). One transaction: its result, raising ApiError if refused; a
        list: the list of results (each an error or {tx_id, status, receipt?})."""
        one = isinstance(txs, (Transaction, bytes, bytearray, str))
        raws = [t.hex() if isinstance(t, Transaction) else
                t.hex() if isinstance(t, (bytes, bytearray)) else t
                for t in ([txs] if one else txs)]
        params = {}
        if wait:
            params["wait"] = "commit"
        if timeout_ms is not None:
            params["timeout_ms"] = timeout_ms
        body = {"tx": raws[0]} if one else {"txs": raws}
        r = self._request("POST", "/v1/tx", body, params or None)
        return r if one else r["results"]

    def wait_committed(self, tx_id, timeout_s=30):
        """Polls GET /v1/tx/<id> until the transaction is in a block."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.tx(tx_id)
            except ApiError as e:
                if e.name != "NOT_FOUND" or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    # ---- Streams (Server-Sent Events) ----

    def _events(self, path, params=None):
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        req = urllib.request.Request(url, headers={"Accept": "text/event-stream"})
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            event, data, last_id = "message", [], None
            for raw in r:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        yield {"event": event, "id": last_id, "data": json.loads("\n".join(data))}
                    event, data = "message", []
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "event":
                        event = value
                    elif name == "data":
                        data.append(value)
                    elif name == "id":
                        last_id = value

    def blocks(self, from_height=None):
        """Yields each committed block's event ({"event": "block", "data": header and
        counts}), and "gap" events for blocks the stream no longer holds."""
        return self._events("/v1/events/blocks",
                            None if from_height is None else {"from": from_height})

    def account_events(self, public_key):
        """The per-account stream (/v1/events/accounts/<pk>) of nodes that serve it."""
        pk = public_key.hex() if isinstance(public_key, (bytes, bytearray)) else public_key
        return self._events(f"/v1/events/accounts/{pk}")
