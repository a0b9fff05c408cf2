"""Indonesian number words, announcements and audio clips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.numbering import format_number
from app.domain.speech import (
    CLIP_VOCABULARY,
    announcement,
    announcement_en,
    clip_sequence,
    number_words,
    spell_prefix,
)

UNDER_21 = [
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
    "sepuluh", "sebelas", "dua belas", "tiga belas", "empat belas", "lima belas", "enam belas",
    "tujuh belas", "delapan belas", "sembilan belas", "dua puluh",
]  # fmt: skip


@pytest.mark.parametrize(("n", "words"), list(enumerate(UNDER_21)))
def test_small_numbers(n: int, words: str) -> None:
    assert number_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (21, "dua puluh satu"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (110, "seratus sepuluh"),
        (111, "seratus sebelas"),
        (115, "seratus lima belas"),
        (199, "seratus sembilan puluh sembilan"),
        (200, "dua ratus"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (1100, "seribu seratus"),
        (1999, "seribu sembilan ratus sembilan puluh sembilan"),
        (2000, "dua ribu"),
        (9999, "sembilan ribu sembilan ratus sembilan puluh sembilan"),
        (10000, "sepuluh ribu"),
        (11000, "sebelas ribu"),
        (100000, "seratus ribu"),
        (101000, "seratus satu ribu"),
        (1000000, "satu juta"),
        (1001001, "satu juta seribu satu"),
        (999_999_999, "sembilan ratus sembilan puluh sembilan juta sembilan ratus sembilan "
         "puluh sembilan ribu sembilan ratus sembilan puluh sembilan"),
    ],
)  # fmt: skip
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


@pytest.mark.parametrize("n", [-1, 1_000_000_000])
def test_number_words_range(n: int) -> None:
    with pytest.raises(ValueError):
        number_words(n)


@given(st.integers(min_value=0, max_value=9999))
def test_words_are_well_formed(n: int) -> None:
    words = number_words(n)
    for bad in ("satu ratus", "satu ribu", "satu puluh", "satu belas"):
        assert bad not in words
    assert "  " not in words
    assert words == words.strip()
    assert n == 0 or "nol" not in words


def test_spell_prefix() -> None:
    assert spell_prefix("A") == "A"
    assert spell_prefix("AB") == "A, B"


def test_announcement_exact() -> None:
    assert (
        announcement("A-123", 3)
        == "Nomor antrean, A, seratus dua puluh tiga, silakan menuju loket tiga."
    )
    assert announcement("A-123", "3") == announcement("A-123", 3)
    assert announcement("A-123", "Loket 3") == announcement("A-123", 3)


def test_announcement_variants() -> None:
    assert announcement("B-007", 12) == "Nomor antrean, B, tujuh, silakan menuju loket dua belas."
    assert announcement("AB-1000", "Paspor 2").endswith("seribu, silakan menuju loket Paspor dua.")
    assert announcement("C-011", "3A") == "Nomor antrean, C, sebelas, silakan menuju loket tiga A."


def test_announcement_en() -> None:
    assert announcement_en("A-123", 3) == "Queue number A 123, please proceed to counter 3."
    assert announcement_en("B-007", "Loket 2") == "Queue number B 7, please proceed to counter 2."


def test_clip_sequence_example() -> None:
    assert clip_sequence("A-123", 3) == [
        "nomor_antrean", "a", "seratus", "dua", "puluh", "tiga", "silakan_menuju_loket", "tiga",
    ]  # fmt: skip
    assert clip_sequence("B-1000", "Loket 2B Paspor")[-3:] == ["silakan_menuju_loket", "dua", "b"]


@given(
    st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=1, max_size=3),
    st.integers(min_value=0, max_value=9999),
    st.one_of(st.integers(min_value=0, max_value=9999), st.text(max_size=20)),
)
def test_clips_within_vocabulary(prefix: str, seq: int, counter: int | str) -> None:
    clips = clip_sequence(format_number(prefix, seq), counter)
    assert set(clips) <= CLIP_VOCABULARY
    assert clips[0] == "nomor_antrean"
    assert "silakan_menuju_loket" in clips


@given(st.integers(min_value=0, max_value=9999))
def test_clips_spell_the_number(n: int) -> None:
    clips = clip_sequence(format_number("A", n), 1)
    assert clips[2:-2] == number_words(n).split()


def test_short_announcement_for_piled_calls() -> None:
    from app.domain.speech import short_announcement, short_clip_sequence

    assert short_announcement("A-012", "Loket 3") == "A, dua belas, loket tiga."
    assert short_clip_sequence("A-012", "3") == ["a", "dua", "belas", "silakan_menuju_loket",
                                                 "tiga"]
    assert len(short_announcement("AB-107", "12")) < len(announcement("AB-107", "12"))
