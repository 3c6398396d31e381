"""What each kind of case is: states, triggers, roles, data, guards and effects, as plain data."""
from states.application import PROCESS as APPLICATION
from states.appointment import PROCESS as APPOINTMENT
from states.review import PROCESS as REVIEW

PROCESSES = {p.kind: p for p in (APPLICATION, REVIEW, APPOINTMENT)}
