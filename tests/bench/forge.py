#!/usr/bin/python3
"""Forge Remote for the benchmark: the tenant tenant.py installed is
linked to a Forge installation, so that a FIT-authenticated list reads
the same data as the Connect one; then prints Forge Invocation Tokens
for it.

    tests/bench/forge.py STACK_DIR --link BASE_URL CONTEXT_TOKEN CELLARCTL
        (once: an RSA key whose public half goes into the stack's [forge]
        key_dir as an operator's key, so no key set is fetched; the
        installation linked with `cellarctl tenant link`; checked with
        GET /forge/api/tenant)
    tests/bench/forge.py STACK_DIR --jira JIRA_URL
        (prints a fresh FIT, valid 5 minutes, principal bench-user)

The stack must have [forge] app_id = APP_ID below.  The key and the
installation id are kept in STACK_DIR/run/forge-bench.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-00000000be4c"
KID = "forge/invocation-token/wf-bench"
CLOUD_ID = "00000000-0000-4000-8000-00000000c10d"


def state_path(stack_dir):
    return f"{stack_dir}/run/forge-bench.json"


def fit(state, jira, ttl=300):
    key = serialization.load_pem_private_key(state["key"].encode(), None)
    now = int(time.time())
    claims = {
        "app": {"installationId": state["installation"], "apiBaseUrl": jira,
                "id": APP_ID, "appVersion": "1.0.0",
                "environment": {"type": "PRODUCTION"},
                "module": {"type": "jira:issuePanel", "key": "cellar-panel"},
                "license": {"isActive": True}},
        "context": {"cloudId": CLOUD_ID, "moduleKey": "cellar-panel",
                    "siteUrl": "https://bench.example.net",
                    "extension": {"project": {"id": "10003"}}},
        "principal": "bench-user",
        "iss": "forge/invocation-token", "aud": APP_ID,
        "iat": now, "nbf": now, "exp": now + ttl, "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def link(args):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    d = os.path.join(args.stack_dir, "state", "forge-keys",
                     os.path.dirname(KID))
    os.makedirs(d, mode=0o700, exist_ok=True)
    with open(os.path.join(d, os.path.basename(KID) + ".pem"), "wb") as f:
        f.write(key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))
    state = {"key": key.private_bytes(
                 serialization.Encoding.PEM,
                 serialization.PrivateFormat.PKCS8,
                 serialization.NoEncryption()).decode(),
             "installation":
                 f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"}
    fd = os.open(state_path(args.stack_dir), os.O_WRONLY | os.O_CREAT |
                 os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
    base, ctx, ctl = args.link
    r = requests.get(base + "/api/tenant",
                     headers={"Authorization": "JWT " + ctx}, timeout=10)
    if r.status_code != 200:
        sys.exit(f"bench: /api/tenant failed: {r.status_code}")
    tid = r.json()["tenant"]["id"]
    p = subprocess.run([ctl, "--config", f"{args.stack_dir}/etc", "tenant",
                        "link", tid, state["installation"]],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        sys.exit(f"bench: tenant link failed: {p.stdout}{p.stderr}")
    r = requests.get(base + "/forge/api/tenant", timeout=10, headers={
        "Authorization": "Bearer " + fit(state, "https://bench.invalid")})
    if r.status_code != 200 or r.json()["tenant"]["id"] != tid:
        sys.exit(f"bench: /forge/api/tenant: {r.status_code} {r.text}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stack_dir")
    ap.add_argument("--link", nargs=3,
                    metavar=("BASE_URL", "CONTEXT_TOKEN", "CELLARCTL"))
    ap.add_argument("--jira", default="https://bench.example.net")
    args = ap.parse_args()
    if args.link:
        link(args)
        return
    with open(state_path(args.stack_dir)) as f:
        print(fit(json.load(f), args.jira))


if __name__ == "__main__":
    main()
