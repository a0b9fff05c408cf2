"""Indonesian number words and the call announcement ("Nomor antrean, A, ...")."""

from __future__ import annotations

import re

from app.domain.numbering import parse_number

_ONES = (
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
    "sepuluh", "sebelas",
)  # fmt: skip

MAX_WORDS = 999_999_999

CLIP_VOCABULARY: frozenset[str] = frozenset(
    {chr(c) for c in range(ord("a"), ord("z") + 1)}
    | set(_ONES)
    | {"belas", "puluh", "seratus", "ratus", "seribu", "ribu", "nomor_antrean"}
    | {"silakan_menuju_loket"}
)

_DIGITS_RE = re.compile(r"\d+")
_TOKEN_RE = re.compile(r"\d+|[A-Za-z]+")
_LOKET_RE = re.compile(r"^\s*loket\b\s*", re.IGNORECASE)
# Counter words longer than this cannot be voiced from letter clips without sounding silly.
_MAX_SPELLED = 3


def _below_thousand(n: int) -> str:
    if n < 12:
        return _ONES[n]
    if n < 20:
        return f"{_ONES[n - 10]} belas"
    if n < 100:
        tens, rest = divmod(n, 10)
        return f"{_ONES[tens]} puluh" + (f" {_ONES[rest]}" if rest else "")
    hundreds, rest = divmod(n, 100)
    head = "seratus" if hundreds == 1 else f"{_ONES[hundreds]} ratus"
    return head + (f" {_below_thousand(rest)}" if rest else "")


def number_words(n: int) -> str:
    """Indonesian words for 0..999,999,999 ("seratus", "seribu", "dua ribu", "satu juta")."""
    if isinstance(n, bool) or not 0 <= n <= MAX_WORDS:
        raise ValueError(f"number must be within 0..{MAX_WORDS}, got {n}")
    if n < 1000:
        return _below_thousand(n)
    parts: list[str] = []
    millions, rest = divmod(n, 1_000_000)
    if millions:
        parts.append(f"{_below_thousand(millions)} juta")
    thousands, rest = divmod(rest, 1000)
    if thousands == 1:
        parts.append("seribu")  # only a lone thousand contracts; 101,000 is "seratus satu ribu"
    elif thousands:
        parts.append(f"{_below_thousand(thousands)} ribu")
    if rest:
        parts.append(_below_thousand(rest))
    return " ".join(parts)


def spell_prefix(prefix: str) -> str:
    """Letters read one by one, with a pause between them: "AB" -> "A, B"."""
    return ", ".join(ch.upper() for ch in prefix if ch.isalpha())


def _counter_text(counter: str | int) -> str:
    """Counter as read after "loket": numbers as words, a leading "Loket" dropped."""
    if isinstance(counter, int):
        return number_words(counter)
    text = _LOKET_RE.sub("", counter.strip())

    def words(match: re.Match[str]) -> str:
        value = int(match.group())
        # Beyond the word range (a pasted code, not a counter) read digit by digit.
        spoken = (
            number_words(value)
            if value <= MAX_WORDS
            else " ".join(_ONES[int(d)] for d in match.group())
        )
        return f" {spoken} "

    return " ".join(_DIGITS_RE.sub(words, text).split())


def announcement(number: str, counter: str | int) -> str:
    """The sentence spoken (twice, after a chime) when a ticket is called."""
    prefix, seq = parse_number(number)
    return (
        f"Nomor antrean, {spell_prefix(prefix)}, {number_words(seq)}, "
        f"silakan menuju loket {_counter_text(counter)}."
    )


def announcement_en(number: str, counter: str | int) -> str:
    """English variant for screens and bilingual sites; digits stay digits."""
    prefix, seq = parse_number(number)
    where = str(counter) if isinstance(counter, int) else _LOKET_RE.sub("", counter.strip())
    return f"Queue number {' '.join(prefix)} {seq}, please proceed to counter {where}."


def _number_clips(n: int) -> list[str]:
    if n < 1_000_000:  # "juta" has no clip; a ticket never gets that far in one day
        return number_words(n).split()
    return [_ONES[int(d)] for d in str(n)]


def clip_sequence(number: str, counter: str | int) -> list[str]:
    """Audio clip names for boards without a speech voice; always within CLIP_VOCABULARY.

    Words are one clip each ("dua", "puluh"), so about 30 recordings cover every number below
    a million. In counter names, numbers and words of up to three letters (spelled) are
    voiced; longer words are skipped because the screen shows the counter's name anyway.
    """
    prefix, seq = parse_number(number)
    clips = ["nomor_antrean", *(ch.lower() for ch in prefix), *_number_clips(seq)]
    clips.append("silakan_menuju_loket")
    if isinstance(counter, int):
        clips += _number_clips(counter)
    else:
        for token in _TOKEN_RE.findall(_LOKET_RE.sub("", counter.strip())):
            if token.isdigit():
                clips += _number_clips(int(token))
            elif token.isascii() and len(token) <= _MAX_SPELLED:
                clips += list(token.lower())
    return clips


def short_announcement(number: str, counter: str | int) -> str:
    """The sentence spoken once when calls pile up: "A, dua belas, loket tiga."."""
    prefix, seq = parse_number(number)
    return f"{spell_prefix(prefix)}, {number_words(seq)}, loket {_counter_text(counter)}."


def short_clip_sequence(number: str, counter: str | int) -> list[str]:
    """Clips of the short form: the full sequence without the opening "nomor antrean"."""
    return [c for c in clip_sequence(number, counter) if c != "nomor_antrean"]
