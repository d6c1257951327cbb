"""Pure rules the local validator applies exactly as the server does: key shape and checksum (key-material.ts),
digests (SHA-256 or HMAC with the pepper), scope names, client_ip and CIDR matching (cidr.ts). No I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import zlib
from typing import Callable, Optional, Sequence, Tuple, Union

API_KEY_PREFIX = "flux_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_CHARS = 30
_CHECKSUM_CHARS = 6
_SHAPE = re.compile(f"{API_KEY_PREFIX}[0-9A-Za-z]{{{_RANDOM_CHARS + _CHECKSUM_CHARS}}}")
# Limits of ValidateApiKey (src/domain/limits.ts): a request past them is the server's to refuse.
KEY_LENGTH_MAX = 512
REQUIRED_SCOPES_MAX = 100
COST_MAX = 1_000_000
CLIENT_IP_LENGTH_MAX = 45
_SCOPE_NAME = re.compile(r"[A-Za-z0-9._:\-/*]{1,100}")
PEPPER_ID_MESSAGE = b"flux-pepper-id"

IpAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IpNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def _checksum(body: str) -> str:
    n = zlib.crc32(body.encode("ascii"))
    out = ""
    for _ in range(_CHECKSUM_CHARS):
        out = _ALPHABET[n % 62] + out
        n //= 62
    return out


def is_well_formed(secret: str) -> bool:
    """The server's isWellFormed(secret, "flux_"): prefix, 36 base62 characters, the last 6 a CRC-32 of the rest."""
    if _SHAPE.fullmatch(secret) is None:
        return False
    split = len(secret) - _CHECKSUM_CHARS
    return _checksum(secret[:split]) == secret[split:]


def decode_digest(digest: str) -> bytes:
    """A wire digest (base64url, unpadded) as the raw bytes the hot path compares (no encoding per call)."""
    return base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4))


def digester(pepper: Optional[bytes]) -> Callable[[bytes], bytes]:
    """secret bytes → raw digest bytes: SHA-256, or HMAC-SHA-256 keyed with the pepper."""
    if pepper is None:
        sha256 = hashlib.sha256
        return lambda secret: sha256(secret).digest()
    one_shot = hmac.digest
    return lambda secret: one_shot(pepper, secret, "sha256")


def pepper_id(pepper: bytes) -> str:
    """What ValidatorSession.pepper_id holds for this pepper: base64url(HMAC-SHA-256(pepper, "flux-pepper-id"))."""
    mac = hmac.digest(pepper, PEPPER_ID_MESSAGE, "sha256")
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def request_is_plain(required_scopes: Sequence[str], cost: object, client_ip: str) -> bool:
    """Whether the server would accept the request's own fields (else the network answers, with the server's error)."""
    if required_scopes:
        if len(set(required_scopes)) > REQUIRED_SCOPES_MAX:
            return False
        for s in required_scopes:
            if type(s) is not str or _SCOPE_NAME.fullmatch(s) is None:
                return False
    if type(cost) is not int or not 0 <= cost <= COST_MAX:
        return False
    return type(client_ip) is str and (client_ip == "" or parse_client_ip(client_ip) is not None)


def parse_client_ip(ip: str) -> Optional[IpAddress]:
    """One IPv4 or IPv6 address without zone, at most 45 characters (cidr.ts isClientIp), else None."""
    if len(ip) > CLIENT_IP_LENGTH_MAX or "%" in ip or not ip.isascii():
        return None
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


Networks = Tuple[Tuple[IpNetwork, ...], Tuple[IpNetwork, ...]]


def compile_cidrs(cidrs: Sequence[str]) -> Optional[Networks]:
    """The key's normalised CIDRs split by family (IPv4, IPv6); None if Python cannot read one (the network decides)."""
    v4: list = []
    v6: list = []
    for c in cidrs:
        try:
            net = ipaddress.ip_network(c, strict=False)
        except ValueError:
            return None
        (v4 if net.version == 4 else v6).append(net)
    return tuple(v4), tuple(v6)


def ip_allowed(networks: Networks, client_ip: str) -> bool:
    """Whether client_ip ("" = none given) falls in the key's list; IPv4-mapped IPv6 matches IPv4 networks."""
    if client_ip == "":
        return False
    ip = parse_client_ip(client_ip)
    if ip is None:
        return False
    v4, v6 = networks
    if ip.version == 4:
        return any(ip in n for n in v4)
    if any(ip in n for n in v6):
        return True
    mapped = ip.ipv4_mapped  # type: ignore[union-attr]
    return mapped is not None and any(mapped in n for n in v4)
