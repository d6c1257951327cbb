"""Verifies Standard Webhooks signatures with Python's standard library only (hmac, hashlib, base64).

Reads one JSON object per line on stdin: {"secret": "whsec_...", "id": ..., "timestamp": ..., "signature": ..., "body": ...}
and prints one line per object: "ok" when one of the signatures in the header matches, else "bad".
"""
import base64
import hashlib
import hmac
import json
import sys


def verify(secret: str, msg_id: str, timestamp: str, body: str, header: str) -> bool:
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = f"{msg_id}.{timestamp}.{body}".encode("utf-8")
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in header.split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


for line in sys.stdin:
    if not line.strip():
        continue
    m = json.loads(line)
    print("ok" if verify(m["secret"], m["id"], m["timestamp"], m["body"], m["signature"]) else "bad", flush=True)
