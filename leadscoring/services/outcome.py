"""What a recompute produces, the same on both paths: the grade a score falls in, and its counts."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import GradeBand


@dataclass
class RecomputeResult:
    """`leads_scored`: the leads whose score was computed; `scores_changed`: the score rows written
    (new, or score, grade or sales_ready changed; 0 when nothing changed)."""

    leads_scored: int = 0
    scores_changed: int = 0
    handed_off: int = 0
    returned: int = 0


def band_ranges(bands: list[GradeBand]) -> list[tuple[str, int, int | None]]:
    """(grade, min, max or None) in the order they are tried: the first band a score falls in wins.

    The one definition of band -> grade: the recompute's SQL writes it as a CASE (score_sql.py),
    `grade_of` in Python.
    """
    return [(band.grade, band.min_score, band.max_score) for band in bands]


def grade_of(score: int, bands: list[GradeBand]) -> str:
    for grade, low, high in band_ranges(bands):
        if score >= low and (high is None or score <= high):
            return grade
    return ""
