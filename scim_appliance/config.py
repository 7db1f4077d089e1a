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
    # Public base URL (e.g. https://scim.example.com) when behind a reverse proxy; used
    # for `meta.location` and the Tenant URL printed by `scim-appliance endpoint`.
    "PUBLIC_URL": None,
    # Where `serve` binds.
    "HOST": "127.0.0.1",
    "PORT": 8080,
    "THREADS": 8,
    # waitress processes sharing the port (scim_appliance/server/workers.py); 0 = one per CPU,
    # at most 4. Each holds its own connections and caches (about 70-90 MB).
    "PROCESSES": 0,
    # Largest accepted request body in bytes (413 above it). A PATCH adding 10,000
    # members is about 0.6 MB.
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
    # User attributes a user must carry, e.g. ["emails"]; one missing is a 400 that
    # names the Entra mapping to add.
    "REQUIRED_USER_ATTRIBUTES": [],
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
    # A PEM file of CAs to trust for the SMTP server's certificate (default: the system's).
    "SMTP_CA_FILE": None,
    "SMTP_TIMEOUT": 30,
    # Sender address; default scim-appliance@<this host's FQDN>.
    "NOTIFY_FROM": None,
    # Recipients, comma-separated (or a list in instance/config.py).
    "NOTIFY_TO": None,
    # At most one digest per this many seconds; a failure waits at most this long.
    "NOTIFY_DIGEST_SECONDS": 300,
}
