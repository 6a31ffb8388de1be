"""MAAS's beacon decoding, rewritten from the protocol description.

The steps and libraries of MAAS's read_beacon_payload
(provisioningserver/utils/beaconing.py): header unpack, length check,
version check, Fernet decrypt with ttl=60 through cryptography's Fernet
(the raw token base64-encoded first, as MAAS's fernet_decrypt_psk(raw=True)
does), gzip.decompress, BSON decode. The baseline the benchmark compares
netbeacon with; shared by maas_decode.py and maas_observe.py.
"""

import base64
import struct
from gzip import decompress

import bson
from bson.errors import BSONError
from cryptography.fernet import Fernet, InvalidToken

BEACON_HEADER_FORMAT_V1 = "!BBH"
BEACON_HEADER_LENGTH_V1 = 4
BEACON_TYPE_VALUES = {1: "solicitation", 2: "advertisement"}
BEACON_TTL = 60


class InvalidBeaconingPacket(Exception):
    def __init__(self, invalid_reason):
        super().__init__(invalid_reason)
        self.invalid_reason = invalid_reason


def make_fernet(key_bytes):
    """MAAS builds its Fernet once from the derived 32-byte key."""
    return Fernet(base64.urlsafe_b64encode(key_bytes))


def fernet_decrypt_raw(fernet, token, now=None):
    """fernet_decrypt_psk(token, ttl=60, raw=True); `now` fixes the clock (seconds)."""
    message = base64.urlsafe_b64encode(token)
    if now is None:
        return fernet.decrypt(message, ttl=BEACON_TTL)
    return fernet.decrypt_at_time(message, BEACON_TTL, int(now))


def read_beacon_payload(beacon_bytes, fernet, now=None):
    """Returns (version, type name, payload) or raises InvalidBeaconingPacket."""
    if len(beacon_bytes) < BEACON_HEADER_LENGTH_V1:
        raise InvalidBeaconingPacket(
            "Beaconing packet must be at least %d bytes." % BEACON_HEADER_LENGTH_V1
        )
    header = beacon_bytes[:BEACON_HEADER_LENGTH_V1]
    version, beacon_type_code, expected_payload_length = struct.unpack(
        BEACON_HEADER_FORMAT_V1, header
    )
    actual_payload_length = len(beacon_bytes) - BEACON_HEADER_LENGTH_V1
    if actual_payload_length < expected_payload_length:
        raise InvalidBeaconingPacket(
            "Invalid payload length: expected %d bytes, got %d bytes."
            % (expected_payload_length, actual_payload_length)
        )
    if version not in (1, 2):
        raise InvalidBeaconingPacket("Unknown beacon version: %d" % version)
    payload_start = BEACON_HEADER_LENGTH_V1
    payload_end = BEACON_HEADER_LENGTH_V1 + expected_payload_length
    payload_bytes = beacon_bytes[payload_start:payload_end]
    payload = None
    if len(payload_bytes) > 0:
        try:
            decrypted_data = fernet_decrypt_raw(fernet, payload_bytes, now)
        except InvalidToken:
            raise InvalidBeaconingPacket(
                "Failed to decrypt inner payload: check MAAS secret key."
            )
        try:
            decompressed_data = decompress(decrypted_data)
        except OSError:
            raise InvalidBeaconingPacket(
                "Failed to decompress inner payload: %r" % decrypted_data
            )
        try:
            # MAAS: BSON.decode(BSON(decompressed_data))
            payload = bson.BSON(decompressed_data).decode()
        except BSONError:
            raise InvalidBeaconingPacket(
                "Inner beacon payload is not BSON: %r" % decompressed_data
            )
    beacon_type_code = payload["type"] if payload else beacon_type_code
    return version, BEACON_TYPE_VALUES.get(beacon_type_code), payload


REASON_PREFIXES = (
    ("Beaconing packet must be at least", "short"),
    ("Invalid payload length", "length"),
    ("Unknown beacon version", "version"),
    ("Failed to decrypt", "decrypt"),
    ("Failed to decompress", "decompress"),
    ("Inner beacon payload is not BSON", "bson"),
)


def reason_name(invalid_reason):
    for prefix, name in REASON_PREFIXES:
        if invalid_reason.startswith(prefix):
            return name
    return "other"
