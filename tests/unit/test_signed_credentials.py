"""Signed staff credentials (app/services/principal.py): a checked signature is remembered only
until the credential expires, and remembering one never lets another through."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from app.services import principal
from app.services.principal import TokenSigner


def _user(uid: int = 7, version: int = 1) -> Any:
    return SimpleNamespace(id=uid, session_version=version)


def test_a_token_read_again_expires_on_time(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(principal.time, "time", lambda: now[0])
    signer = TokenSigner("a-secret-key-that-is-long-enough-0123456789", max_age_seconds=600)
    token = signer.issue(_user())
    assert signer.read(token) == {"u": 7, "v": 1}
    now[0] += 599
    assert signer.read(token) == {"u": 7, "v": 1}  # remembered, still valid
    now[0] += 2
    assert signer.read(token) is None  # past its age, although its signature was checked


def test_remembering_a_token_lets_no_other_through():
    signer = TokenSigner("a-secret-key-that-is-long-enough-0123456789", max_age_seconds=600)
    other = TokenSigner("another-secret-key-long-enough-0123456789", max_age_seconds=600)
    token = signer.issue(_user())
    assert signer.read(token) is not None
    body, _, sig = token.rpartition(".")
    assert signer.read(body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]) is None
    assert signer.read(other.issue(_user())) is None  # signed with another key
    assert signer.read(token + "x") is None
    data = signer.read(token)
    assert data is not None
    data["u"] = 1  # a caller changing its copy changes nothing remembered
    assert signer.read(token) == {"u": 7, "v": 1}
