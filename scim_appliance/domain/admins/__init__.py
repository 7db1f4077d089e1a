"""Who may use the operator console: administrators (argon2id passwords), their
server-side sessions, sign-in throttling and the audit trail of what they changed.
Imports `storage` and the leaf modules only; no Flask (the CLI uses the same functions).
"""
