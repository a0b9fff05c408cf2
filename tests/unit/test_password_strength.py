"""Audit finding 11: common and guessable passwords are refused with a clear message."""

from __future__ import annotations

import pytest

from app.domain.errors import InvalidValue
from app.services.passwords import check_strength


@pytest.mark.parametrize("password", ["password", " " * 8, "12345678", "qwertyuiop",
                                      "petugas-loket-1", "Passw0rd!", "admin12345"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(InvalidValue) as err:
        check_strength(password, ("petugas-loket-1", "Petugas Loket"))
    assert "too easy to guess" in err.value.message("en")


def test_the_username_is_refused_as_a_password():
    with pytest.raises(InvalidValue):
        check_strength("budi.santoso", ("budi.santoso", "Budi Santoso"))


@pytest.mark.parametrize("password", ["rahasia-bpjs-1", "kopi tubruk di pagi hari",
                                      "Gunung-Merapi-1930"])
def test_good_passwords_pass(password):
    check_strength(password, ("petugas-loket-1",))


def test_only_the_test_suite_hashes_cheaply(monkeypatch):
    """Deployments hash with argon2id's full defaults; only MPP_ENV=test lowers the cost."""
    from app.config import get_settings
    from app.services import passwords

    try:
        for env, params in (("development", "m=65536,t=3,p=4"), ("production", "m=65536,t=3,p=4"),
                            ("test", "m=1024,t=1,p=1")):
            monkeypatch.setenv("MPP_ENV", env)
            monkeypatch.setenv("MPP_SECRET_KEY", "s" * 40)
            monkeypatch.setenv("MPP_ALLOWED_HOSTS", '["mpp.test"]')
            get_settings.cache_clear()
            passwords._hasher.cache_clear()
            hashed = passwords.hash_password("kalimat rahasia panjang")
            assert hashed.startswith(f"$argon2id$v=19${params}$"), (env, hashed)
            assert passwords.verify_password("kalimat rahasia panjang", hashed)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        passwords._hasher.cache_clear()
