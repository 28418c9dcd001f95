"""Friendly builders of common payloads, over the registry's generic encoder, and the
virtual meter's signatures (src/modules/meters/meters.cpp, src/attest/evidence.cpp)."""

from .codec import Writer
from .tx import Key, sha256

READING_TAG = b"GRIDPACT/reading/v1"
REGISTRATION_TAG = b"GRIDPACT/meters/register/v1"
ATTEST_DOMAIN = b"GRIDPACT/attest/v1"
VIRTUAL_DOMAIN = b"GRIDPACT/attest/virtual/v1 INSECURE"
ANY_SOURCE = 0x7E  # market::kAnySource: bits 1..6, every generating source


def _source_number(source):
    if isinstance(source, int):
        return source
    from .schema import registry
    field = next(f for f in registry().message("meters/register")["fields"] if f["name"] == "source")
    return field["values"][source]


def _hex(b):
    return b.hex() if isinstance(b, (bytes, bytearray)) else b


def transfer(to, amount, memo=""):
    return "bank/transfer", {"to": _hex(to), "amount": amount, "memo": memo}


def offer(period, qty_wh, price, meter, commodity="electricity"):
    """Sell `qty_wh` in settlement period `period` at `price` (micro-units per kWh)."""
    return "market/offer", {"commodity": commodity, "period": period, "qty": qty_wh,
                            "price": price, "meter": _hex(meter)}


def bid(period, qty_wh, price, meter, commodity="electricity", **preferences):
    """Buy; preferences are the bid's other fields (renewable_only, allowed_sources,
    excluded_sellers, excluded_microgrids, preferred_sellers). allowed_sources is a bit per
    source (1 << source number); by default every generating source."""
    value = {"commodity": commodity, "period": period, "qty": qty_wh, "price": price,
             "meter": _hex(meter), "allowed_sources": ANY_SOURCE}
    value.update(preferences)
    return "market/bid", value


def meter_id(meter_key):
    """A meter's id: SHA-256 of its public key."""
    return sha256(meter_key.public_key)


def register_virtual_meter(meter_key, owner, chain_id, microgrid, source="consumer",
                           location="", firmware_version="", initial_import_wh=0,
                           initial_export_wh=0):
    """A meters/register payload for a virtual (software, INSECURE) meter: its evidence is a
    self-signature binding the meter key to this owner, chain and registration. Accepted
    only by chains whose meters policy allows virtual meters (development chains do)."""
    owner = owner.public_key if isinstance(owner, Key) else bytes(owner)
    src = _source_number(source)
    challenge = sha256(Writer().raw(REGISTRATION_TAG).raw(owner).str(microgrid, 64).u8(src)
                       .str(location, 128).str(firmware_version, 64).u64(initial_import_wh)
                       .u64(initial_export_wh).take())
    pk = meter_key.public_key
    nonce = sha256(Writer().raw(ATTEST_DOMAIN).bytes(chain_id.encode(), 1 << 20)
                   .bytes(pk, 65).bytes(challenge, 1 << 20).take())
    evidence = (Writer().u8(1).u8(1).bytes(pk, 65)
                .raw(meter_key.sign(sha256(VIRTUAL_DOMAIN, nonce))).take())
    return "meters/register", {
        "evidence": evidence.hex(), "microgrid": microgrid, "source": src,
        "location": location, "firmware_version": firmware_version,
        "initial_import_wh": initial_import_wh, "initial_export_wh": initial_export_wh}


def reading(meter_key, chain_id, period, seq, import_wh, export_wh):
    """A meters/reading payload signed by the meter (cumulative registers in Wh)."""
    mid = meter_id(meter_key)
    digest = sha256(Writer().raw(READING_TAG).str(chain_id, 64).raw(mid).u64(period).u64(seq)
                    .u64(import_wh).u64(export_wh).take())
    return "meters/reading", {"meter": mid.hex(), "period": period, "seq": seq,
                              "import_wh": import_wh, "export_wh": export_wh,
                              "signature": meter_key.sign(digest).hex()}
