"""Survei Kepuasan Masyarakat / Indeks Kepuasan Masyarakat (PermenPANRB 14/2017).

Arithmetic is done with Fraction: the regulation's weight is exactly 1/9, and the commonly
seen 0.11 (or a float 1/9) shifts results across the 2-decimal grade boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.domain.errors import InvalidValue


@dataclass(frozen=True)
class Unsur:
    """One of the nine survey elements with its four answer labels (score 1..4)."""

    code: str
    name_id: str
    name_en: str
    labels_id: tuple[str, str, str, str]
    labels_en: tuple[str, str, str, str]
    # The question sentence SKM forms print under the heading (PermenPANRB 14/2017 lampiran).
    question_id: str = ""
    question_en: str = ""


_SUITABLE_ID = ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")
_SUITABLE_EN = ("Not suitable", "Less suitable", "Suitable", "Very suitable")

UNSUR: list[Unsur] = [
    Unsur(
        "U1", "Persyaratan", "Requirements", _SUITABLE_ID, _SUITABLE_EN,
        question_id=(
            "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis"
            " pelayanannya?"
        ),
        question_en="How well do the service's requirements fit the kind of service?",
    ),
    Unsur(
        "U2",
        "Sistem, Mekanisme, dan Prosedur",
        "Systems, mechanisms and procedures",
        ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
        ("Not easy", "Less easy", "Easy", "Very easy"),
        question_id="Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
        question_en="How easy were the service procedures at this unit?",
    ),
    Unsur(
        "U3",
        "Waktu Penyelesaian",
        "Completion time",
        ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
        ("Not fast", "Less fast", "Fast", "Very fast"),
        question_id=(
            "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?"
        ),
        question_en="How fast was the service delivered?",
    ),
    Unsur(
        "U4",
        "Biaya/Tarif",
        "Cost/fee",
        ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
        ("Very expensive", "Fairly expensive", "Cheap", "Free"),
        question_id="Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
        question_en="How fair is the cost/fee of the service?",
    ),
    Unsur(
        "U5",
        "Produk Spesifikasi Jenis Pelayanan",
        "Product specification of the service",
        _SUITABLE_ID,
        _SUITABLE_EN,
        question_id=(
            "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang "
            "tercantum dalam standar pelayanan dengan hasil yang diberikan?"
        ),
        question_en=(
            "How well does the product you received match the one stated in the service "
            "standard?"
        ),
    ),
    Unsur(
        "U6",
        "Kompetensi Pelaksana",
        "Staff competence",
        ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
        ("Not competent", "Less competent", "Competent", "Very competent"),
        question_id=(
            "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?"
        ),
        question_en="How competent were the officers serving you?",
    ),
    Unsur(
        "U7",
        "Perilaku Pelaksana",
        "Staff conduct",
        (
            "Tidak sopan dan ramah",
            "Kurang sopan dan ramah",
            "Sopan dan ramah",
            "Sangat sopan dan ramah",
        ),
        (
            "Not polite and friendly",
            "Less polite and friendly",
            "Polite and friendly",
            "Very polite and friendly",
        ),
        question_id=(
            "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait "
            "kesopanan dan keramahan?"
        ),
        question_en="How polite and friendly were the officers serving you?",
    ),
    Unsur(
        "U8",
        "Penanganan Pengaduan, Saran dan Masukan",
        "Handling of complaints, suggestions and feedback",
        (
            "Tidak ada",
            "Ada tetapi tidak berfungsi",
            "Berfungsi kurang maksimal",
            "Dikelola dengan baik",
        ),
        ("None", "Exists but not working", "Working but not optimally", "Well managed"),
        question_id="Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
        question_en="How are complaints from service users handled?",
    ),
    Unsur(
        "U9",
        "Sarana dan Prasarana",
        "Facilities and infrastructure",
        ("Buruk", "Cukup", "Baik", "Sangat baik"),
        ("Poor", "Fair", "Good", "Very good"),
        question_id="Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
        question_en="How good are the facilities and infrastructure?",
    ),
]

N_UNSUR = len(UNSUR)
DEFAULT_WEIGHTS: list[Fraction] = [Fraction(1, 9)] * N_UNSUR

_TOLERANCE = Fraction(1, 10**9)
_HUNDREDTH = Decimal("0.01")

# (lowest IKM x25 for the grade, mutu, kinerja), best first.
GRADES: list[tuple[Decimal, str, str]] = [
    (Decimal("88.31"), "A", "Sangat Baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang Baik"),
    (Decimal("25.00"), "D", "Tidak Baik"),
]


def _bad_weights(reason_id: str, reason_en: str) -> InvalidValue:
    return InvalidValue("weights", reason_id, reason_en)


def validate_weights(weights: Sequence[Fraction | float | str]) -> list[Fraction]:
    """Nine non-negative weights adding up to exactly 1, returned as Fractions.

    Floats and decimal strings are approximate, so each is snapped with
    limit_denominator(10**6) (0.1111111111111111 -> 1/9) and a sum within 1e-9 of 1 is
    rescaled to exactly 1. Fractions and ints must add up to 1 exactly.
    """
    if isinstance(weights, str | bytes) or len(weights) != N_UNSUR:
        raise _bad_weights(
            f"harus ada tepat {N_UNSUR} bobot", f"exactly {N_UNSUR} weights are required"
        )
    result: list[Fraction] = []
    approximate = False
    for w in weights:
        try:
            if isinstance(w, bool):
                raise TypeError("bool")
            if isinstance(w, Fraction | int):
                value = Fraction(w)
            elif isinstance(w, float | str):
                value = Fraction(str(w).strip()).limit_denominator(10**6)
                approximate = True
            else:
                raise TypeError(type(w).__name__)
        except (ValueError, TypeError, ZeroDivisionError, OverflowError):
            raise _bad_weights(
                f"bobot '{w}' bukan angka", f"weight '{w}' is not a number"
            ) from None
        if value < 0:
            raise _bad_weights("bobot tidak boleh negatif", "weights must not be negative")
        result.append(value)
    total = sum(result, Fraction(0))
    if total != 1:
        if approximate and abs(total - 1) <= _TOLERANCE:
            result = [v / total for v in result]
        else:
            raise _bad_weights(
                f"jumlah bobot harus 1 (sekarang {float(total):g})",
                f"weights must add up to 1 (got {float(total):g})",
            )
    return result


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """Exact half-up rounding of a positive rational (no float on the way)."""
    scale = 10**places
    return Decimal(math.floor(value * scale + Fraction(1, 2))).scaleb(-places)


def grade(ikm_x25: float) -> tuple[str, str]:
    """(mutu, kinerja) for an IKM on the 25-100 scale, after rounding to 2 decimals half-up."""
    value = Decimal(str(ikm_x25)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
    if not Decimal("25.00") <= value <= Decimal("100.00"):
        raise ValueError(f"IKM must be within 25..100, got {ikm_x25}")
    for lowest, mutu, kinerja in GRADES:
        if value >= lowest:
            return mutu, kinerja
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class IkmResult:
    """Outcome of one survey period."""

    respondents: int
    nrr: list[float]  # per unsur, full precision
    ikm_nrr: float  # weighted NRR, 1..4
    ikm: float  # x25, rounded to 2 decimals half-up
    mutu: str  # "A".."D", "-" without respondents
    kinerja: str

    @property
    def nrr_rounded(self) -> list[float]:
        """NRR per unsur for display (3 decimals, as reports usually print them)."""
        return [float(Decimal(str(v)).quantize(Decimal("0.001"), ROUND_HALF_UP)) for v in self.nrr]

    @property
    def ikm_nrr_rounded(self) -> float:
        """Weighted NRR for display (4 decimals, like the regulation's NRR grade table)."""
        return float(Decimal(str(self.ikm_nrr)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def compute_ikm(
    responses: Sequence[Sequence[int]], weights: Sequence[Fraction | float | str] | None = None
) -> IkmResult:
    """IKM from raw answers: each response is nine scores 1..4 in unsur order U1..U9."""
    w = DEFAULT_WEIGHTS if weights is None else validate_weights(weights)
    sums = [0] * N_UNSUR
    for index, answers in enumerate(responses):
        if isinstance(answers, str | bytes) or len(answers) != N_UNSUR:
            raise InvalidValue(
                "answers",
                f"responden ke-{index + 1}: harus ada {N_UNSUR} jawaban",
                f"respondent {index + 1}: {N_UNSUR} answers are required",
            )
        for i, score in enumerate(answers):
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 4:
                raise InvalidValue(
                    "answers",
                    f"responden ke-{index + 1}, {UNSUR[i].code}: nilai harus 1-4",
                    f"respondent {index + 1}, {UNSUR[i].code}: score must be 1-4",
                )
            sums[i] += score
    n = len(responses)
    if n == 0:
        return IkmResult(0, [0.0] * N_UNSUR, 0.0, 0.0, "-", "-")
    nrr = [Fraction(s, n) for s in sums]
    ikm_nrr = sum((v * wi for v, wi in zip(nrr, w, strict=True)), Fraction(0))
    ikm = _round_half_up(ikm_nrr * 25, 2)
    mutu, kinerja = grade(float(ikm))
    return IkmResult(n, [float(v) for v in nrr], float(ikm_nrr), float(ikm), mutu, kinerja)


# Krejcie & Morgan (1970) as the SKM guides reprint it (PermenPANRB 14/2017 lampiran): N -> S.
KREJCIE_MORGAN_TABLE: dict[int, int] = {
    10: 10, 15: 14, 20: 19, 25: 24, 30: 28, 35: 32, 40: 36, 45: 40, 50: 44, 55: 48,
    60: 52, 65: 56, 70: 59, 75: 63, 80: 66, 85: 70, 90: 73, 95: 76, 100: 80, 110: 86,
    120: 92, 130: 97, 140: 103, 150: 108, 160: 113, 170: 118, 180: 123, 190: 127, 200: 132,
    210: 136, 220: 140, 230: 144, 240: 148, 250: 152, 260: 155, 270: 159, 280: 162,
    290: 165, 300: 169, 320: 175, 340: 181, 360: 186, 380: 191, 400: 196, 420: 201,
    440: 205, 460: 210, 480: 214, 500: 217, 550: 226, 600: 234, 650: 242, 700: 248,
    750: 254, 800: 260, 850: 265, 900: 269, 950: 274, 1000: 278, 1100: 285, 1200: 291,
    1300: 297, 1400: 302, 1500: 306, 1600: 310, 1700: 313, 1800: 317, 1900: 320,
    2000: 322, 2200: 327, 2400: 331, 2600: 335, 2800: 338, 3000: 341, 3500: 346,
    4000: 351, 4500: 354, 5000: 357, 6000: 361, 7000: 364, 8000: 367, 9000: 368,
    10000: 370, 15000: 375, 20000: 377, 30000: 379, 40000: 380, 50000: 381, 75000: 382,
    100000: 384, 1000000: 384,
}
_TABLE_ROWS = sorted(KREJCIE_MORGAN_TABLE.items())


def krejcie_morgan_formula(population: int) -> int:
    """S = 3.841·N·0.25 / (0.0025·(N-1) + 3.841·0.25), rounded half-up (exact arithmetic)."""
    if population < 0:
        raise ValueError("population must be >= 0")
    if population == 0:
        return 0
    chi = Fraction(3841, 1000)
    p_q = Fraction(1, 4)
    d2 = Fraction(1, 400)
    s = chi * population * p_q / (d2 * (population - 1) + chi * p_q)
    return math.floor(s + Fraction(1, 2))


def krejcie_morgan(population: int) -> int:
    """Minimum SKM sample for a population: the published table where it disagrees.

    The formula gives 383 for N = 100,000 where the printed table says 384 (the formula only
    reaches 384 from N = 244,865 on). Auditors check against the table, so a row of the
    table wins, and between rows the sample never falls below the row beneath N: the
    minimum stays monotonic in N (N = 150,000 also needs 384).
    """
    formula = krejcie_morgan_formula(population)
    floor_row = 0
    for n, s in _TABLE_ROWS:
        if n > population:
            break
        floor_row = s
    if population in KREJCIE_MORGAN_TABLE:
        return KREJCIE_MORGAN_TABLE[population]
    return max(formula, floor_row)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Continuous percentile with linear interpolation (PostgreSQL percentile_cont)."""
    if not 0 <= p <= 1:
        raise ValueError("p must be within 0..1")
    if not values:
        return None
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
