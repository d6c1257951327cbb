"""The local validator's pure rules agree with the server's (vectors made by src/domain/key-material.ts and cidr.ts),
and its table applies snapshots and changes as the protocol says. No server."""

from __future__ import annotations

import base64

from flux._local_checks import (
    compile_cidrs,
    decode_digest,
    digester,
    ip_allowed,
    is_well_formed,
    pepper_id,
    request_is_plain,
)
from flux._local_table import KeyTable
from flux.apikeys.v1 import api_key_pb2, local_validation_pb2, validation_pb2

# generateSecret("flux_") and createDigester()(s) / createDigester("pep")(s), from the server's own code.
SECRET = "flux_S17K4MVupwVFQ8MiYUeIJDvB8yaZtW0xPUi8"
SHA256_DIGEST = "6vX3rh8krQRbKbd71PUTt7YjLxBUMMwePnRgFPZ1hcA"
PEPPERED_DIGEST = "_wcrnCDV_TjdPRWRpkdy0s3Wi03b_mk7AAM0RrFDqVA"


def test_a_key_is_well_formed_exactly_when_the_server_says_so() -> None:
    assert is_well_formed(SECRET)
    assert not is_well_formed(SECRET[:-1] + "A")  # checksum
    assert not is_well_formed(SECRET + "\n")  # the server's regex has no trailing-newline allowance
    assert not is_well_formed("fluxadm_" + SECRET[5:])
    assert not is_well_formed(SECRET[:-2])
    assert not is_well_formed(SECRET[:10] + "é" + SECRET[11:])


def test_digests_are_the_servers_with_and_without_a_pepper() -> None:
    assert digester(None)(SECRET.encode()) == decode_digest(SHA256_DIGEST)
    assert digester(b"pep")(SECRET.encode()) == decode_digest(PEPPERED_DIGEST)
    mac = base64.urlsafe_b64decode(pepper_id(b"pep") + "=")
    assert len(mac) == 32 and pepper_id(b"pep") != pepper_id(b"other")


def test_cidr_matching_is_the_servers_including_ipv4_mapped_addresses() -> None:
    nets = compile_cidrs(["10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24"])
    assert nets is not None
    expected = {
        "10.1.2.3": True, "11.0.0.1": False, "::ffff:10.0.0.1": True, "2001:db8::1": True,
        "2001:db9::1": False, "192.0.2.7": True, "::ffff:192.0.2.7": True, "": False, "fe80::1%eth0": False,
    }  # fmt: skip
    assert {ip: ip_allowed(nets, ip) for ip in expected} == expected


def test_requests_the_server_would_refuse_are_left_to_the_server() -> None:
    assert request_is_plain([], 1, "")
    assert request_is_plain(["data:read", "a/b*"], 0, "2001:db8::1")
    assert not request_is_plain(["bad scope"], 1, "")
    assert not request_is_plain([f"s{i}" for i in range(101)], 1, "")
    assert request_is_plain(["same"] * 150, 1, "")  # the server counts distinct scopes
    assert not request_is_plain([], 1_000_001, "") and not request_is_plain([], -1, "")
    assert not request_is_plain([], 1, "10.0.0.1/8") and not request_is_plain([], 1, "fe80::1%eth0")


def _key(key_id: str, digest: str, state: int = api_key_pb2.KEY_STATE_ACTIVE) -> local_validation_pb2.LocalKey:
    return local_validation_pb2.LocalKey(
        digest=digest, state=state, info=validation_pb2.KeyInfo(id=key_id, org_id="org_1", name=key_id, scopes=["a"])
    )


def test_the_table_follows_snapshots_changes_rotations_and_organisations() -> None:
    table = KeyTable()
    table.apply_snapshot(local_validation_pb2.LocalKeySnapshot(keys=[_key("key_1", SHA256_DIGEST)]))
    assert not table.complete
    table.apply_snapshot(
        local_validation_pb2.LocalKeySnapshot(
            organizations=[local_validation_pb2.LocalOrganization(org_id="org_2", validate_remotely=True)],
            complete=True,
        )
    )
    assert table.complete and table.remote_orgs == {"org_2"}
    entry = table.by_digest[decode_digest(SHA256_DIGEST)]
    assert entry.key_id == "key_1" and entry.key_info.scopes == ("a",) and entry.networks is None

    rotated = local_validation_pb2.LocalKeyChange(key=_key("key_1", PEPPERED_DIGEST, api_key_pb2.KEY_STATE_REVOKED))
    assert table.apply_change(rotated) == "key_1"
    assert decode_digest(SHA256_DIGEST) not in table.by_digest  # the old secret's digest is gone
    assert table.by_digest[decode_digest(PEPPERED_DIGEST)].state == api_key_pb2.KEY_STATE_REVOKED

    assert table.apply_change(local_validation_pb2.LocalKeyChange(removed_key_id="key_1")) == "key_1"
    assert not table.by_digest and not table.digest_by_id
    org = local_validation_pb2.LocalOrganization(org_id="org_2", validate_remotely=False)
    assert table.apply_change(local_validation_pb2.LocalKeyChange(organization=org)) is None
    assert table.remote_orgs == set()
