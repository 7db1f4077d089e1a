"""Secret Tokens: signed so garbage is refused without a database read, stored as hashes.

A token is `scimapp_` + an itsdangerous signature over 32 random bytes. The
signature (keyed by the instance SECRET_KEY) lets the appliance reject forged or
mistyped tokens before any database work; the database keeps only the SHA-256 of
the active token, so a stolen database file yields no usable credential, and
issuing a new token voids the old one at once because only one hash is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, Signer

PREFIX = "scimapp_"
_SALT = "scim-appliance.secret-token.v1"


class InvalidToken(Exception):
    """The presented token is malformed or not signed by this appliance.

    Contract: raised before any database access; the message never contains the token.
    """


def _signer(secret_key: str) -> Signer:
    if not secret_key:
        raise RuntimeError("SECRET_KEY is not set; run 'scim-appliance init'")
    return Signer(secret_key, salt=_SALT)


def new_token(secret_key: str) -> str:
    """Mint a fresh token; the caller stores `token_hash(token)` and shows the token once."""
    payload = secrets.token_urlsafe(32)
    return PREFIX + _signer(secret_key).sign(payload).decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_signature(secret_key: str, token: str) -> None:
    """Raise InvalidToken unless `token` is well-formed and signed with `secret_key`."""
    if not token.startswith(PREFIX) or len(token) > 256:
        raise InvalidToken("not a scim-appliance Secret Token")
    try:
        _signer(secret_key).unsign(token[len(PREFIX):])
    except (BadSignature, UnicodeError):
        raise InvalidToken("the Secret Token's signature does not verify") from None


def matches_hash(token: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of the presented token with the stored hash."""
    if not stored_hash:
        return False
    return hmac.compare_digest(token_hash(token), stored_hash)
