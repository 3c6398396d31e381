from tests.builders import AGENCY, Driver


def test_a_certified_candidate_gets_both_letters_and_no_timer_is_left_pending(driver: Driver):
    case = driver.to_certified()
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
    driver.fire(case, "send_written_feedback", AGENCY, {"feedback": "Outstanding outreach."},
                at="2027-02-20")
    assert driver.state(case) == "certified"
    assert {name: status for name, (_, _, status) in driver.timers(case).items()} == {
        "headteacher_deadline": "cancelled", "assessment_window": "cancelled",
        "decision_letter": "cancelled", "written_feedback": "cancelled"}
    assert [n.template for n in driver.notices(case)] == [
        "application_received", "application_with_agency", "assessment_arranged",
        "decision_letter", "assessment_outcome", "written_feedback"]
