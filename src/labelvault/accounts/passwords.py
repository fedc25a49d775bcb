"""Password hashing with argon2 and generation of first-start passwords."""

from __future__ import annotations

import contextlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A hash of a random secret, made once: what a missing user's login is checked against."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; always one argon2 verification, whatever the input.

    A missing user, or one without a local password (signed in through OIDC), is checked
    against a dummy hash so a failed login costs the same and user names cannot be told
    apart by timing.
    """
    if not password_hash:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_dummy_hash(), password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)
