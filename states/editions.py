"""Editions of the rules. The log records what was decided; replay re-applies each entry with the
effects of the rules it was decided under, so that changing a rule never makes a case decided
before look tampered with. The database records from which log entry each edition applies
(table `rule_editions`, written by the migration that brought the edition in).

    1  until 2026-11-30: the rules as first built.
    2  2026-11-30: DOMAIN.md revised ("Office truth"): the decision letter also sends
       `assessment_outcome`; paper keyed late supersedes timer entries (`timer_superseded`);
       no one refuses a review; `send_to_la`, `vacate`; calendars by party.
    3  2026-12-06: DOMAIN.md revised ("Parties bound to a case", "Notices"): the headteacher,
       assessor and review officer bound to their cases (`change_headteacher`); a withdrawal
       copied to everyone involved; a review's reasons to the candidate and assessor only,
       `review_outcome` to the others; a withdrawn review returns its application to
       `not_met` while the window is open (`review_withdrawn`); `give_notice`, `post_ends`,
       `post_ending`, `post_vacated`, `post_cancelled`; a new assessment date to the assessor
       too; `review_decision` on the national calendar.

What edition 1 decided differently and replay must still reproduce: the notices it did not send
(`Notify.since`), the rows since retired (`Transition.retired`), the destinations its routes
chose (replay follows the logged destination), the roles it allowed (replay does not authorise
again: so an entry of editions 1-2 by a headteacher, assessor or review officer other than the
one edition 3 binds still replays) and the facts it derived (replay reads them from the
entry)."""

CURRENT = 3
