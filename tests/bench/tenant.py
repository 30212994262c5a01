#!/usr/bin/python3
"""Installs a tenant into a running stack through its real signed-install
path (a fresh RSA key dropped into the stack's install_key_dir, an RS256
install token, POST /installed through nginx) and prints a context token
for it (valid 10 minutes).  Used by the benchmark and to try the dev stack
by hand; running it again reinstalls the same tenant with a new secret.

    tests/bench/tenant.py STACK_DIR BASE_URL [CLIENT_KEY]
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
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: tenant.py STACK_DIR BASE_URL [CLIENT_KEY]")
    stack_dir, base = sys.argv[1], sys.argv[2].rstrip("/")
    client = sys.argv[3] if len(sys.argv) == 4 else "bench-client"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    with open(f"{stack_dir}/state/install-keys/bench-kid.pem", "wb") as f:
        f.write(pem)
    now = int(time.time())
    secret = "bench-secret-" + "x" * 40
    body = {"key": "cellar-dev", "clientKey": client,
            "sharedSecret": secret, "baseUrl": "https://bench.example.net",
            "productType": "jira", "eventType": "installed"}
    qsh = hashlib.sha256(b"POST&/installed&").hexdigest()
    tok = jwt.encode({"iss": client, "aud": base, "qsh": qsh,
                      "iat": now, "exp": now + 180}, key,
                     algorithm="RS256", headers={"kid": "bench-kid"})
    r = requests.post(base + "/installed", data=json.dumps(body),
                      headers={"Content-Type": "application/json",
                               "Authorization": "JWT " + tok}, timeout=10)
    if r.status_code != 204:
        sys.exit(f"bench: install failed: {r.status_code}")
    ctx = jwt.encode({"iss": client, "sub": "bench-user",
                      "qsh": "context-qsh", "iat": now, "exp": now + 600},
                     secret, algorithm="HS256")
    r = requests.get(base + "/api/tenant",
                     headers={"Authorization": "JWT " + ctx}, timeout=10)
    if r.status_code != 200:
        sys.exit(f"bench: /api/tenant failed: {r.status_code}")
    print(ctx)


if __name__ == "__main__":
    main()
