"""The product page's Python snippet (API Keys → Scoping Permissions) as written, with the least set-up
around it, followed by the page's other steps (rate-limited key, rotation, usage) in Python.

    FLUX_URL=http://127.0.0.1:50051 FLUX_ADMIN_KEY=<admin key> python examples/product_page.py
"""

import os
import uuid

import flux

# The page's `flux.init("your-api-key")`, with the admin key taken from the environment.
flux.init(os.environ["FLUX_ADMIN_KEY"])

# --- set-up: scopes are defined once ("in the API Keys settings"), then a key is issued ---
flux.api_keys.define_scope("data:read", "Read data")
org_id = f"org_{uuid.uuid4().hex}"  # stands for the page's org.id
key = flux.api_keys.create(
    org_id=org_id,
    name="Public API client",
    scopes=["data:read"],
    expires_at=None,  # No expiry; set a datetime to auto-expire
    rate_limit=flux.RateLimit(requests=1000, window_seconds=60),
)
# key.secret is shown once — store it securely
print(f"Created key: {key.id}")
raw_key = key.secret  # what a machine-to-machine client would present

# --- the page's Python snippet ---
key_info = flux.api_keys.validate(raw_key)

if not key_info.has_scope("data:read"):
    raise PermissionError("Insufficient scope")

# --- Key Rotation: the old secret stops working immediately ---
new_key = flux.api_keys.rotate(key.id)
print(f"New secret issued for {new_key.id}")

# --- Usage Tracking ---
usage = flux.api_keys.get_usage(key.id)
print(f"Requests this month: {usage.requests_current_period}")
