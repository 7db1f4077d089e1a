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
    # Largest accepted request body in bytes (413 above it). A PATCH adding 10,000
    # members is about 0.6 MB.
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # Largest page a list or search returns (ServiceProviderConfig filter.maxResults).
    "SCIM_MAX_RESULTS": 1000,
}
