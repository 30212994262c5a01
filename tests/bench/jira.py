#!/usr/bin/python3
"""A stand-in for a tenant's Jira during benchmarks: every caller is a
Jira admin with every global permission asked about (the app's
"use-panoramas" too), every project permission, may browse every issue
and has no groups; every issue asked about exists (bulkfetch, which the
reaper's reconcile job asks).  It answers
cellar's permission and group look-ups at once; it checks nothing (the
integration tests' fake Jira is the one that verifies tokens).

    tests/bench/jira.py PORTFILE    (writes its port there, then serves)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/rest/api/3/user/groups"):
            self._reply([])
        else:
            self._reply({})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/rest/api/3/permissions/check":
            out = {"globalPermissions": req.get("globalPermissions", []),
                   "projectPermissions": [
                       {"permission": p, "projects": pp.get("projects", []),
                        "issues": pp.get("issues", [])}
                       for pp in req.get("projectPermissions", [])
                       for p in pp.get("permissions", [])]}
            self._reply(out)
        elif self.path == "/rest/api/3/issue/bulkfetch":
            self._reply({"issues": [{"id": str(i)} for i in
                                    req.get("issueIdsOrKeys", [])],
                         "issueErrors": []})
        else:
            self._reply({})


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
