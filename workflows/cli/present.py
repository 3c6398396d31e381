"""How cases read to a person at a terminal. Dates and times are shown in London time, which is
what the people in the process live by; --json keeps UTC for scripts."""
from __future__ import annotations

import sys

from workflows.core.times import day, london
from workflows.read.deadline_outcome import deadline_outcome

__all__ = ["day", "london", "case"]


def outcome_line(outcome) -> str:
    return f"{outcome.case}: {outcome.trigger} -> {outcome.state} (version {outcome.version})"


def warnings(items) -> None:
    for w in items:
        print(f"warning: {w}", file=sys.stderr)


def _data_lines(value, indent: int = 2) -> list[str]:
    pad = " " * indent
    lines = []
    for key, v in value.items():
        if isinstance(v, dict):
            lines.append(f"{pad}{key}:")
            lines.extend(_data_lines(v, indent + 2))
        elif isinstance(v, list):
            lines.append(f"{pad}{key}: " + ", ".join(str(x) for x in v))
        elif v is not None:
            text = str(v)
            lines.append(f"{pad}{key}: {text if len(text) < 90 else text[:87] + '...'}")
    return lines


def case(detail: dict, now: str) -> str:
    """`show`: the case, its deadlines (how each turned out, by the business clock `now`),
    its timeline, its notices and what may happen next."""
    as_of = f"  as of {london(detail['as_of'])} London" if detail.get("as_of") else ""
    out = [f"{detail['case']}  {detail['kind']}  state: {detail['state']}  "
           f"version: {detail['version']}{as_of}"]
    if detail.get("erased_at"):
        out.append(f"personal data erased on {london(detail['erased_at'])} London")
    out += ["", "Data (as opened):"]
    out += _data_lines(detail["data"])
    if detail.get("records"):
        out += ["", "Recorded by its triggers:"]
        for trigger, record in detail["records"].items():
            out.append(f"  {trigger} (effective {day(record['effective_date'])}):")
            out += _data_lines(record["data"], 4) or ["    (no data)"]
    entries = {e["seq"]: e for e in detail["log"]}
    out += ["", "Deadlines:"]
    for t in detail["timers"] or []:
        out.append(f"  {t['name']:<22} due {day(t['due'])}  fires {london(t['fires_at'])} London"
                   f"  {deadline_outcome(t, entries, now).detail}")
        out.append(f"  {'':<22} {t['rule']}")
    if not detail["timers"]:
        out.append("  (none)")
    out += ["", "Timeline (effective time, London; who, for whom; when it was keyed in):"]
    for e in detail["log"]:
        who = e["actor"] + (f" for {e['for']}" if e["for"] else "")
        move = f"{e['source'] or '-'} -> {e['dest']}"
        keyed = e["recorded_at"][:10] != e["effective_at"][:10]
        days = e.get("keyed_late_working_days") or 0
        later = f", {days} working day{'s' if days != 1 else ''} late" if days else ""
        late = f"  (keyed in {london(e['recorded_at'])}{later})" if keyed else ""
        if e.get("superseded_by"):
            late += f"  [superseded by entry {e['superseded_by']}]"
        out.append(f"  {e['seq']:>3}  {london(e['effective_at'])}  {e['trigger']:<26} "
                   f"{move:<40} {who}{late}")
    out += ["", "Notices:"]
    for n in detail["notices"]:
        out.append(f"  {n['id']:<22} {n['template']:<25} {n['status']:<8} to {', '.join(n['to'])}")
        out.append(f"  {'':<22} {n['subject']}")
    if not detail["notices"]:
        out.append("  (none)")
    if "next" in detail:
        out += ["", "Next (triggers this state allows; `ast-engine example TRIGGER` shows the "
                    "data):"]
        for step in detail["next"]:
            keys = ", ".join(step["needs"]) or "no data"
            if step["may_add"]:
                keys += f"; may add {', '.join(step['may_add'])}"
            out.append(f"  {step['trigger']:<26} by {' or '.join(step['roles']):<32} {keys}")
        if not detail["next"]:
            out.append(f"  (none: no person moves a case on from {detail['state']})")
    return "\n".join(out)


def case_table(rows: list[dict]) -> None:
    """`list`: one line a case on standard output, beginning with its id (CLI.md: "cases, one a
    line", for `| wc -l` and `| cut -d' ' -f1`); the header and the count go to standard
    error, which a person at the terminal sees beside them."""
    if not rows:
        print("no cases", file=sys.stderr)
        return
    print(f"{'case':<16} {'kind':<12} {'state':<22} {'version':>7}  {'next deadline':<13}  "
          "who (school)", file=sys.stderr, flush=True)
    for r in rows:
        print(f"{r['case']:<16} {r['kind']:<12} {r['state']:<22} {r['version']:>7}  "
              f"{day(r['next_due']):<13}  {_who(r)}{_timer_notes(r)}")
    sys.stdout.flush()
    print(f"{len(rows)} case(s)", file=sys.stderr)


def _who(row: dict) -> str:
    name, school = row.get("name") or "", row.get("school") or ""
    return f"{name} ({school})" if name and school else name or school or "-"


def _timer_notes(row: dict) -> str:
    notes = [f"{row[key]} {word}" for key, word in (("failed_timers", "timer(s) FAILED"),
                                                    ("superseded_timers", "superseded"))
             if row.get(key)]
    return f"  ({'; '.join(notes)})" if notes else ""


def notice_table(rows: list[dict]) -> str:
    if not rows:
        return "no notices"
    lines = [f"{'notice':<22} {'template':<24} {'status':<8} {'tries':>5}  to"]
    for r in rows:
        lines.append(f"{r['id']:<22} {r['template']:<24} {r['status']:<8} {r['attempts']:>5}  "
                     f"{', '.join(r['to'])}")
        if r["last_error"]:
            lines.append(f"{'':<22} last error: {r['last_error']}")
    return "\n".join(lines + [f"{len(rows)} notice(s)"])


def daemon_state(report: dict) -> str:
    """Whether a daemon is alive, in a few words (`status` and `status --check`)."""
    daemon = report["daemon"]
    limit = int(report["heartbeat_limit_seconds"])
    if report["alive"]:
        several = f"{report['daemons_alive']} daemons" if report["daemons_alive"] > 1 \
            else f"daemon {daemon['id']}"
        return f"{several} alive, last heartbeat {report['heartbeat_age_seconds']:.0f}s ago"
    if daemon is None:
        return "no daemon alive: none has run on this database"
    if daemon["stopped_at"] and not (daemon["summary"] or "").startswith("no heartbeat since"):
        return (f"no daemon alive: the last one stopped at {london(daemon['stopped_at'])} "
                f"London ({daemon['summary']})")
    age = report["heartbeat_age_seconds"]
    return (f"no daemon alive: the last one ({daemon['id']}) fell silent {age:.0f}s ago "
            f"(no heartbeat for over {limit}s: killed, hung or its host lost)")


def status(report: dict) -> str:
    nxt = report["next_timer"]
    lines = [f"daemon: {daemon_state(report)}",
             "next timer: " + (f"{nxt['name']} on {nxt['case']}, due {day(nxt['due'])}, fires "
                               f"{london(nxt['fires_at'])} London" if nxt else "none pending"),
             f"overdue timers: {report['overdue_timers']}"
             + (f" ({report['late_timers']} by more than one tick)" if report["late_timers"]
                else ""),
             f"notices: {report['notices']['pending']} pending, {report['notices']['sent']} "
             f"sent, {report['notices']['failed']} failed"]
    if report["failed_timers"]:
        lines.append(f"failed timers: {report['failed_timers']} (`list --overdue` and `show` "
                     "name them with their last error)")
    return "\n".join(lines)


# The monitoring-plugin convention (Nagios, Icinga, Zabbix agents): the first word, exit code.
CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN = 0, 1, 2, 3
CHECK_WORDS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


def check(report: dict) -> tuple[int, str]:
    """`status --check`: the exit code, and one line beginning OK, WARNING or CRITICAL, with
    performance data after `|`."""
    notices, tick = report["notices"], report["tick_seconds"]
    problems = []
    if notices["failed"]:
        problems.append(f"{notices['failed']} failed notice(s)")
    if report["failed_timers"]:
        problems.append(f"{report['failed_timers']} failed timer(s)")
    if report["late_timers"]:
        problems.append(f"{report['late_timers']} timer(s) overdue by more than one tick "
                        f"({tick:g}s)")
    if not report["alive"]:
        code, found = CHECK_CRITICAL, [daemon_state(report)] + problems
    elif problems:
        code, found = CHECK_WARNING, problems + [daemon_state(report)]
    else:
        code, found = CHECK_OK, [daemon_state(report),
                                 f"{report['overdue_timers']} overdue timer(s), "
                                 f"{notices['pending']} notice(s) pending"]
    age = report["heartbeat_age_seconds"]
    perf = (f"daemons={report['daemons_alive']};;1 "
            + (f"heartbeat_age={age:g}s;;{report['heartbeat_limit_seconds']:g} "
               if age is not None else "")
            + f"overdue_timers={report['overdue_timers']} "
            f"late_timers={report['late_timers']};0 failed_timers={report['failed_timers']};0 "
            f"pending_notices={notices['pending']} failed_notices={notices['failed']};0")
    return code, f"{CHECK_WORDS[code]} - {'; '.join(found)} | {perf}"
