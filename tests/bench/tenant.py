#!/usr/bin/python3
"""Installs a tenant into a running stack through its real signed-install
path (a fresh RSA key dropped into the stack's install_key_dir, an RS256
install token, POST /installed through nginx) and prints a context token
for it (valid 10 minutes).  Used by the benchmark and to try the dev stack
by hand; running it again reinstalls the same tenant with a new secret.

    tests/bench/tenant.py STACK_DIR BASE_URL [CLIENT_KEY]
        [--jira JIRA_URL] [--templates N --projects M] [--uninstall]

--jira installs the tenant with that Jira base URL (default: an address
that does not resolve, so anything needing Jira fails closed);
--templates imports N templates scoped to M projects (ids 10000...),
which needs a Jira that calls the caller an admin (tests/bench/jira.py).
--uninstall then sends the signed /uninstalled Jira sends when a site
removes the app (the tenant departs; the reaper deletes it after
[reaper] grace_days) and prints nothing.
"""
import argparse
import hashlib
import json
import sys
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stack_dir")
    ap.add_argument("base")
    ap.add_argument("client", nargs="?", default="bench-client")
    ap.add_argument("--jira", default="https://bench.example.net")
    ap.add_argument("--templates", type=int, default=0)
    ap.add_argument("--projects", type=int, default=1)
    ap.add_argument("--uninstall", action="store_true")
    args = ap.parse_args()
    stack_dir, base = args.stack_dir, args.base.rstrip("/")
    client = args.client
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    with open(f"{stack_dir}/state/install-keys/bench-kid.pem", "wb") as f:
        f.write(pem)
    now = int(time.time())
    secret = "bench-secret-" + "x" * 40
    body = {"key": "cellar-dev", "clientKey": client,
            "sharedSecret": secret, "baseUrl": args.jira,
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
    if args.templates:
        tpls = [{"name": f"Template {i:04d}",
                 "body": f"Hello {{{{reporter.displayName | there}}}}, "
                         f"about {{{{issue.key}}}}: canned reply {i}.",
                 "scope": "projects",
                 "projects": [str(10000 + i % args.projects)],
                 "position": i % 7}
                for i in range(args.templates)]
        r = requests.post(base + "/api/templates/import",
                          data=json.dumps({"templates": tpls}),
                          headers={"Authorization": "JWT " + ctx,
                                   "Content-Type": "application/json"},
                          timeout=60)
        if r.status_code != 201:
            sys.exit(f"bench: import failed: {r.status_code} {r.text}")
    if args.uninstall:
        body["eventType"] = "uninstalled"
        qsh = hashlib.sha256(b"POST&/uninstalled&").hexdigest()
        tok = jwt.encode({"iss": client, "aud": base, "qsh": qsh,
                          "iat": now, "exp": now + 180}, key,
                         algorithm="RS256", headers={"kid": "bench-kid"})
        r = requests.post(base + "/uninstalled", data=json.dumps(body),
                          headers={"Content-Type": "application/json",
                                   "Authorization": "JWT " + tok},
                          timeout=10)
        if r.status_code != 204:
            sys.exit(f"bench: uninstall failed: {r.status_code}")
        return
    print(ctx)


if __name__ == "__main__":
    main()
