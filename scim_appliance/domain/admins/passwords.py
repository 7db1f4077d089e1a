"""Passwords as argon2id hashes (RFC 9106), with argon2-cffi's defaults (its "low
memory" profile: 3 passes over 64 MiB, 4 lanes), so that a copy of the database does
not yield the passwords at the price of a cheap guess each."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# argon2 takes any length, but a megabyte "password" posted to the sign-in form would
# still cost its hashing: refuse long ones before hashing.
MAX_LENGTH = 256

_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a wrong name takes as long as
# a wrong password (no account enumeration by timing).
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says what it needs."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_LENGTH} characters long")
    if "\x00" in password:
        raise WeakPassword("the password must not contain a NUL character")


def hash_password(password: str) -> str:
    check_policy(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; the same work whether or not there is a hash."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)
