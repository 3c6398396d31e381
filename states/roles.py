"""Who takes part in the process (shared/DOMAIN.md, "Roles"). Each trigger lists the roles that
may fire it; `operator` keys in paper forms for someone else and `system` is the engine itself
(timers, and a decision moving its linked case)."""
from __future__ import annotations

ROLES = (
    "candidate",           # the teacher applying
    "headteacher",         # the candidate's headteacher (or designated line manager)
    "post_school",         # the school (or LA personnel department) advertising the post
    "la_coordinator",      # the LA's AST co-ordinator
    "agency",              # the national assessment agency
    "assessor",            # the agency's assessor of one application
    "review_coordinator",  # Annex D's Review Co-ordinator
    "review_officer",      # the independent officer who decides a review
    "operator",            # LA IT staff keying in a paper form for someone (--for)
    "system",              # the engine: timers, and linked cases moved by a decision
    "auditor",             # reads; never fires
)
# Roles an operator may never act for: the engine's own, and the read-only auditor.
ACTS_FOR_NOBODY = ("system", "auditor", "operator")
