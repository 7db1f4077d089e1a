"""Accounts that exist beside Entra: local users and groups imported from CSV, and the
legacy user ID to email migration (plan, apply, revert). Imports `resources`, `names`,
`log`, `query`, `protocol` and `storage`."""
