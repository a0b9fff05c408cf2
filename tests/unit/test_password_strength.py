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
