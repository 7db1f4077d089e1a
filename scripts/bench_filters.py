"""How long can a filter within the parser's limits take? (README, "Query limits")

Builds a fresh SQLite directory of Entra-shaped users (scripts/bench.py's documents)
and groups, then times the most expensive filters the limits allow, each at exactly
MAX_FILTER_TERMS comparisons (and one at MAX_FILTER_DEPTH): substring tests on
attributes kept in the JSON document, on multi-valued attributes and value paths,
negations that match every row (a full page to build), sorting on JSON attributes,
the same through the root search, and `co` on values of repeated letters (where
LIKE '%…%' backtracks). Times are the query as a route runs it (parse, SQL, rows of
a 100-resource page), median of --repeat runs, wall clock and this process's CPU.

    .venv/bin/python scripts/bench_filters.py [--users 5000] [--repeat 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from bench import ENTERPRISE, entra_user  # noqa: E402

from scim_appliance import create_app  # noqa: E402
from scim_appliance.domain.protocol.filters import (  # noqa: E402
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_FILTER_TERMS,
)
from scim_appliance.domain.protocol.schema import USER_TYPE  # noqa: E402
from scim_appliance.domain.query.listing import parse_list_query, run_list_query  # noqa: E402
from scim_appliance.domain.query.mappings import USER_MAPPING  # noqa: E402
from scim_appliance.domain.query.root_search import (  # noqa: E402
    parse_root_search,
    run_root_search,
)
from scim_appliance.domain.resources import groups, users  # noqa: E402
from scim_appliance.storage.extensions import db  # noqa: E402

T = MAX_FILTER_TERMS
PAGE = 100
LONG = 256  # a long title: the cost of a substring test grows with it


def _or(term: str, n: int = T) -> str:
    return " or ".join(term.format(i=i) for i in range(n))


def _and(term: str, n: int = T) -> str:
    return " and ".join(term.format(i=i) for i in range(n))


def filters() -> dict[str, dict]:
    """name -> SearchRequest parameters; every filter is within the limits."""
    deep = "not (" * (MAX_FILTER_DEPTH - 1) + "(" + _or('emails co "zz{i}"') + ")" \
        + ")" * (MAX_FILTER_DEPTH - 1)
    out = {
        "Entra match: userName eq": {"filter": 'userName eq "user0004999@contoso.com"'},
        f"{T} x userName co (indexed column)": {"filter": _or('userName co "zz{i}"')},
        f"{T} x title co (JSON)": {"filter": _or('title co "zz{i}"')},
        f"{T} x not (title co) (JSON, all match)": {"filter": _and('not (title co "zz{i}")')},
        f"{T} x enterprise department co": {"filter": _or(f'{ENTERPRISE}:department co "zz{{i}}"')},
        f"{T} x name.givenName pr (all match)": {"filter": _and("name.givenName pr")},
        f"{T} x emails co (JSON array)": {"filter": _or('emails co "zz{i}"')},
        f"{T} x emails[value co]": {"filter": _or('emails[value co "zz{i}"]')},
        f"{T // 2} x phoneNumbers[type eq and value co]":
            {"filter": _or('phoneNumbers[type eq "work" and value co "zz{i}"]', T // 2)},
        f"{T} x addresses.locality co": {"filter": _or('addresses.locality co "zz{i}"')},
        f"{T} x groups.value eq (memberships)": {"filter": _or('groups.value eq "zz{i}"')},
        f"depth {MAX_FILTER_DEPTH}, {T} x emails co": {"filter": deep},
        f"{T} x not (emails co), sortBy emails.value":
            {"filter": _and('not (emails co "zz{i}")'), "sortBy": "emails.value"},
        f"{T} x not (title co), sortBy name.familyName desc":
            {"filter": _and('not (title co "zz{i}")'), "sortBy": "name.familyName",
             "sortOrder": "descending"},
        f"title co 'a'*{LONG - 1}+'b' vs titles 'a'*{LONG}":
            {"filter": 'title co "' + "a" * (LONG - 1) + 'b"'},
        f"{T} x title co 'a'*{LONG // 2 - 1}+'b'":
            {"filter": _or('title co "' + "a" * (LONG // 2 - 1) + 'b{i}"')},
    }
    return {name: params for name, params in out.items()
            if len(params["filter"]) <= MAX_FILTER_LENGTH}


def build(app, n_users: int, n_groups: int) -> None:
    with app.app_context():
        db.create_all()
        ids = []
        for i in range(n_users):
            body = entra_user(i)
            if i % 5 == 0:  # a fifth with long titles of one repeated letter
                body["title"] = "a" * LONG
            ids.append(users.create_user(db.session, body).id)
            if i % 500 == 499:
                db.session.commit()
        for g in range(n_groups):
            members = [{"value": ids[(g * 37 + k) % len(ids)]} for k in range(50)]
            groups.create_group(db.session, {"displayName": f"Group {g}", "members": members})
        db.session.commit()


def timed(fn, repeat: int) -> tuple[float, float, int]:
    walls, cpus, total = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        total = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
        started = time.perf_counter()
        build(app, args.users, args.groups)
        print(f"{args.users} users, {args.groups} groups of 50 built in "
              f"{time.perf_counter() - started:.0f} s; limits: {MAX_FILTER_LENGTH} characters, "
              f"depth {MAX_FILTER_DEPTH}, {MAX_FILTER_TERMS} comparisons; page of {PAGE}")
        figures = []
        with app.app_context():
            dialect = db.engine.dialect.name
            print(f"{'filter':58s} {'endpoint':9s} {'wall ms':>8s} {'cpu ms':>8s} {'total':>6s}")
            for name, params in filters().items():
                params = {**params, "count": PAGE}

                def listing(params=params):
                    query = parse_list_query(params, USER_TYPE, 1000)
                    total, _ = run_list_query(db.session, query, USER_MAPPING, dialect)
                    db.session.rollback()
                    return total

                def root(params=params):
                    query = parse_root_search(params, 1000)
                    total, _ = run_root_search(db.session, query, dialect)
                    db.session.rollback()
                    return total

                for endpoint, fn in (("/Users", listing), ("/.search", root)):
                    wall, cpu, total = timed(fn, args.repeat)
                    figures.append({"filter": name, "endpoint": endpoint, "wall_ms": wall,
                                    "cpu_ms": cpu, "total": total})
                    print(f"{name:58s} {endpoint:9s} {wall:8.1f} {cpu:8.1f} {total:6d}")
        worst = max(figures, key=lambda f: f["wall_ms"])
        print(f"slowest: {worst['filter']} on {worst['endpoint']}: {worst['wall_ms']:.0f} ms "
              f"wall, {worst['cpu_ms']:.0f} ms CPU")
        if args.json:
            Path(args.json).write_text(json.dumps({"users": args.users, "figures": figures},
                                                  indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
