"""Failure email to the administrator: the digest text, one SMTP conversation with a
commit point, and the notifier that mails each failure at most once. Imports `log` and
`storage`."""
