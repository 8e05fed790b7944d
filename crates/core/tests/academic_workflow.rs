//! The approval workflow: every (state, action, role) triple against the list of allowed
//! transitions, the errors people get otherwise, and a property that no sequence of actions
//! publishes a result without every review step, in order, since it was last returned.

use eportal_core::workflow::{next, Action, WorkflowError, WorkflowState};
use eportal_core::Role;
use proptest::prelude::*;
use WorkflowState::*;

fn ret(reason: &str) -> Action {
    Action::Return {
        reason: reason.into(),
    }
}

fn actions() -> [Action; 4] {
    [
        Action::Submit,
        Action::Approve,
        ret("CA scores for rows 12-15 are missing"),
        Action::Publish,
    ]
}

/// Every transition the rules allow, and nothing else: (from, action, by, to).
const ALLOWED: [(WorkflowState, &str, Role, WorkflowState); 10] = [
    (Draft, "submit", Role::Lecturer, Submitted),
    (Returned, "submit", Role::Lecturer, Submitted),
    (Submitted, "approve", Role::Hod, HodApproved),
    (HodApproved, "approve", Role::Dean, FacultyApproved),
    (FacultyApproved, "approve", Role::Senate, SenateApproved),
    (SenateApproved, "publish", Role::Senate, Published),
    (Submitted, "return", Role::Hod, Returned),
    (HodApproved, "return", Role::Dean, Returned),
    (FacultyApproved, "return", Role::Senate, Returned),
    (SenateApproved, "return", Role::Senate, Returned),
];

#[test]
fn every_state_action_role_triple_does_exactly_what_the_table_says() {
    let mut allowed_seen = 0;
    for state in WorkflowState::ALL {
        for action in actions() {
            let name = action.name();
            // The role that could take this action now, if anyone could.
            let rightful = ALLOWED
                .iter()
                .find(|(from, a, _, _)| *from == state && *a == name);
            for role in Role::ALL {
                let got = next(state, &action, &[role]);
                let want = ALLOWED
                    .iter()
                    .find(|(from, a, by, _)| *from == state && *a == name && *by == role)
                    .map(|t| t.3);
                match (want, rightful) {
                    (Some(to), _) => {
                        allowed_seen += 1;
                        assert_eq!(got, Ok(to), "{state} --{name}({role})-->");
                    }
                    (None, Some(&(_, _, needed, _))) => assert_eq!(
                        got,
                        Err(WorkflowError::WrongRole {
                            state,
                            action: name,
                            needed
                        }),
                        "{state} --{name}({role})-->"
                    ),
                    (None, None) => assert_eq!(
                        got,
                        Err(WorkflowError::NotAllowedNow {
                            state,
                            action: name
                        }),
                        "{state} --{name}({role})-->"
                    ),
                }
            }
            // Someone with no role at all may do nothing.
            assert!(
                next(state, &action, &[]).is_err(),
                "{state} --{name}(nobody)-->"
            );
        }
    }
    assert_eq!(
        allowed_seen,
        ALLOWED.len(),
        "each allowed transition is reachable once"
    );
}

#[test]
fn published_and_draft_have_no_reviewer_and_only_draft_and_returned_take_uploads() {
    for state in WorkflowState::ALL {
        assert_eq!(
            state.accepts_uploads(),
            matches!(state, Draft | Returned),
            "{state}"
        );
        assert_eq!(WorkflowState::parse(state.as_str()), Some(state));
    }
    assert_eq!(Submitted.reviewer(), Some(Role::Hod));
    assert_eq!(HodApproved.reviewer(), Some(Role::Dean));
    assert_eq!(FacultyApproved.reviewer(), Some(Role::Senate));
    assert_eq!(SenateApproved.reviewer(), Some(Role::Senate));
    assert_eq!(Published.reviewer(), None);
    assert_eq!(WorkflowState::parse("approved"), None);
}

#[test]
fn the_happy_path_and_a_return_and_resubmission() {
    let steps = [
        (Action::Submit, Role::Lecturer, Submitted),
        (Action::Approve, Role::Hod, HodApproved),
        (ret("row 7: exam score above 60"), Role::Dean, Returned),
        (Action::Submit, Role::Lecturer, Submitted),
        (Action::Approve, Role::Hod, HodApproved),
        (Action::Approve, Role::Dean, FacultyApproved),
        (Action::Approve, Role::Senate, SenateApproved),
        (Action::Publish, Role::Senate, Published),
    ];
    let mut state = Draft;
    for (action, role, want) in steps {
        state = next(state, &action, &[role]).unwrap();
        assert_eq!(state, want);
    }
}

#[test]
fn a_return_needs_a_reason_the_lecturer_can_act_on() {
    for blank in ["", "   ", "\n\t"] {
        assert_eq!(
            next(Submitted, &ret(blank), &[Role::Hod]),
            Err(WorkflowError::MissingReason)
        );
    }
    // Someone who may not return the result hears about their role, not the reason.
    assert_eq!(
        next(Submitted, &ret(""), &[Role::Lecturer]),
        Err(WorkflowError::WrongRole {
            state: Submitted,
            action: "return",
            needed: Role::Hod
        })
    );
    assert_eq!(
        WorkflowError::MissingReason.to_string(),
        "a returned result needs a reason the lecturer can act on"
    );
}

#[test]
fn staff_holding_several_roles_act_in_each() {
    let lecturer_and_hod = [Role::Lecturer, Role::Hod];
    assert_eq!(
        next(Draft, &Action::Submit, &lecturer_and_hod),
        Ok(Submitted)
    );
    assert_eq!(
        next(Submitted, &Action::Approve, &lecturer_and_hod),
        Ok(HodApproved)
    );
    assert!(next(HodApproved, &Action::Approve, &lecturer_and_hod).is_err());
    // The registry administrator runs the registry; approving results is not theirs.
    for state in WorkflowState::ALL {
        for action in actions() {
            assert!(next(state, &action, &[Role::Admin, Role::Student]).is_err());
        }
    }
}

#[test]
fn refusals_read_as_sentences() {
    let msg = |s, a: Action, r: Role| next(s, &a, &[r]).unwrap_err().to_string();
    assert_eq!(
        msg(Draft, Action::Approve, Role::Hod),
        "a result that is a draft cannot be approved now"
    );
    assert_eq!(
        msg(Published, Action::Submit, Role::Lecturer),
        "a result that is published cannot be submitted now"
    );
    assert_eq!(
        msg(Returned, ret("x"), Role::Hod),
        "a result that is returned to the lecturer cannot be returned now"
    );
    assert_eq!(
        msg(Submitted, Action::Approve, Role::Dean),
        "only the HOD may approve a result that is submitted"
    );
    assert_eq!(
        msg(HodApproved, Action::Approve, Role::Hod),
        "only the dean may approve a result that is approved by the HOD"
    );
    assert_eq!(
        msg(SenateApproved, Action::Publish, Role::Dean),
        "only the senate may publish a result that is approved by senate"
    );
}

#[test]
fn states_and_actions_travel_as_snake_case_json() {
    assert_eq!(
        serde_json::to_string(&HodApproved).unwrap(),
        "\"hod_approved\""
    );
    let a = ret("totals do not add up");
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(
        json,
        r#"{"action":"return","reason":"totals do not add up"}"#
    );
    assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a);
    assert_eq!(
        serde_json::from_str::<Action>(r#"{"action":"approve"}"#).unwrap(),
        Action::Approve
    );
    assert!(serde_json::from_str::<Action>(r#"{"action":"return"}"#).is_err());
}

fn any_step() -> impl Strategy<Value = (Action, Vec<Role>)> {
    let action = prop_oneof![
        Just(Action::Submit),
        Just(Action::Approve),
        Just(Action::Publish),
        Just(ret("see the comments on rows 3 and 9")),
        Just(ret("  ")),
    ];
    // Each role held with even odds, so the rightful reviewer is often present.
    let roles = proptest::collection::vec(any::<bool>(), Role::ALL.len()).prop_map(|held| {
        Role::ALL
            .into_iter()
            .zip(held)
            .filter_map(|(r, h)| h.then_some(r))
            .collect()
    });
    (action, roles)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn nothing_is_published_without_every_review_step_in_order(
        start in prop_oneof![Just(Draft), Just(Returned)],
        steps in proptest::collection::vec(any_step(), 0..60),
    ) {
        let mut state = start;
        // States entered since the result was last with the lecturer.
        let mut since_return: Vec<WorkflowState> = Vec::new();
        for (action, roles) in &steps {
            let Ok(to) = next(state, action, roles) else { continue };
            prop_assert_ne!(to, state, "a successful action always moves the result");
            prop_assert_ne!(state, Published, "published is final");
            if to == Returned {
                if let Action::Return { reason } = action {
                    prop_assert!(!reason.trim().is_empty());
                } else {
                    prop_assert!(false, "only a return action returns a result");
                }
                since_return.clear();
            } else {
                since_return.push(to);
            }
            if to == Published {
                prop_assert_eq!(
                    &since_return,
                    &vec![Submitted, HodApproved, FacultyApproved, SenateApproved, Published]
                );
            }
            state = to;
        }
    }
}
