"""Configuration defaults. Every key can be overridden in `instance/config.py` or by an
environment variable `SCIM_APPLIANCE_<KEY>` (values parsed as JSON where possible).

`tests/test_config.py` fails when a key here is missing from README.md, so the
documentation cannot fall behind the code.
"""

DEFAULTS = {
    # Signs Secret Tokens; generated into instance/config.py by `scim-appliance init`.
    "SECRET_KEY": None,
    # Defaults to a SQLite file in the instance folder (set in create_app).
    "SQLALCHEMY_DATABASE_URI": None,
    # Database connections per process: kept open, and opened beyond those under load.
    # A process needs up to 2 x THREADS + 2; on PostgreSQL the sum of both over every
    # process of every node must stay below the server's max_connections (100 by default).
    "DATABASE_POOL_SIZE": 10,
    "DATABASE_MAX_OVERFLOW": 10,
    # Public base URL (e.g. https://scim.example.com) when behind a reverse proxy; used
    # for `meta.location`, `Location` and the Tenant URL printed by `scim-appliance
    # endpoint`. Without it (or TRUSTED_HOSTS) `serve` binds only to loopback.
    "PUBLIC_URL": None,
    # Host names the appliance answers to (Flask's setting: a list; ".example.com"
    # matches subdomains); any other Host header gets 400. Empty: any host.
    "TRUSTED_HOSTS": None,
    # How many reverse proxies in front of the appliance set X-Forwarded-For, -Proto
    # and -Host (werkzeug's ProxyFix takes that many hops from the right); 0 ignores
    # those headers.
    "TRUSTED_PROXIES": 0,
    # The addresses (or CIDR networks) those proxies connect from; X-Forwarded-* from
    # any other peer is dropped (server/forwarded.py). Loopback: nginx on the same box.
    "TRUSTED_PROXY_ADDRESSES": ["127.0.0.1", "::1"],
    # Where `serve` binds.
    "HOST": "127.0.0.1",
    "PORT": 8080,
    "THREADS": 8,
    # waitress: open connections per process, beyond which it stops accepting; and
    # seconds a connection may sit idle before it is closed (longer than a reverse
    # proxy's idle timeout, so the proxy closes first; nginx's upstream default is 60).
    "CONNECTION_LIMIT": 100,
    "CHANNEL_TIMEOUT": 180,
    # waitress processes sharing the port (scim_appliance/server/workers.py); 0 = one per CPU,
    # at most 4. Each holds its own connections and caches (about 70-90 MB).
    "PROCESSES": 0,
    # Largest accepted request body in bytes (413 above it; waitress refuses a larger
    # one before reading it). A PATCH adding 10,000 members is about 0.6 MB.
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # Largest page a list or search returns (ServiceProviderConfig filter.maxResults).
    "SCIM_MAX_RESULTS": 1000,
    # Name rules (domain/names/rules.py): the preset whose character rules names must meet
    # downstream (cloudsso, cloudsso-ram, aws-identity-center, none), and whether a
    # breaking name is sanitised into a derived name or refused with 400 (reject).
    "NAME_RULES_PRESET": "cloudsso",
    "NAME_RULES_MODE": "sanitize",
    # Per-field overrides, e.g. {"group": {"mode": "reject"}, "userName": {"max_length": 60}}.
    "NAME_RULES_OVERRIDES": {},
    # Seat cap (domain/resources/seats.py): a SCIM write that would make more users
    # active than this is refused with 403; the administrator is mailed at 90% and at
    # the first refusal. 0 is no cap.
    "MAX_ACTIVE_USERS": 0,
    # User attributes a user must carry, e.g. ["emails"]; one missing is a 400 that
    # names the Entra mapping to add.
    "REQUIRED_USER_ATTRIBUTES": [],
    # Backups the appliance takes itself (before `db upgrade`, a user ID migration or a
    # restore) kept in instance/backups/; older ones are deleted. 0 keeps every one.
    # Backups taken with `scim-appliance backup` are never deleted.
    "BACKUP_KEEP": 10,
    # Provisioning log (scim/request_log.py): entries older than this many days are
    # pruned (failures not yet mailed are kept); 0 keeps everything.
    "LOG_RETENTION_DAYS": 30,
    # Hard bound on provisioning-log entries: the oldest beyond it are pruned, mailed
    # or not (server/log_writer.py).
    "LOG_MAX_ROWS": 1_000_000,
    # Failure email (domain/notify/notifier.py): off until SMTP_HOST and NOTIFY_TO are set.
    "SMTP_HOST": None,
    # Default by SMTP_SECURITY: 25 (none), 587 (starttls), 465 (ssl).
    "SMTP_PORT": None,
    "SMTP_SECURITY": "starttls",
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    # With SMTP_SECURITY none the password would cross the network in clear: the login
    # is refused unless this is set (e.g. a relay on the same host).
    "SMTP_ALLOW_PLAINTEXT_LOGIN": False,
    # A PEM file of CAs to trust for the SMTP server's certificate (default: the system's).
    "SMTP_CA_FILE": None,
    "SMTP_TIMEOUT": 30,
    # Sender address; default scim-appliance@<this host's FQDN>.
    "NOTIFY_FROM": None,
    # Recipients, comma-separated (or a list in instance/config.py).
    "NOTIFY_TO": None,
    # At most one digest per this many seconds; a failure waits at most this long.
    "NOTIFY_DIGEST_SECONDS": 300,
    # Webhooks (domain/events/, README "Webhooks"): a failed delivery is retried (5 s,
    # 30 s, 2 min, 10 min, then hourly) for this many hours after its event, then
    # marked failed; each attempt is cut off after WEBHOOK_TIMEOUT_SECONDS; finished
    # deliveries and their events are kept WEBHOOK_KEEP_DAYS days for `redeliver`.
    "WEBHOOK_RETRY_HOURS": 24,
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_KEEP_DAYS": 7,
    # Email (and an appliance.silence event) when sync is on, the token has been used,
    # and no authenticated SCIM request came for this many minutes; 0 turns it off.
    "SILENCE_ALERT_MINUTES": 120,
    # Operator console (scim_appliance/console/): a signed-in session ends after this
    # many seconds without a request, and this many seconds after sign-in at the latest.
    "CONSOLE_IDLE_TIMEOUT": 1800,
    "CONSOLE_SESSION_LIFETIME": 43200,
}

ENV_PREFIX = "SCIM_APPLIANCE_"
# Shown as set or unset, never their value.
SECRETS = ("SECRET_KEY", "SMTP_PASSWORD")


def sources(config_file_keys: set[str], environ: dict[str, str]) -> dict[str, str]:
    """Where each setting came from: the environment beats instance/config.py beats the
    defaults, as `create_app` applies them."""
    found = {key: "default" for key in DEFAULTS}
    found.update({key: "instance/config.py" for key in config_file_keys if key.isupper()})
    found.update({name[len(ENV_PREFIX):]: "environment" for name in environ
                  if name.startswith(ENV_PREFIX) and name != f"{ENV_PREFIX}INSTANCE_PATH"})
    return found
