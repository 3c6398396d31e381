"""Annex A of the 2009 guidance: the standards' codes, and which of them a candidate's career
stage sends to the headteacher and which to the external assessment (section 3).

The framework of professional standards (core, post-threshold) applies in England only; the
excellent teacher and AST standards are pay standards and apply in England and Wales (section 3,
"What are the AST standards?"). In Wales the assessment judges E1-E15 and A1-A3 for a main-scale
or post-threshold candidate and A1-A3 alone for an Excellent Teacher (section 3's table: an
Excellent Teacher has already met the E standards, which apply in Wales too), and no P code can
be unmet."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

POST_THRESHOLD = tuple(f"P{n}" for n in range(1, 11))      # P1..P10
EXCELLENT_TEACHER = tuple(f"E{n}" for n in range(1, 16))   # E1..E15 (E7 a-b and E12 a-c count as one)
AST = ("A1", "A2", "A3")
ALL_CODES = frozenset(POST_THRESHOLD + EXCELLENT_TEACHER + AST)

CAREER_STAGES = ("main_scale", "post_threshold", "excellent_teacher")

# career stage -> what the assessor judges (England)
ASSESSED_IN_ENGLAND: dict[str, tuple[str, ...]] = {
    "main_scale": POST_THRESHOLD + EXCELLENT_TEACHER + AST,
    "post_threshold": EXCELLENT_TEACHER + AST,
    "excellent_teacher": AST,
}
# career stage -> what the assessor judges (Wales: no post-threshold standards)
ASSESSED_IN_WALES: dict[str, tuple[str, ...]] = {
    "main_scale": EXCELLENT_TEACHER + AST,
    "post_threshold": EXCELLENT_TEACHER + AST,
    "excellent_teacher": AST,
}


def externally_assessed(career_stage: str, nation: str = "england") -> tuple[str, ...]:
    """The standards the external assessment judges for this career stage in this nation."""
    if nation == "wales":
        return ASSESSED_IN_WALES[career_stage]
    return ASSESSED_IN_ENGLAND[career_stage]


@dataclass(frozen=True)
class AnnexA:
    """Marks text that holds one of Annex A's codes (`Code`). It validates nothing (the model's
    own validator and the engine's guard do): it tells a reader, and the console's forms, that
    the values to offer are the standards' codes."""


ANNEX_A = AnnexA()
Code = Annotated[str, ANNEX_A]   # a standard's code: P1..P10, E1..E15, A1..A3
