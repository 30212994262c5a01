#!/usr/bin/python3
"""Creates panoramas for the benchmark through the real import route and
prints "ID VERSION MOVED AFTER" per panorama: its id, its version, a
top-level node a move batch can move, and the node it can move after.

    tests/bench/panorama.py BASE_URL TOKEN [--nodes N] [--count K]
    tests/bench/panorama.py BASE_URL TOKEN --refresh "ID V MOVED AFTER;..."

--refresh prints the same list with each panorama's current version
(a round of move batches leaves the versions it started from behind).
Each panorama holds N issue nodes (default 10,000): N/100 top-level
issues with 99 children each, issue ids from 10000.  The tenant's Jira
must let the caller browse them (tests/bench/jira.py does).
"""
import argparse
import json
import sys

import requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("token")
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--refresh")
    args = ap.parse_args()
    base = args.base.rstrip("/")
    hdr = {"Authorization": "JWT " + args.token,
           "Content-Type": "application/json"}
    if args.refresh is not None:
        out = []
        for spec in filter(None, args.refresh.split(";")):
            pid, _, moved, after = spec.split()
            r = requests.get(f"{base}/api/panoramas/{pid}", headers=hdr,
                             timeout=30)
            if r.status_code != 200:
                sys.exit(f"bench: panorama read failed: {r.status_code}")
            out.append(f"{pid} {r.json()['version']} {moved} {after}")
        print(";".join(out) + ";")
        return
    rows = []
    for i in range(args.nodes):
        depth = 0 if i % 100 == 0 else 1
        rows.append({"depth": depth, "kind": "issue",
                     "issueId": str(10000 + i)})
    for k in range(args.count):
        doc = {"format": "cellar.panorama", "formatVersion": 1,
               "name": f"Bench {k:03d}", "description": "", "rows": rows}
        r = requests.post(base + "/api/panoramas/import",
                          data=json.dumps(doc), headers=hdr, timeout=120)
        if r.status_code != 201:
            sys.exit(f"bench: panorama import failed: {r.status_code} "
                     f"{r.text[:200]}")
        p = r.json()
        r = requests.get(f"{base}/api/panoramas/{p['id']}/tree?limit=300",
                         headers=hdr, timeout=60)
        if r.status_code != 200:
            sys.exit(f"bench: tree failed: {r.status_code}")
        top = [row["node"] for row in r.json()["rows"] if row["depth"] == 0]
        print(p["id"], p["version"], top[0], top[1])


if __name__ == "__main__":
    main()
