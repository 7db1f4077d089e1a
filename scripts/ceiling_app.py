"""The ceiling for the benchmark: a minimal Flask app on waitress that answers every
request with a constant SCIM ListResponse. Whatever the appliance does beyond this
(auth, SQL, JSON, validation) is what the ratio in the benchmark measures.

    python scripts/ceiling_app.py PORT [THREADS]
"""

from __future__ import annotations

import json
import sys

import waitress
from flask import Flask, Response

BODY = json.dumps({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    "totalResults": 1, "itemsPerPage": 1, "startIndex": 1,
    "Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "id": "2819c223-7f76-453a-919d-413861904646",
                   "userName": "bjensen@example.com", "active": True,
                   "meta": {"resourceType": "User"}}],
}).encode()

app = Flask(__name__)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def constant(path):
    return Response(BODY, mimetype="application/scim+json")


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


if __name__ == "__main__":
    port = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)
