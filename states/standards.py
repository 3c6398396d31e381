"""Annex A of the 2009 guidance: the standards' codes, and which of them a candidate's career
stage sends to the headteacher and which to the external assessment (section 3)."""
from __future__ import annotations

POST_THRESHOLD = tuple(f"P{n}" for n in range(1, 11))      # P1..P10
EXCELLENT_TEACHER = tuple(f"E{n}" for n in range(1, 16))   # E1..E15 (E7 a-b and E12 a-c count as one)
AST = ("A1", "A2", "A3")
ALL_CODES = frozenset(POST_THRESHOLD + EXCELLENT_TEACHER + AST)

CAREER_STAGES = ("main_scale", "post_threshold", "excellent_teacher")

# career stage -> (what the headteacher checks, what the assessor judges)
STAGE_TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "main_scale": (("core",), POST_THRESHOLD + EXCELLENT_TEACHER + AST),
    "post_threshold": (("core", "post-threshold"), EXCELLENT_TEACHER + AST),
    "excellent_teacher": (("core", "post-threshold", "excellent teacher"), AST),
}


def externally_assessed(career_stage: str) -> tuple[str, ...]:
    return STAGE_TABLE[career_stage][1]

