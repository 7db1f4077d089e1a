"""scim-appliance: a self-hosted SCIM 2.0 service provider for Microsoft Entra ID."""

from __future__ import annotations

import os

from flask import Flask, Response
from flask.sessions import SessionInterface
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import DEFAULTS
from .storage import database  # noqa: F401  (registers the SQLite connection settings)
from .storage.extensions import db

__version__ = "0.2.0"  # the one place; setup.cfg reads it

INSTANCE_ENV = "SCIM_APPLIANCE_INSTANCE_PATH"
DB_FILENAME = "scim-appliance.db"


class _NoSessions(SessionInterface):
    """The appliance has no browser sessions. With a SECRET_KEY set, Flask's default
    would build a signing serializer for every request (5% of a filter GET's CPU)."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def _pool_options(app: Flask) -> None:
    """A read request holds two pooled connections at times (direct_reads.py and the
    session), beside the log writer's and the email worker's: eight busy threads need
    up to 18. DATABASE_POOL_SIZE connections are kept, up to DATABASE_MAX_OVERFLOW
    more are opened under load and closed when given back; beyond both a request waits
    (at most 30 s, then 503). The cap matters on PostgreSQL, where every process of
    every node draws from one max_connections (100 by default). The most recently used
    connection is handed out first (its SQLite page cache is warm; idle ones stay
    small). On a server database each checkout is pinged first, so connections that a
    restart of the server killed are replaced instead of failing a request. An
    in-memory SQLite URL has a static pool that takes none of these."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database in (None, "", ":memory:"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_size", int(app.config["DATABASE_POOL_SIZE"]))
    options.setdefault("max_overflow", int(app.config["DATABASE_MAX_OVERFLOW"]))
    options.setdefault("pool_use_lifo", True)
    # A SQLite file cannot go away under an open connection; a server can restart.
    options.setdefault("pool_pre_ping", not sqlite)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _proxies_and_hosts(app: Flask) -> None:
    """TRUSTED_PROXIES and TRUSTED_HOSTS (README, "Behind a reverse proxy").

    ProxyFix takes the client address, scheme and host from the last TRUSTED_PROXIES
    entries of X-Forwarded-For/-Proto/-Host, the ones the appliance's own proxies
    appended; what a client wrote there itself sits further left and is ignored. Off
    (0) the headers are ignored altogether; on, they are taken only from a peer in
    TRUSTED_PROXY_ADDRESSES (server/forwarded.py). X-Forwarded-Port and -Prefix are never
    taken: nginx does not send them by default, so a client could. TRUSTED_HOSTS is
    Flask's own setting; the environment gives it as one string, split here.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops < 0:
        raise ValueError("TRUSTED_PROXIES must be 0 or the number of proxies in front")
    if hops:
        from .server.forwarded import TrustedPeers, parse_networks

        app.wsgi_app = TrustedPeers(
            ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops),
            parse_networks(app.config.get("TRUSTED_PROXY_ADDRESSES")))
    hosts = app.config.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):
        app.config["TRUSTED_HOSTS"] = [h.strip() for h in hosts.split(",") if h.strip()]


def _safe_headers(response: Response) -> Response:
    """Every answer: never sniffed as another type, never stored by a cache (a SCIM
    body carries personal data; RFC 9111 §5.2.2.5). A view that sets its own
    Cache-Control keeps it. waitress's own error answers carry the same
    (server/http_server.py)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _event_defaults(app: Flask) -> None:
    """Events recorded outside a SCIM request (the CLI) render resources with the
    Tenant URL: PUBLIC_URL, else the address `serve` binds by default."""
    from .domain.events import outbox

    public = app.config.get("PUBLIC_URL")
    root = public.rstrip("/") if public else f"http://{app.config['HOST']}:{app.config['PORT']}"
    outbox.configure(root + "/scim")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: defaults, then instance/config.py, then the environment."""
    instance_path = os.environ.get(INSTANCE_ENV) or None
    if instance_path:
        instance_path = os.path.abspath(instance_path)
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("SCIM_APPLIANCE")
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = os.path.join(app.instance_path, DB_FILENAME)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    _pool_options(app)
    _proxies_and_hosts(app)
    app.after_request(_safe_headers)
    app.session_interface = _NoSessions()
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    db.init_app(app)
    _event_defaults(app)

    from .scim import register_scim
    from .scim.request_log import register_request_log
    from .server.health import bp as health_bp

    app.register_blueprint(health_bp)
    register_scim(app)
    register_request_log(app)

    from .console import register_console

    register_console(app)

    from .cli import register_commands

    register_commands(app)
    return app
