"""The console's forms (workflows/console/forms.py, templates/_fields.html.j2): made from the data
models alone, filled in with the examples, read back into the data the engine validates, and
never the judge of that data."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from states import PROCESSES
from states.application import ApplicationState
from states.common import Bool
from states.examples import OPENING, TRIGGER
from states.spec import Data
from workflows.console import forms
from workflows.console.app import _environment
from workflows.core.errors import InvalidDataError, UnknownTriggerError
from workflows.engine.modes import AT_THE_DOOR
from workflows.engine.validate import refuse_invalid_text, validate

# A review is opened by request_review, so `example` has no opening of its own for it: this is
# the data review_opening (states/application.py) gives it.
REVIEW_OPENING = {
    "application": "app-7f3k9qxw2m",
    "candidate": {"name": "Ann Lee", "email": "ann.lee@hill.example.org"},
    "headteacher": {"name": "Hugh Brown", "email": "h.brown@hill.example.org"},
    "post": {"school": "Hill Primary School", "advertisement": "internal"},
    "assessor": {"id": "as-17", "name": "Carol Assessor", "email": "carol@agency.example.org"},
    "grounds": ["relevant_evidence_ignored", "bias_or_discrimination"],
    "explanation": "The assessor did not read the outreach portfolio.",
    "evidence": ["Outreach portfolio, pages 4-9", "Letter from the partner school"],
}


def examples() -> list[tuple[str, type[BaseModel], dict]]:
    """(what, model, example) for every opening model and every model of a trigger a person
    or the system fires with data, each with the example `ast-engine example` prints."""
    out = [(f"open {kind}", PROCESSES[kind].opening.data, OPENING[kind]) for kind in OPENING]
    out.append(("open review", PROCESSES["review"].opening.data, REVIEW_OPENING))
    seen = set()
    for kind, process in PROCESSES.items():
        for row in process.all_transitions():
            if row.internal or row.retired or row.trigger.startswith("timer:"):
                continue
            if row.data is None or (row.data, row.trigger) in seen:
                continue
            seen.add((row.data, row.trigger))
            out.append((f"{kind} {row.trigger}", row.data, TRIGGER.get(row.trigger, {})))
    return out


EXAMPLES = examples()


def rendered(fields: list[forms.FormField]) -> str:
    """The fields as the console's own Environment renders the macro (autoescaped, strict)."""
    return PAGE.render(f=fields)


PAGE = _environment().from_string(
    '{% from "_fields.html.j2" import fields %}<form method="post">{{ fields(f) }}</form>')


class Browser(HTMLParser):
    """What a browser submits for a form: every text input, textarea and select under its
    name (blank ones too), a check box only when ticked; and the labels and ids, to check."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.sent: dict[str, list[str]] = {}
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.required: set[str] = set()
        self._textarea: tuple[str, list[str]] | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label" and "for" in a:
            self.labels.append(a["for"])
        if tag in ("input", "textarea", "select"):
            self.ids.append(a.get("id", ""))
            if "required" in a:
                self.required.add(a["name"])
        if tag == "input":
            if a.get("type") != "checkbox" or "checked" in a:
                self.sent.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = (a["name"], [])
        elif tag == "select":
            self._select = (a["name"], [])
        elif tag == "option" and self._select is not None:
            self._select[1].append((a.get("value", ""), "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            text = "".join(parts)
            self.sent.setdefault(name, []).append(text[1:] if text.startswith("\n") else text)
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [options[0][0]]
            self.sent.setdefault(name, []).append(chosen[0])
            self._select = None


def submitted(model, values, **kw) -> Browser:
    return Browser(rendered(forms.fields_for(model, values, **kw)))


def names(fields: list[forms.FormField]) -> list[str]:
    return [n for f in fields for n in ([f.name] if f.kind != "group" else names(list(f.fields)))]


def dump(model, data) -> dict:
    return model.model_validate(data, context=AT_THE_DOOR).model_dump(mode="json")


# -- the round trip -------------------------------------------------------------------------------

@pytest.mark.parametrize("what, model, example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_each_example_shown_as_a_form_and_submitted_back_is_the_same_data(what, model, example):
    browser = submitted(model, example)
    data = forms.data_from_form(model, browser.sent)
    assert dump(model, data) == dump(model, in_form_order(model, example)), what


def in_form_order(model, example: dict) -> dict:
    """The example with the values of each check-box group in the order the boxes stand (a
    browser sends the ticked ones in that order: Annex A's, for unmet standards)."""
    out = dict(example)
    for f in forms.fields_for(model, example):
        if f.kind == "checkboxes" and f.name in out:
            order = [o.value for o in f.options]
            out[f.name] = sorted(out[f.name], key=order.index)
    return out


@pytest.mark.parametrize("what, model, example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_a_form_shown_again_with_what_was_typed_sends_the_same_again(what, model, example):
    first = submitted(model, example).sent
    again = submitted(model, forms.values_from_form(model, first)).sent
    assert forms.data_from_form(model, again) == forms.data_from_form(model, first), what


def test_every_trigger_a_person_fires_has_its_model_found_by_kind_and_trigger():
    for kind, process in PROCESSES.items():
        for row in process.transitions:
            if row.internal or row.retired or row.roles == ("system",):
                continue
            assert forms.model_for_trigger(kind, row.trigger) is row.data
            for state in row.sources:
                assert forms.model_for_trigger(kind, row.trigger, state.value) is row.data


def test_the_opening_model_is_the_one_open_validates_with_and_a_review_has_none():
    assert forms.model_for_opening("application") is PROCESSES["application"].opening.data
    assert forms.model_for_opening("appointment") is PROCESSES["appointment"].opening.data
    with pytest.raises(UnknownTriggerError, match="opened only by its application's"):
        forms.model_for_opening("review")
    with pytest.raises(UnknownTriggerError, match="unknown kind of case 'school'"):
        forms.model_for_opening("school")


def test_a_trigger_no_person_fires_has_no_form():
    for trigger in ("nonsense", "open", "timer:review_window", "review_certified", "refuse",
                    "deadline_recomputed"):
        kind = "review" if trigger == "refuse" else "application"
        with pytest.raises(UnknownTriggerError, match="no trigger"):
            forms.model_for_trigger(kind, trigger)
    with pytest.raises(UnknownTriggerError, match="from state received"):
        forms.model_for_trigger("application", "judge_met", "received")


# -- the fields ---------------------------------------------------------------------------------

def by_name(fields) -> dict[str, forms.FormField]:
    out = {}
    for f in fields:
        out[f.name] = f
        out.update(by_name(f.fields))
    return out


def test_each_type_gets_its_own_kind_of_field():
    opening = by_name(forms.fields_for(forms.model_for_opening("appointment"), None))
    assert opening["school.name"].kind == "text"            # Line
    assert opening["school.email"].kind == "email"
    assert opening["school.phase"].kind == "select"
    assert opening["pay_range.first_point"].kind == "number"
    assert opening["pay_range"].kind == "group" and not opening["pay_range"].repeated
    schedule = by_name(forms.fields_for(forms.model_for_trigger("application",
                                                                "schedule_assessment"), None))
    assert schedule["assessment_date"].kind == "date"
    assert schedule["delay_reason"].kind == "textarea"      # Text
    support = by_name(forms.fields_for(forms.model_for_trigger("application", "support"), None))
    assert support["evaluation"].kind == "textarea"         # Text | dict[str, Text]


def test_labels_are_the_models_descriptions():
    schedule = by_name(forms.fields_for(forms.model_for_trigger("application",
                                                                "schedule_assessment"), None))
    assert schedule["assessment_date"].label == "Date of the assessment visit"
    assert schedule["assessor"].label == "The assessor who will carry out the assessment"
    assert schedule["assessor.email"].label == "Email address"


def test_nested_objects_are_fieldsets_with_dotted_names():
    fields = forms.fields_for(forms.model_for_trigger("application", "schedule_assessment"),
                              TRIGGER["schedule_assessment"])
    assert names(fields) == ["assessment_date", "assessor.name", "assessor.email",
                             "assessor.id", "delay_reason"]
    assert by_name(fields)["assessor.email"].value == "carol.assessor@agency.example.org"


def test_a_list_of_objects_is_rows_with_indexed_names_and_two_blank_rows_more():
    fields = by_name(forms.fields_for(forms.model_for_trigger("appointment",
                                                              "close_applications"),
                                      TRIGGER["close_applications"]))
    shortlist = fields["shortlist"]
    assert shortlist.repeated and [r.name for r in shortlist.fields] == [
        "shortlist.0", "shortlist.1", "shortlist.2"]
    assert fields["shortlist.0.candidate"].value == "Ann Lee"
    assert fields["shortlist.2.certificate.agency_reference"].value == ""
    # at least one row: the first row's required keys are required, the others' never
    assert fields["shortlist.0.candidate"].required
    assert not fields["shortlist.1.candidate"].required
    # a key of an optional group is not required in the page, though the model needs it there
    assert not fields["shortlist.0.certificate.checked_by"].required


def test_a_list_of_texts_is_rows_of_text_areas():
    fields = by_name(forms.fields_for(forms.model_for_trigger("application", "request_review"),
                                      TRIGGER["request_review"]))
    assert [f.kind for f in fields["evidence"].fields] == ["textarea"] * 3
    assert fields["evidence.0"].value == "Outreach portfolio, pages 4-9"
    assert fields["evidence"].optional and not fields["evidence.0"].required


def test_a_list_of_fixed_values_is_a_check_box_each():
    grounds = by_name(forms.fields_for(forms.model_for_trigger("application", "request_review"),
                                       TRIGGER["request_review"]))["grounds"]
    assert grounds.kind == "checkboxes" and grounds.required
    assert [(o.value, o.label, o.chosen) for o in grounds.options] == [
        ("relevant_evidence_ignored", "relevant evidence ignored", True),
        ("irrelevant_or_inaccurate_evidence", "irrelevant or inaccurate evidence", False),
        ("bias_or_discrimination", "bias or discrimination", False)]


def test_unmet_standards_offer_only_the_codes_the_caller_allows():
    model = forms.model_for_trigger("application", "judge_not_met")
    every = by_name(forms.fields_for(model, None))["unmet_standards"]
    assert [o.value for o in every.options][:2] == ["P1", "P2"] and len(every.options) == 28
    allowed = forms.allowed_standards({"career_stage": "excellent_teacher"}, "england")
    assert allowed == ("A1", "A2", "A3")
    limited = by_name(forms.fields_for(model, {"unmet_standards": ["A2", "P4"]},
                                       allowed_standards=allowed))["unmet_standards"]
    assert [(o.value, o.chosen) for o in limited.options] == [("A1", False), ("A2", True),
                                                             ("A3", False)]


def test_the_allowed_standards_follow_the_engines_rule_for_the_stage_and_nation():
    assert forms.allowed_standards({"career_stage": "main_scale"}, "wales")[0] == "E1"
    assert forms.allowed_standards({"career_stage": "main_scale"}, "england")[0] == "P1"
    assert forms.allowed_standards({"career_stage": "erased"}, "england") is None
    assert forms.allowed_standards({}, "england") is None


def test_a_select_starts_with_a_blank_choice_chosen_until_one_is_given():
    fields = by_name(forms.fields_for(forms.model_for_opening("appointment"), None))
    phase = fields["school.phase"]
    assert [(o.value, o.chosen) for o in phase.options][:2] == [("", True), ("primary", False)]
    assert phase.options[0].label == "(choose one)"
    assert fields["pay_area"].options[0].label == "(none)" and fields["pay_area"].optional


# -- reading a form back -------------------------------------------------------------------------

APPOINT = forms.model_for_trigger("appointment", "appoint")


def test_dotted_and_indexed_names_become_nested_data_and_blank_rows_are_dropped():
    form = {"shortlist.0.candidate": ["Ann Lee"], "shortlist.0.application": ["app-1"],
            "shortlist.1.candidate": [""], "shortlist.1.application": [""],
            "shortlist.1.certificate.agency_reference": [""],
            "shortlist.2.candidate": ["Bo Ng"],
            "shortlist.2.certificate.agency_reference": ["NAA-1"],
            "shortlist.2.certificate.certified_on": ["2026-07-01"],
            "shortlist.2.certificate.checked_by": ["Hugh Brown"]}
    model = forms.model_for_trigger("appointment", "close_applications")
    assert forms.data_from_form(model, form) == {"shortlist": [
        {"candidate": "Ann Lee", "application": "app-1"},
        {"candidate": "Bo Ng", "certificate": {"agency_reference": "NAA-1",
                                               "certified_on": "2026-07-01",
                                               "checked_by": "Hugh Brown"}}]}


def test_rows_are_read_in_the_order_of_their_numbers_not_of_the_form():
    model = forms.model_for_trigger("application", "request_review")
    form = {"evidence.10": ["third"], "evidence.2": ["second"], "evidence.0": ["first"]}
    assert forms.data_from_form(model, form)["evidence"] == ["first", "second", "third"]


def test_empty_optional_fields_are_left_out_and_check_boxes_are_lists():
    model = forms.model_for_trigger("application", "request_review")
    form = {"grounds": ["relevant_evidence_ignored", "bias_or_discrimination"],
            "explanation": ["Not read."], "evidence.0": ["  "], "evidence.1": [""]}
    assert forms.data_from_form(model, form) == {
        "grounds": ["relevant_evidence_ignored", "bias_or_discrimination"],
        "explanation": "Not read."}
    assert forms.data_from_form(model, {"explanation": ["x"]}) == {"explanation": "x"}


def test_a_plain_number_is_sent_as_a_number_and_anything_else_as_typed_for_the_engine():
    form = {"candidate": ["Ann Lee"], "certified_application": ["app-1"],
            "start_date": ["2027-09-01"], "spine_point": [" 5 "]}
    assert forms.data_from_form(APPOINT, form)["spine_point"] == 5
    for typed in ("five", "5.0", "٥", "1" * 40, "5 6"):
        data = forms.data_from_form(APPOINT, {**form, "spine_point": [typed]})
        assert data["spine_point"] == typed
        with pytest.raises(InvalidDataError, match="spine_point: Input should be a valid "
                                                   "integer"):
            validate(PROCESSES["appointment"].rows("appoint")[0], data, None, None,
                     AT_THE_DOOR)


def test_a_date_goes_to_the_engine_as_typed():
    form = {"assessment_date": ["10 Feb 2027"], "assessor.id": ["as-17"]}
    model = forms.model_for_trigger("application", "schedule_assessment")
    data = forms.data_from_form(model, form)
    assert data == {"assessment_date": "10 Feb 2027", "assessor": {"id": "as-17"}}
    with pytest.raises(InvalidDataError, match="assessment_date: give a day as YYYY-MM-DD"):
        validate(PROCESSES["application"].rows("schedule_assessment")[0], data, None, None,
                 AT_THE_DOOR)


def test_the_forms_own_names_and_unknown_names_never_reach_the_data():
    model = forms.model_for_trigger("application", "reject")
    form = {"csrf": ["t"], "version": ["3"], "effective_at": ["2027-01-04 09:00"],
            "on_behalf_of": ["headteacher:h.brown"], "reasons": ["Out of scope."],
            "reasons.0": ["x"], "colour": ["blue"], "reasons.extra": ["y"]}
    assert forms.data_from_form(model, form) == {"reasons": "Out of scope."}


def test_a_name_sent_twice_counts_once_and_a_ticked_box_twice_once():
    model = forms.model_for_trigger("application", "request_review")
    form = {"explanation": ["first", "second"],
            "grounds": ["bias_or_discrimination", "bias_or_discrimination", "made_up"]}
    assert forms.data_from_form(model, form) == {
        "explanation": "first", "grounds": ["bias_or_discrimination", "made_up"]}


def test_what_was_typed_is_kept_exactly_to_show_again():
    form = {"candidate": ["  Ann Lee  "], "spine_point": ["five"], "start_date": ["tomorrow"],
            "certificate.agency_reference": ["<script>x</script>"], "csrf": ["t"]}
    values = forms.values_from_form(APPOINT, form)
    assert values == {"candidate": "  Ann Lee  ", "spine_point": "five",
                      "start_date": "tomorrow",
                      "certificate": {"agency_reference": "<script>x</script>"}}
    shown = by_name(forms.fields_for(APPOINT, values))
    assert shown["candidate"].value == "  Ann Lee  " and shown["spine_point"].value == "five"


def test_rows_typed_keep_their_places_when_shown_again():
    model = forms.model_for_trigger("application", "request_review")
    values = forms.values_from_form(model, {"evidence.0": [""], "evidence.1": ["b"],
                                            "evidence.2": [""]})
    assert values == {"evidence": ["", "b"]}
    rows = by_name(forms.fields_for(model, values))["evidence"].fields
    assert [r.value for r in rows] == ["", "b", "", ""]


def test_a_trigger_without_data_has_no_fields_and_gives_no_data():
    model = forms.model_for_trigger("application", "judge_met")
    assert forms.fields_for(model, {"x": 1}) == []
    assert forms.data_from_form(model, {"x": ["1"]}) == {}
    assert forms.fields_for(None, None) == [] and forms.data_from_form(None, {}) == {}


# -- junk never raises ---------------------------------------------------------------------------

MODELS = [(what, model) for what, model, _ in EXAMPLES]
KNOWN_NAMES = sorted({n for _, model, example in EXAMPLES
                      for n in names(forms.fields_for(model, example))})
NAME = st.one_of(st.sampled_from(KNOWN_NAMES + sorted(forms.RESERVED)),
                 st.builds(lambda n, i: f"{n}.{i}", st.sampled_from(KNOWN_NAMES),
                           st.sampled_from(["0", "x", "99999999", "-1", "1.2", "", "00"])),
                 st.text(max_size=30))
SENT = st.one_of(st.lists(st.text(max_size=40), max_size=3), st.text(max_size=40),
                 st.none(), st.integers(), st.lists(st.one_of(st.none(), st.binary()),
                                                    max_size=2))


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(MODELS) - 1),
       form=st.dictionaries(NAME, SENT, max_size=25))
def test_any_form_gives_some_data_the_engine_accepts_or_refuses_in_its_own_words(index, form):
    what, model = MODELS[index]
    data = forms.data_from_form(model, form)
    values = forms.values_from_form(model, form)
    assert isinstance(data, dict) and isinstance(values, dict)
    rendered(forms.fields_for(model, values))
    rendered(forms.fields_for(model, data))
    row = _row_of(model)
    try:
        refuse_invalid_text(data, row.trigger)
        validate(row, data, None, None, AT_THE_DOOR)
    except InvalidDataError:
        pass


def _row_of(model):
    for process in PROCESSES.values():
        for row in [process.opening, *process.all_transitions()]:
            if row.data is model:
                return row
    raise AssertionError(model)


def test_values_of_the_wrong_shape_are_shown_without_raising():
    model = forms.model_for_trigger("appointment", "close_applications")
    for values in ({"shortlist": "Ann"}, {"shortlist": [None, 3, "x", {"certificate": 7}]},
                   {"shortlist": {"0": {"candidate": "Ann"}}}, {"shortlist": [[]]}):
        rendered(forms.fields_for(model, values))
    support = forms.model_for_trigger("application", "support")
    shown = by_name(forms.fields_for(support, {"evaluation": {"A1": "Met.", "A2": "Met."}}))
    assert shown["evaluation"].value == "A1: Met.\nA2: Met."


def test_a_model_validates_what_the_form_gives_or_refuses_it_in_pydantics_words():
    model = forms.model_for_opening("application")
    with pytest.raises(ValidationError):
        model.model_validate(forms.data_from_form(model, {"candidate.email": ["not an address"]}))


# -- the macro -----------------------------------------------------------------------------------

@pytest.mark.parametrize("what, model, example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_control_has_a_label_and_a_unique_id(what, model, example):
    browser = submitted(model, example)
    assert all(browser.ids) and len(set(browser.ids)) == len(browser.ids), what
    assert sorted(browser.labels) == sorted(browser.ids), what


def test_values_are_escaped_never_markup():
    model = forms.model_for_trigger("application", "schedule_assessment")
    evil = '"><script>alert(1)</script>'
    html = rendered(forms.fields_for(model, {"assessor": {"name": evil}, "delay_reason":
                                             "</textarea><script>alert(2)</script>"}))
    assert "<script>" not in html and "</textarea><" not in html
    assert "&lt;script&gt;alert(1)" in html and "&lt;/textarea&gt;" in html
    sent = Browser(html).sent
    assert sent["assessor.name"] == [evil]
    assert sent["delay_reason"] == ["</textarea><script>alert(2)</script>"]


def test_a_text_area_keeps_a_leading_line_break():
    model = forms.model_for_trigger("application", "reject")
    assert Browser(rendered(forms.fields_for(model, {"reasons": "\nSee below."}))).sent[
        "reasons"] == ["\nSee below."]


def test_required_keys_are_marked_required_and_optional_ones_say_so():
    model = forms.model_for_trigger("application", "schedule_assessment")
    html = rendered(forms.fields_for(model, None))
    browser = Browser(html)
    assert browser.required == {"assessment_date", "assessor.name", "assessor.email",
                                "assessor.id"}
    assert "(optional)" in html.split('for="field-delay_reason"')[1].split("</label>")[0]


def test_groups_are_fieldsets_with_a_legend_and_the_tab_order_is_the_models():
    model = forms.model_for_trigger("appointment", "close_applications")
    html = rendered(forms.fields_for(model, TRIGGER["close_applications"]))
    assert html.count("<fieldset") == html.count("<legend>") == 1 + 3 * 2
    assert "tabindex" not in html and "style=" not in html and "<script" not in html
    order = Browser(html).ids
    assert order[:3] == ["field-shortlist.0.candidate", "field-shortlist.0.application",
                         "field-shortlist.0.certificate.agency_reference"]


def test_names_and_values_that_are_not_text_are_ignored():
    model = forms.model_for_trigger("application", "reject")
    for form in ({1: ["x"], None: "y", "reasons": [b"bytes", 3]}, {"reasons": 7}, [], None,
                 {"reasons": {"a": "b"}}):
        assert forms.data_from_form(model, form) == {}
        assert forms.values_from_form(model, form) == {}
    assert forms.data_from_form(model, {"reasons": "one value, not a list"}) == {
        "reasons": "one value, not a list"}


def test_a_yes_or_no_is_a_select_and_is_sent_as_true_or_false():
    class Flag(Data):
        urgent: Bool = Field(description="Whether it is urgent")
        stage: ApplicationState | None = Field(None, description="A state")

    (urgent, stage) = forms.fields_for(Flag, {"urgent": True, "stage": ApplicationState.not_met})
    assert [(o.label, o.chosen) for o in urgent.options] == [("(choose one)", False),
                                                             ("yes", True), ("no", False)]
    assert [o.value for o in stage.options if o.chosen] == ["not_met"]
    assert forms.data_from_form(Flag, {"urgent": ["false"], "stage": ["received"]}) == {
        "urgent": False, "stage": "received"}
    assert forms.data_from_form(Flag, {"urgent": ["maybe"]}) == {"urgent": "maybe"}


def test_the_submit_button_says_the_trigger_in_words():
    assert forms.in_words("schedule_assessment") == "Schedule assessment"


@pytest.mark.parametrize("written, day", [
    ("2027-02-01", "2027-02-01"),
    ("2027-02-01T10:00", "2027-02-01"),              # London wall-clock
    ("2027-07-01T23:30:00Z", "2027-07-02"),          # that instant: 00:30 BST on 2 July
    ("2027-07-01T23:30+01:00", "2027-07-01"),
])
def test_a_day_in_data_may_be_written_as_a_date_time_and_is_its_day_in_london(written, day):
    # CLI.md, "Times": dates in --data follow the same rules as --at.
    row = PROCESSES["appointment"].rows("advertise")[0]
    model = validate(row, {"closing_date": written}, None, None, AT_THE_DOOR)
    assert model.model_dump(mode="json") == {"closing_date": day}
