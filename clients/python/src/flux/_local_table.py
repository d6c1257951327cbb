"""The local validator's table: keys by digest and by id, and the organisations validated over the network, built
from SubscribeKeys messages. Entries are replaced, never changed, so the hot path reads them without a lock."""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional, Set

from flux.apikeys.v1 import api_key_pb2, local_validation_pb2, validation_pb2

from . import _convert
from ._local_checks import Networks, compile_cidrs, decode_digest
from ._models import KeyInfo

REVOKED = api_key_pb2.KEY_STATE_REVOKED
DISABLED = api_key_pb2.KEY_STATE_DISABLED
EXPIRED = api_key_pb2.KEY_STATE_EXPIRED
ACTIVE = api_key_pb2.KEY_STATE_ACTIVE


class KeyEntry:
    """Everything validate needs about one key, precomputed once per change."""

    __slots__ = (
        "digest", "key_id", "org_id", "state", "expires_at_ms", "networks", "scopes", "rate_limit_requests",
        "metered", "info_proto", "_key_info", "remote_only", "shape_ok",
    )  # fmt: skip

    def __init__(self, key: local_validation_pb2.LocalKey) -> None:
        info = key.info
        self.digest: bytes = decode_digest(key.digest)
        self.key_id: str = info.id
        self.org_id: str = info.org_id
        self.state: int = key.state
        self.expires_at_ms: Optional[float] = None
        if info.HasField("expires_at"):
            t = info.expires_at
            self.expires_at_ms = t.seconds * 1000.0 + t.nanos / 1e6
        cidrs = key.allowed_cidrs
        self.networks: Optional[Networks] = compile_cidrs(list(cidrs)) if cidrs else None
        self.scopes: FrozenSet[str] = frozenset(info.scopes)
        # 0: no rate limit.
        self.rate_limit_requests: int = key.rate_limit.requests if key.HasField("rate_limit") else 0
        self.metered: bool = key.HasField("credits")
        self.info_proto: validation_pb2.KeyInfo = info
        self._key_info: Optional[KeyInfo] = None
        # A list this SDK cannot read, or a state it does not know: the network decides.
        self.remote_only: bool = (bool(cidrs) and self.networks is None) or key.state not in (ACTIVE, DISABLED, REVOKED, EXPIRED)
        # Set once a call's secret matched this digest and passed the shape check: the same secret passes again.
        self.shape_ok = False

    @property
    def key_info(self) -> KeyInfo:
        """The answer of a VALID call on a key without limits: one shared, frozen value, made at its first use (a
        snapshot holds many keys this process may never see)."""
        answer = self._key_info
        if answer is None:
            info = self.info_proto
            answer = self._key_info = KeyInfo(
                id=info.id,
                org_id=info.org_id,
                name=info.name,
                scopes=tuple(info.scopes),
                metadata={k: info.metadata[k] for k in info.metadata},
                expires_at=_convert.timestamp(info, "expires_at"),
                rate_limit=None,
            )
        return answer


class KeyTable:
    """One session's view. Written by the stream thread only; read by validate without a lock."""

    def __init__(self) -> None:
        self.by_digest: Dict[bytes, KeyEntry] = {}
        self.digest_by_id: Dict[str, bytes] = {}
        self.remote_orgs: Set[str] = set()
        self.complete = False

    def put(self, key: local_validation_pb2.LocalKey) -> str:
        entry = KeyEntry(key)
        self.remove(entry.key_id)
        self.digest_by_id[entry.key_id] = entry.digest
        self.by_digest[entry.digest] = entry
        return entry.key_id

    def remove(self, key_id: str) -> None:
        old = self.digest_by_id.pop(key_id, None)
        if old is not None:
            self.by_digest.pop(old, None)

    def organization(self, org: local_validation_pb2.LocalOrganization) -> None:
        if org.validate_remotely:
            self.remote_orgs.add(org.org_id)
        else:
            self.remote_orgs.discard(org.org_id)

    def apply_snapshot(self, snapshot: local_validation_pb2.LocalKeySnapshot) -> None:
        for key in snapshot.keys:
            self.put(key)
        for org in snapshot.organizations:
            self.organization(org)
        if snapshot.complete:
            self.complete = True

    def apply_change(self, change: local_validation_pb2.LocalKeyChange) -> Optional[str]:
        """Applies one change; returns the id of the key it touched (its leases must go), if any."""
        kind = change.WhichOneof("change")
        if kind == "key":
            return self.put(change.key)
        if kind == "removed_key_id":
            self.remove(change.removed_key_id)
            return change.removed_key_id
        if kind == "organization":
            self.organization(change.organization)
        return None
