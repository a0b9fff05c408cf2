"""Password hashing (argon2 via pwdlib)."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn

from app.config import get_settings
from app.domain.errors import InvalidValue


@lru_cache
def _hasher() -> PasswordHash:
    """argon2id with the library's defaults (64 MiB, 3 passes); the test suite, which signs in
    thousands of times, uses 1 MiB and 1 pass. Hashes carry their parameters, so either
    verifies the other's."""
    if get_settings().env == "test":
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher().verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a malformed hash never signs anyone in
        return False


# Computed once so an unknown username costs as much as a wrong password.
_DUMMY: list[str] = []


def dummy_verify(password: str) -> None:
    if not _DUMMY:
        _DUMMY.append(hash_password("dummy-password-for-timing"))
    verify_password(password, _DUMMY[0])


# zxcvbn's scale: 0 too guessable, 1 very guessable, 2 somewhat guessable, 3-4 safe enough.
MIN_SCORE = 2


def check_strength(password: str, user_inputs: tuple[str | None, ...] = ()) -> None:
    """Refuse short, common and guessable passwords (the username, "password", eight spaces)."""
    if len(password) < 8:
        raise InvalidValue("password", "kata sandi minimal 8 karakter",
                           "the password needs at least 8 characters")
    if len(password) > 256:
        raise InvalidValue("password", "kata sandi terlalu panjang", "the password is too long")
    inputs = [x for x in user_inputs if x] + ["mpp", "antrean", "admin", "petugas", "manajer"]
    # zxcvbn's cost grows with length; the first 100 characters decide anyway.
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_SCORE or any(
            x.lower() in password.lower() and len(x) >= len(password) - 3 for x in inputs):
        raise InvalidValue("password", "kata sandi terlalu mudah ditebak: pakai kalimat atau "
                           "gabungan kata yang tidak umum",
                           "the password is too easy to guess: use a phrase or an uncommon "
                           "mix of words")
