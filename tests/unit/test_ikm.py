"""SKM / IKM per PermenPANRB 14/2017, checked against hand-computed figures."""

from __future__ import annotations

from fractions import Fraction

import pytest

from app.domain.errors import InvalidValue
from app.domain.ikm import (
    DEFAULT_WEIGHTS,
    KREJCIE_MORGAN_TABLE,
    UNSUR,
    compute_ikm,
    grade,
    krejcie_morgan,
    krejcie_morgan_formula,
    percentile,
    validate_weights,
)


def test_unsur_table() -> None:
    assert [u.code for u in UNSUR] == [f"U{i}" for i in range(1, 10)]
    assert UNSUR[3].labels_id == ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")
    assert UNSUR[7].labels_id[1] == "Ada tetapi tidak berfungsi"
    assert UNSUR[6].labels_id[3] == "Sangat sopan dan ramah"
    assert all(len(u.labels_id) == len(u.labels_en) == 4 for u in UNSUR)


def test_default_weights_are_exact_ninths() -> None:
    assert DEFAULT_WEIGHTS == [Fraction(1, 9)] * 9
    assert sum(DEFAULT_WEIGHTS) == 1


def test_hand_computed_example() -> None:
    responses = [
        [4, 4, 4, 4, 4, 4, 4, 4, 4],
        [3, 3, 3, 3, 3, 3, 3, 3, 3],
        [3, 4, 3, 4, 3, 4, 3, 4, 3],
        [2, 3, 3, 4, 3, 3, 3, 2, 3],
    ]
    result = compute_ikm(responses)
    assert result.respondents == 4
    assert result.nrr == [3.0, 3.5, 3.25, 3.75, 3.25, 3.5, 3.25, 3.25, 3.25]
    # sum NRR = 30; /9 = 3.3333...; x25 = 83.333... -> 83.33
    assert result.ikm_nrr == pytest.approx(30 / 9)
    assert result.ikm_nrr_rounded == 3.3333
    assert result.nrr_rounded[2] == 3.25
    assert result.ikm == 83.33
    assert (result.mutu, result.kinerja) == ("B", "Baik")


def test_extremes() -> None:
    best = compute_ikm([[4] * 9] * 3)
    assert (best.ikm, best.mutu, best.kinerja) == (100.0, "A", "Sangat Baik")
    worst = compute_ikm([[1] * 9])
    assert (worst.ikm, worst.mutu, worst.kinerja) == (25.0, "D", "Tidak Baik")


def test_no_respondents() -> None:
    result = compute_ikm([])
    assert result.respondents == 0
    assert result.mutu == "-"


def test_point_eleven_trap() -> None:
    """0.11 weights add up to 0.99 and cost a grade; the exact 1/9 does not."""
    responses = [[4, 4, 4, 4, 4, 3, 3, 3, 3]]  # sum 32
    nrr = [4, 4, 4, 4, 4, 3, 3, 3, 3]
    wrong = sum(v * 0.11 for v in nrr) * 25  # what spreadsheets with 0.11 compute
    assert wrong == pytest.approx(88.0)
    assert grade(round(wrong, 2)) == ("B", "Baik")
    result = compute_ikm(responses)
    assert result.ikm == 88.89  # 32/9*25 = 88.888...
    assert (result.mutu, result.kinerja) == ("A", "Sangat Baik")
    with pytest.raises(InvalidValue):
        validate_weights([0.11] * 9)


def test_half_up_rounding_is_exact() -> None:
    """8 respondents, nine 4s and sixty-three 3s: IKM = 78.125 exactly -> 78.13 (half up);
    Python's round() would give 78.12 (half to even)."""
    responses = [[4] * 9] + [[3] * 9] * 7
    assert round(78.125, 2) == 78.12
    assert compute_ikm(responses).ikm == 78.13


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100.0, ("A", "Sangat Baik")),
        (88.31, ("A", "Sangat Baik")),
        (88.305, ("A", "Sangat Baik")),  # rounds to 88.31 first
        (88.30, ("B", "Baik")),
        (88.304, ("B", "Baik")),
        (76.61, ("B", "Baik")),
        (76.60, ("C", "Kurang Baik")),
        (76.605, ("B", "Baik")),
        (65.00, ("C", "Kurang Baik")),
        (64.995, ("C", "Kurang Baik")),
        (64.99, ("D", "Tidak Baik")),
        (25.0, ("D", "Tidak Baik")),
    ],
)
def test_grade_boundaries(value: float, expected: tuple[str, str]) -> None:
    assert grade(value) == expected


@pytest.mark.parametrize("value", [24.99, 100.01, 0.0])
def test_grade_out_of_range(value: float) -> None:
    with pytest.raises(ValueError):
        grade(value)


def test_weights_validation() -> None:
    assert validate_weights([Fraction(1, 9)] * 9) == DEFAULT_WEIGHTS
    assert validate_weights([1 / 9] * 9) == DEFAULT_WEIGHTS  # float 1/9 snaps to exact
    assert validate_weights(["1/9"] * 9) == DEFAULT_WEIGHTS
    assert validate_weights(["0.1111111111"] * 9) == DEFAULT_WEIGHTS
    custom = [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert sum(validate_weights(custom)) == 1
    assert validate_weights(custom)[0] == Fraction(1, 5)


@pytest.mark.parametrize(
    "weights",
    [
        [0.11] * 9,
        [Fraction(1, 9)] * 8,
        [Fraction(1, 8)] * 9,
        [Fraction(-1, 9)] + [Fraction(10, 72)] * 8,
        ["x"] * 9,
        [float("nan")] * 9,
        [None] * 9,
    ],
)
def test_bad_weights(weights: list[object]) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_weights(weights)  # type: ignore[arg-type]
    assert info.value.params["field"] == "weights"


def test_custom_weights_change_result() -> None:
    weights = [Fraction(1, 2)] + [Fraction(1, 16)] * 8
    # U1 averages 1, the rest 4: 0.5*1 + 0.5*4 = 2.5 -> 62.50 D
    result = compute_ikm([[1, 4, 4, 4, 4, 4, 4, 4, 4]], weights)
    assert result.ikm == 62.5 and result.mutu == "D"
    assert compute_ikm([[1, 4, 4, 4, 4, 4, 4, 4, 4]]).ikm == 91.67  # 33/9*25 = 91.666...


@pytest.mark.parametrize(
    "responses",
    [[[4] * 8], [[4] * 10], [[0] + [4] * 8], [[5] + [4] * 8], [[True] + [4] * 8], [[3.5] * 9]],
)
def test_bad_answers(responses: list[list[object]]) -> None:
    with pytest.raises(InvalidValue) as info:
        compute_ikm(responses)  # type: ignore[arg-type]
    assert info.value.params["field"] == "answers"


@pytest.mark.parametrize(
    ("population", "sample"),
    [(0, 0), (1, 1), (100, 80), (500, 217), (1000, 278), (10_000, 370), (1_000_000, 384)],
)
def test_krejcie_morgan(population: int, sample: int) -> None:
    assert krejcie_morgan(population) == sample


def test_krejcie_morgan_table_wins_where_formula_disagrees() -> None:
    # The formula gives 382.63 -> 383; K&M's published table prints 384 for N = 100,000.
    assert krejcie_morgan_formula(100_000) == 383
    assert krejcie_morgan(100_000) == 384
    # Between rows the minimum never drops below the row beneath (monotonic in N).
    assert krejcie_morgan(150_000) == 384
    assert krejcie_morgan_formula(244_865) == 384


def test_krejcie_morgan_matches_every_published_row_and_is_monotonic() -> None:
    for n, s in KREJCIE_MORGAN_TABLE.items():
        assert krejcie_morgan(n) == s, n
    previous = 0
    for n in [*range(0, 3000), *range(3000, 400_000, 97)]:
        value = krejcie_morgan(n)
        assert previous <= value <= max(n, 0)
        previous = value


def test_every_unsur_has_its_question_sentence() -> None:
    assert UNSUR[0].question_id.startswith("Bagaimana pendapat Saudara tentang kesesuaian")
    assert "penanganan pengaduan" in UNSUR[7].question_id
    assert "sarana dan prasarana" in UNSUR[8].question_id
    assert all(u.question_id.endswith("?") and u.question_en.endswith("?") for u in UNSUR)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 0.5, 2.5),
        ([1, 2, 3, 4], 0.9, 3.7),
        ([4, 1, 3, 2], 0.25, 1.75),
        ([1, 2, 3, 4], 0.0, 1.0),
        ([1, 2, 3, 4], 1.0, 4.0),
        ([7], 0.9, 7.0),
        ([10, 20, 30, 40, 50], 0.5, 30.0),
        ([10, 20, 30, 40, 50], 0.95, 48.0),
    ],
)
def test_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_edges() -> None:
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)
