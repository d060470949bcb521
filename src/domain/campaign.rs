//! The campaign lifecycle: `draft → submitted → approved → live → closing → succeeded | failed`,
//! plus `rejected` (back to `draft` on edit) and `cancelled`. Pure: callers apply the result
//! with a conditional update on the stored status, so concurrent requests cannot both win.

use super::stored::stored_as_text;
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Live,
    Closing,
    Succeeded,
    Failed,
    Cancelled,
}

stored_as_text!(
    CampaignStatus,
    "campaign status",
    CampaignStatus::parse,
    |v| v.as_str().to_string()
);

pub const ALL_STATUSES: [CampaignStatus; 9] = [
    CampaignStatus::Draft,
    CampaignStatus::Submitted,
    CampaignStatus::Approved,
    CampaignStatus::Rejected,
    CampaignStatus::Live,
    CampaignStatus::Closing,
    CampaignStatus::Succeeded,
    CampaignStatus::Failed,
    CampaignStatus::Cancelled,
];

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Submitted => "submitted",
            CampaignStatus::Approved => "approved",
            CampaignStatus::Rejected => "rejected",
            CampaignStatus::Live => "live",
            CampaignStatus::Closing => "closing",
            CampaignStatus::Succeeded => "succeeded",
            CampaignStatus::Failed => "failed",
            CampaignStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignStatus> {
        ALL_STATUSES.into_iter().find(|st| st.as_str() == s)
    }

    /// A campaign that can no longer use a donation: money arriving for it goes back to the
    /// donor (late money).
    pub fn refunds_arriving_money(self) -> bool {
        matches!(self, CampaignStatus::Failed | CampaignStatus::Cancelled)
    }

    /// States the public (and partner frontends) may see.
    pub fn is_public(self) -> bool {
        matches!(
            self,
            CampaignStatus::Approved
                | CampaignStatus::Live
                | CampaignStatus::Closing
                | CampaignStatus::Succeeded
                | CampaignStatus::Failed
        )
    }

    /// Only drafts and rejected campaigns may be edited.
    pub fn is_editable(self) -> bool {
        matches!(self, CampaignStatus::Draft | CampaignStatus::Rejected)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CampaignStatus::Succeeded | CampaignStatus::Failed | CampaignStatus::Cancelled
        )
    }
}

/// Who asks for a transition; the rules differ for the owner and the city.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Owner,
    Admin,
    Reviewer,
    /// The scheduler, moving campaigns along the calendar.
    System,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Edit,
    Submit,
    Approve,
    Reject,
    /// A call's published ranking admits an application (also one it had turned down).
    Admit,
    Cancel,
    GoLive,
    Close,
    Succeed,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action exists for this actor but not from this state (409).
    #[error("a {from} campaign cannot be {verb}", from = .from.as_str(), verb = action_verb(*.action))]
    IllegalState {
        from: CampaignStatus,
        action: Action,
    },
    /// This actor may never do this (403).
    #[error("not allowed")]
    NotAllowed,
}

fn action_verb(a: Action) -> &'static str {
    match a {
        Action::Edit => "edited",
        Action::Submit => "submitted",
        Action::Approve | Action::Admit => "approved",
        Action::Reject => "rejected",
        Action::Cancel => "cancelled",
        Action::GoLive => "started",
        Action::Close => "closed",
        Action::Succeed | Action::Fail => "decided",
    }
}

/// The state after `action` by `actor` from `from`, or why not.
pub fn transition(
    from: CampaignStatus,
    action: Action,
    actor: Actor,
) -> Result<CampaignStatus, TransitionError> {
    use Action as A;
    use Actor as W;
    use CampaignStatus as S;

    let allowed_actor = match action {
        A::Edit | A::Submit => matches!(actor, W::Owner),
        A::Approve | A::Reject => matches!(actor, W::Admin | W::Reviewer),
        A::Admit => matches!(actor, W::Admin),
        A::Cancel => matches!(actor, W::Owner | W::Admin),
        A::GoLive | A::Close | A::Succeed | A::Fail => matches!(actor, W::System),
    };
    if !allowed_actor {
        return Err(TransitionError::NotAllowed);
    }
    let to = match (action, from) {
        // Editing a rejected campaign sends it back to draft.
        (A::Edit, S::Draft | S::Rejected) => S::Draft,
        (A::Submit, S::Draft) => S::Submitted,
        (A::Approve, S::Submitted) => S::Approved,
        (A::Reject, S::Submitted) => S::Rejected,
        (A::Admit, S::Submitted | S::Rejected) => S::Approved,
        // The owner may withdraw before approval; the city may cancel until the close.
        (A::Cancel, S::Draft | S::Submitted | S::Rejected) => S::Cancelled,
        (A::Cancel, S::Approved | S::Live) if actor == W::Admin => S::Cancelled,
        (A::GoLive, S::Approved) => S::Live,
        (A::Close, S::Live) => S::Closing,
        (A::Succeed, S::Closing) => S::Succeeded,
        (A::Fail, S::Closing) => S::Failed,
        _ => return Err(TransitionError::IllegalState { from, action }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignStatus as S;
    use proptest::prelude::*;

    #[test]
    fn happy_path_reaches_success() {
        let mut s = S::Draft;
        for (action, actor) in [
            (Action::Submit, Actor::Owner),
            (Action::Approve, Actor::Reviewer),
            (Action::GoLive, Actor::System),
            (Action::Close, Actor::System),
            (Action::Succeed, Actor::System),
        ] {
            s = transition(s, action, actor).unwrap();
        }
        assert_eq!(s, S::Succeeded);
    }

    #[test]
    fn rejected_goes_back_to_draft_on_edit() {
        let s = transition(S::Submitted, Action::Reject, Actor::Admin).unwrap();
        assert_eq!(s, S::Rejected);
        assert_eq!(transition(s, Action::Edit, Actor::Owner).unwrap(), S::Draft);
    }

    #[test]
    fn owner_cannot_cancel_after_approval_but_admin_can() {
        assert!(matches!(
            transition(S::Approved, Action::Cancel, Actor::Owner),
            Err(TransitionError::IllegalState { .. })
        ));
        assert_eq!(
            transition(S::Live, Action::Cancel, Actor::Admin).unwrap(),
            S::Cancelled
        );
        assert!(transition(S::Closing, Action::Cancel, Actor::Admin).is_err());
    }

    #[test]
    fn owners_cannot_approve_and_reviewers_cannot_cancel() {
        assert_eq!(
            transition(S::Submitted, Action::Approve, Actor::Owner),
            Err(TransitionError::NotAllowed)
        );
        assert_eq!(
            transition(S::Submitted, Action::Cancel, Actor::Reviewer),
            Err(TransitionError::NotAllowed)
        );
    }

    fn any_status() -> impl Strategy<Value = CampaignStatus> {
        proptest::sample::select(ALL_STATUSES.to_vec())
    }
    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(vec![
            Action::Edit,
            Action::Submit,
            Action::Approve,
            Action::Reject,
            Action::Admit,
            Action::Cancel,
            Action::GoLive,
            Action::Close,
            Action::Succeed,
            Action::Fail,
        ])
    }
    fn any_actor() -> impl Strategy<Value = Actor> {
        proptest::sample::select(vec![
            Actor::Owner,
            Actor::Admin,
            Actor::Reviewer,
            Actor::System,
        ])
    }

    proptest! {
        #[test]
        fn terminal_states_never_move(from in any_status(), action in any_action(), actor in any_actor()) {
            if from.is_terminal() {
                prop_assert!(transition(from, action, actor).is_err());
            }
        }

        #[test]
        fn only_editable_states_accept_edits(from in any_status()) {
            prop_assert_eq!(transition(from, Action::Edit, Actor::Owner).is_ok(), from.is_editable());
        }

        #[test]
        fn random_walks_only_visit_reachable_states(steps in proptest::collection::vec((any_action(), any_actor()), 0..40)) {
            let mut s = S::Draft;
            let mut was_public = false;
            for (action, actor) in steps {
                if let Ok(next) = transition(s, action, actor) {
                    // Once public, a campaign never becomes private again (except cancelled).
                    if was_public && next != S::Cancelled {
                        prop_assert!(next.is_public());
                    }
                    was_public |= next.is_public();
                    s = next;
                }
            }
            prop_assert!(ALL_STATUSES.contains(&s));
        }
    }
}

super::stored::display_as_str!(CampaignStatus);
