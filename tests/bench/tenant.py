#!/usr/bin/python3
"""Installs a benchmark tenant into a running stack through its real
signed-install path and prints a context token for it (valid 10 minutes).

    tests/bench/tenant.py STACK_DIR BASE_URL
"""
import hashlib
import json
import sys
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def main():
    stack_dir, base = sys.argv[1], sys.argv[2].rstrip("/")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    with open(f"{stack_dir}/state/install-keys/bench-kid.pem", "wb") as f:
        f.write(pem)
    now = int(time.time())
    secret = "bench-secret-" + "x" * 40
    body = {"key": "cellar-dev", "clientKey": "bench-client",
            "sharedSecret": secret, "baseUrl": "https://bench.example.net",
            "productType": "jira", "eventType": "installed"}
    qsh = hashlib.sha256(b"POST&/installed&").hexdigest()
    tok = jwt.encode({"iss": "bench-client", "aud": base, "qsh": qsh,
                      "iat": now, "exp": now + 180}, key,
                     algorithm="RS256", headers={"kid": "bench-kid"})
    r = requests.post(base + "/installed", data=json.dumps(body),
                      headers={"Content-Type": "application/json",
                               "Authorization": "JWT " + tok}, timeout=10)
    if r.status_code != 204:
        sys.exit(f"bench: install failed: {r.status_code}")
    ctx = jwt.encode({"iss": "bench-client", "sub": "bench-user",
                      "qsh": "context-qsh", "iat": now, "exp": now + 600},
                     secret, algorithm="HS256")
    r = requests.get(base + "/api/tenant",
                     headers={"Authorization": "JWT " + ctx}, timeout=10)
    if r.status_code != 200:
        sys.exit(f"bench: /api/tenant failed: {r.status_code}")
    print(ctx)


if __name__ == "__main__":
    main()
