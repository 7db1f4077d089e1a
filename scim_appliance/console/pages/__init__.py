"""One module per console page; each attaches its routes to `blueprint.bp`."""

from . import (  # noqa: F401
    administrators,
    dashboard,
    groups,
    log,
    migration,
    names,
    notifications,
    scim_settings,
    users,
    webhooks,
)
