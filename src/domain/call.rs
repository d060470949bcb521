//! Calls for proposals (*avviso pubblico*): application windows, criteria with maximum points,
//! the cost plan an application carries, and the ranking (*graduatoria*). Pure: the ranking is
//! a complete plan computed from the scores, the standings and the room in the budget.

use super::stored::stored_enum;
use chrono::NaiveDateTime;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many windows, criteria and cost-plan lines: a call is read whole everywhere.
pub const MAX_WINDOWS: usize = 12;
pub const MAX_CRITERIA: usize = 20;
pub const MAX_COST_LINES: usize = 50;
pub const MAX_POINTS: u32 = 1000;
/// How long after publication an applicant may appeal.
pub const APPEAL_DAYS: i64 = 30;

/// One application window: applications are accepted in `[opens_at, closes_at)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
}

/// One published criterion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub code: String,
    pub label: String,
    pub max_points: u32,
}

/// A fund's call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub windows: Vec<Window>,
    pub criteria: Vec<Criterion>,
    pub pass_mark: Decimal,
    pub evaluators_per_application: u32,
}

impl Call {
    /// The window (numbered from 1) open at `t`.
    pub fn window_at(&self, t: NaiveDateTime) -> Option<u32> {
        self.windows
            .iter()
            .position(|w| w.opens_at <= t && t < w.closes_at)
            .map(|i| i as u32 + 1)
    }

    /// The highest total an evaluator can give.
    pub fn max_total(&self) -> u32 {
        self.criteria.iter().map(|c| c.max_points).sum()
    }

    pub fn criterion(&self, code: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.code == code)
    }

    /// What may change once applications exist: the criteria and the pass mark they were
    /// submitted under stay; windows may move (extended, closed early, added), as long as every
    /// application still falls inside the window it was submitted in (`submitted`: each
    /// application's window number and submission time).
    pub fn keeps_what_applicants_relied_on(
        &self,
        next: &Call,
        submitted: &[(u32, NaiveDateTime)],
    ) -> bool {
        next.criteria == self.criteria
            && next.pass_mark == self.pass_mark
            && submitted
                .iter()
                .all(|(window, at)| next.window_at(*at) == Some(*window))
    }
}

/// Why a call as asked for is not one: (field, message).
pub fn check_call(call: &Call) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if call.windows.is_empty() || call.windows.len() > MAX_WINDOWS {
        errors.push(("windows".into(), format!("1–{MAX_WINDOWS} windows")));
    }
    for (i, w) in call.windows.iter().enumerate() {
        if w.closes_at <= w.opens_at {
            errors.push((
                format!("windows[{i}].closes_at"),
                "must be after opens_at".into(),
            ));
        }
        if i > 0 && w.opens_at < call.windows[i - 1].closes_at {
            errors.push((
                format!("windows[{i}].opens_at"),
                "windows must be in order and must not overlap".into(),
            ));
        }
    }
    if call.criteria.is_empty() || call.criteria.len() > MAX_CRITERIA {
        errors.push(("criteria".into(), format!("1–{MAX_CRITERIA} criteria")));
    }
    for (i, c) in call.criteria.iter().enumerate() {
        let code_ok = !c.code.is_empty()
            && c.code.len() <= 32
            && c.code
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
        if !code_ok {
            errors.push((
                format!("criteria[{i}].code"),
                "1–32 letters, digits, `_` or `-`".into(),
            ));
        }
        if call.criteria[..i].iter().any(|o| o.code == c.code) {
            errors.push((format!("criteria[{i}].code"), "appears twice".into()));
        }
        if c.label.trim().is_empty() || c.label.chars().count() > 500 {
            errors.push((format!("criteria[{i}].label"), "1–500 characters".into()));
        }
        if c.max_points == 0 || c.max_points > MAX_POINTS {
            errors.push((
                format!("criteria[{i}].max_points"),
                format!("a whole number from 1 to {MAX_POINTS}"),
            ));
        }
    }
    if call.pass_mark < Decimal::ZERO || call.pass_mark > Decimal::from(call.max_total()) {
        errors.push((
            "pass_mark".into(),
            "from 0 to the sum of the criteria's max_points".into(),
        ));
    }
    if !(1..=10).contains(&call.evaluators_per_application) {
        errors.push(("evaluators_per_application".into(), "1–10".into()));
    }
    errors
}

/// Points as given: a number from 0 with at most two decimals.
pub fn parse_points(text: &str) -> Option<Decimal> {
    let d: Decimal = text.parse().ok()?;
    (d >= Decimal::ZERO && d.scale() <= 2 && d == d.round_dp(2)).then(|| d.normalize())
}

stored_enum! {
    /// What kind of cost a cost-plan line is.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum CostCategory: "cost category" {
        Personnel = "personnel",
        Goods = "goods",
        Services = "services",
        Works = "works",
        Other = "other",
    }
}

/// One line of a project's cost plan (amount in minor units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLine {
    pub category: CostCategory,
    pub description: String,
    pub amount: i64,
}

/// The lines must add up to the goal exactly.
pub fn cost_plan_adds_up(lines: &[CostLine], goal: i64) -> bool {
    !lines.is_empty()
        && lines.iter().all(|l| l.amount > 0)
        && lines
            .iter()
            .try_fold(0i64, |sum, l| sum.checked_add(l.amount))
            == Some(goal)
}

stored_enum! {
    /// Where an application stands in a published ranking.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Outcome: "ranking outcome" {
        /// At or above the pass mark, and its possible top-up fits the budget.
        Admitted = "admitted",
        /// At or above the pass mark, left out by the budget: next in line for *scorrimento*.
        EligibleNotFunded = "eligible_not_funded",
        BelowPassMark = "below_pass_mark",
    }
}

stored_enum! {
    /// An appeal's state.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum AppealStatus: "appeal status" {
        Pending = "pending",
        Upheld = "upheld",
        Dismissed = "dismissed",
    }
}

/// How an application enters a (re)computation of the ranking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// To be given an outcome now.
    Open,
    /// Admitted by an earlier version and still holding its place: an admission is never
    /// withdrawn by a later version; it takes `consumes` of the room first.
    Held { consumes: i64 },
    /// Out of the running (withdrawn, cancelled, failed): keeps the outcome it had and takes
    /// nothing.
    Out { outcome: Outcome },
}

/// One application as the ranking sees it.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub id: String,
    pub submitted_at: NaiveDateTime,
    /// Each counting evaluator's points, by criterion code.
    pub sheets: Vec<BTreeMap<String, Decimal>>,
    /// The most the fund could pay it: `min(goal × match_ratio, max_match_per_campaign)`.
    pub top_up: i64,
    pub standing: Standing,
}

/// One line of the ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked {
    pub id: String,
    /// The mean of the evaluators' totals, half-up to 2 decimals.
    pub score: Decimal,
    /// Each criterion's mean, half-up to 2 decimals.
    pub criteria: BTreeMap<String, Decimal>,
    pub rank: u32,
    pub outcome: Outcome,
}

/// A score as published: always two decimals ("67.50").
pub fn fixed2(d: Decimal) -> String {
    format!("{:.2}", half_up_2(d))
}

fn half_up_2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn mean(values: impl Iterator<Item = Decimal>) -> Decimal {
    let (sum, n) = values.fold((Decimal::ZERO, 0u32), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        Decimal::ZERO
    } else {
        half_up_2(sum / Decimal::from(n))
    }
}

/// An application's score: the mean of the evaluators' totals, half-up to 2 decimals.
pub fn score_of(sheets: &[BTreeMap<String, Decimal>]) -> Decimal {
    mean(sheets.iter().map(|s| s.values().copied().sum()))
}

/// The ranking: by score (highest first), ties to the earlier submission (then the id, so the
/// order is total). Held applications take their room first; then, in rank order, open
/// applications at or above the pass mark are admitted while their possible top-ups fit
/// `room`; from the first that does not fit, the rest at or above it are eligible but not
/// funded (a ranking is followed in order, never skipped).
pub fn rank(candidates: &[Candidate], pass_mark: Decimal, room: i64) -> Vec<Ranked> {
    let mut scored: Vec<(&Candidate, Decimal)> = candidates
        .iter()
        .map(|c| (c, score_of(&c.sheets)))
        .collect();
    scored.sort_by(|(a, sa), (b, sb)| {
        sb.cmp(sa)
            .then(a.submitted_at.cmp(&b.submitted_at))
            .then(a.id.cmp(&b.id))
    });
    let mut room = room;
    for (c, _) in &scored {
        if let Standing::Held { consumes } = c.standing {
            room -= consumes;
        }
    }
    let mut admitting = true;
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (c, score))| {
            let outcome = match c.standing {
                Standing::Held { .. } => Outcome::Admitted,
                Standing::Out { outcome } => outcome,
                Standing::Open if score < pass_mark => Outcome::BelowPassMark,
                Standing::Open if admitting && c.top_up <= room => {
                    room -= c.top_up;
                    Outcome::Admitted
                }
                Standing::Open => {
                    admitting = false;
                    Outcome::EligibleNotFunded
                }
            };
            let codes: std::collections::BTreeSet<&String> =
                c.sheets.iter().flat_map(|s| s.keys()).collect();
            let criteria = codes
                .into_iter()
                .map(|code| {
                    (
                        code.clone(),
                        mean(c.sheets.iter().filter_map(|s| s.get(code).copied())),
                    )
                })
                .collect();
            Ranked {
                id: c.id.clone(),
                score,
                criteria,
                rank: i as u32 + 1,
                outcome,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn t(minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, minute, 0)
            .unwrap()
    }

    fn sheet(points: &[(&str, i64)]) -> BTreeMap<String, Decimal> {
        points
            .iter()
            .map(|(c, p)| (c.to_string(), Decimal::from(*p)))
            .collect()
    }

    fn open(
        id: &str,
        minute: u32,
        sheets: Vec<BTreeMap<String, Decimal>>,
        top_up: i64,
    ) -> Candidate {
        Candidate {
            id: id.into(),
            submitted_at: t(minute),
            sheets,
            top_up,
            standing: Standing::Open,
        }
    }

    #[test]
    fn a_ranking_computed_by_hand() {
        // Pass mark 60; budget 50 000.00 €; top-ups 20 000.00 € each.
        let a = open(
            "a",
            3,
            vec![
                sheet(&[("q", 40), ("i", 30)]),
                sheet(&[("q", 35), ("i", 30)]),
            ],
            2_000_000,
        );
        let b = open(
            "b",
            1,
            vec![
                sheet(&[("q", 30), ("i", 35)]),
                sheet(&[("q", 36), ("i", 34)]),
            ],
            2_000_000,
        );
        // Ties with b (67.50) and was submitted later.
        let c = open(
            "c",
            2,
            vec![
                sheet(&[("q", 33), ("i", 34)]),
                sheet(&[("q", 34), ("i", 34)]),
            ],
            2_000_000,
        );
        let d = open(
            "d",
            0,
            vec![
                sheet(&[("q", 30), ("i", 29)]),
                sheet(&[("q", 30), ("i", 30)]),
            ],
            2_000_000,
        );
        let r = rank(&[a, b, c, d], Decimal::from(60), 5_000_000);
        let got: Vec<_> = r
            .iter()
            .map(|x| (x.id.as_str(), fixed2(x.score), x.rank, x.outcome))
            .collect();
        let want: Vec<(&str, String, u32, Outcome)> = vec![
            ("b", "67.50".into(), 1, Outcome::Admitted),
            ("c", "67.50".into(), 2, Outcome::Admitted),
            ("a", "67.50".into(), 3, Outcome::EligibleNotFunded),
            ("d", "59.50".into(), 4, Outcome::BelowPassMark),
        ];
        assert_eq!(got, want);
        assert_eq!(fixed2(r[0].criteria["q"]), "33.00");
    }

    #[test]
    fn ties_go_to_the_earlier_submission() {
        let x = open("x", 5, vec![sheet(&[("q", 10)])], 1);
        let y = open("y", 4, vec![sheet(&[("q", 10)])], 1);
        let r = rank(&[x, y], Decimal::ZERO, 10);
        assert_eq!(r[0].id, "y");
        assert_eq!(r[1].id, "x");
    }

    #[test]
    fn scores_are_rounded_half_up_to_two_decimals() {
        // (10 + 10 + 11) / 3 = 10.333… → 10.33; (1 + 2) / 2 … 0.005 cases:
        assert_eq!(
            fixed2(score_of(&[
                sheet(&[("q", 10)]),
                sheet(&[("q", 10)]),
                sheet(&[("q", 11)])
            ])),
            "10.33"
        );
        let halves = [
            [("q", Decimal::new(1001, 2))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            [("q", Decimal::new(1000, 2))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ];
        // (10.01 + 10.00) / 2 = 10.005 → 10.01 (half-up, not to even)
        assert_eq!(fixed2(score_of(&halves)), "10.01");
    }

    #[test]
    fn an_admission_is_never_withdrawn_and_scrolling_follows_the_order() {
        let held = Candidate {
            standing: Standing::Held { consumes: 3 },
            ..open("held", 0, vec![sheet(&[("q", 1)])], 3)
        };
        let gone = Candidate {
            standing: Standing::Out {
                outcome: Outcome::Admitted,
            },
            ..open("gone", 0, vec![sheet(&[("q", 9)])], 3)
        };
        let next = open("next", 1, vec![sheet(&[("q", 8)])], 3);
        let last = open("last", 2, vec![sheet(&[("q", 7)])], 3);
        let r = rank(&[held, gone, next, last], Decimal::ONE, 6);
        let outcome = |id: &str| r.iter().find(|x| x.id == id).unwrap().outcome;
        assert_eq!(outcome("held"), Outcome::Admitted);
        assert_eq!(outcome("gone"), Outcome::Admitted);
        assert_eq!(outcome("next"), Outcome::Admitted);
        assert_eq!(outcome("last"), Outcome::EligibleNotFunded);
    }

    #[test]
    fn a_call_that_is_not_one_says_why() {
        let w = Window {
            opens_at: t(10),
            closes_at: t(5),
        };
        let call = Call {
            windows: vec![w],
            criteria: vec![
                Criterion {
                    code: "q".into(),
                    label: "Quality".into(),
                    max_points: 0,
                },
                Criterion {
                    code: "q".into(),
                    label: " ".into(),
                    max_points: 10,
                },
            ],
            pass_mark: Decimal::from(50),
            evaluators_per_application: 0,
        };
        let fields: Vec<String> = check_call(&call).into_iter().map(|(f, _)| f).collect();
        for f in [
            "windows[0].closes_at",
            "criteria[0].max_points",
            "criteria[1].code",
            "criteria[1].label",
            "pass_mark",
            "evaluators_per_application",
        ] {
            assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
        }
    }

    #[test]
    fn windows_may_move_while_every_application_stays_in_its_own() {
        let w = |a, b| Window {
            opens_at: t(a),
            closes_at: t(b),
        };
        let criteria = vec![Criterion {
            code: "q".into(),
            label: "Q".into(),
            max_points: 10,
        }];
        let call = |windows| Call {
            windows,
            criteria: criteria.clone(),
            pass_mark: Decimal::from(5),
            evaluators_per_application: 2,
        };
        let before = call(vec![w(0, 30)]);
        let submitted = [(1, t(10))];
        // Closed early and a second window opened: fine.
        assert!(
            before.keeps_what_applicants_relied_on(&call(vec![w(0, 20), w(20, 40)]), &submitted)
        );
        // Closed before an application came in, or renumbered: refused.
        assert!(
            !before.keeps_what_applicants_relied_on(&call(vec![w(0, 5), w(5, 40)]), &submitted)
        );
        assert!(
            !before.keeps_what_applicants_relied_on(&call(vec![w(0, 1), w(2, 40)]), &submitted)
        );
        // The pass mark stays.
        let mut higher = call(vec![w(0, 30)]);
        higher.pass_mark = Decimal::from(6);
        assert!(!before.keeps_what_applicants_relied_on(&higher, &submitted));
    }

    #[test]
    fn points_and_cost_plans() {
        assert_eq!(parse_points("7.5"), Some(Decimal::new(75, 1)));
        assert_eq!(parse_points("-1"), None);
        assert_eq!(parse_points("1.234"), None);
        let line = |amount| CostLine {
            category: CostCategory::Goods,
            description: "x".into(),
            amount,
        };
        assert!(cost_plan_adds_up(&[line(100), line(50)], 150));
        assert!(!cost_plan_adds_up(&[line(100), line(49)], 150));
        assert!(!cost_plan_adds_up(&[line(200), line(-50)], 150));
        assert!(!cost_plan_adds_up(&[], 0));
    }

    fn any_candidates() -> impl Strategy<Value = Vec<Candidate>> {
        proptest::collection::vec(
            (
                proptest::collection::vec(proptest::collection::vec(0i64..=50, 2), 1..4),
                0u32..50,
                1i64..1_000,
                0u8..6,
            ),
            0..12,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (sheets, minute, top_up, standing))| Candidate {
                    id: format!("c{i:02}"),
                    submitted_at: t(minute),
                    sheets: sheets
                        .into_iter()
                        .map(|p| sheet(&[("a", p[0]), ("b", p[1])]))
                        .collect(),
                    top_up,
                    standing: match standing {
                        0 => Standing::Held { consumes: top_up },
                        1 => Standing::Out {
                            outcome: Outcome::EligibleNotFunded,
                        },
                        _ => Standing::Open,
                    },
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_ranking_is_a_complete_ordered_plan(cs in any_candidates(), pass in 0i64..=100, room in 0i64..5_000) {
            let pass = Decimal::from(pass);
            let r = rank(&cs, pass, room);
            prop_assert_eq!(r.len(), cs.len());
            for (i, line) in r.iter().enumerate() {
                prop_assert_eq!(line.rank as usize, i + 1);
                prop_assert!(line.score >= Decimal::ZERO && line.score <= Decimal::from(100));
                if i > 0 {
                    let prev = &r[i - 1];
                    prop_assert!(prev.score >= line.score);
                }
            }
            let by_id = |id: &str| cs.iter().find(|c| c.id == id).unwrap();
            // What is admitted fits the room.
            let admitted_open: i64 = r.iter()
                .filter(|x| x.outcome == Outcome::Admitted && by_id(&x.id).standing == Standing::Open)
                .map(|x| by_id(&x.id).top_up).sum();
            let held: i64 = cs.iter().map(|c| match c.standing { Standing::Held { consumes } => consumes, _ => 0 }).sum();
            if admitted_open > 0 {
                prop_assert!(held + admitted_open <= room);
            }
            // Open applications: below the pass mark exactly when the score is; never one
            // admitted after one left out by the budget.
            let mut left_out = false;
            for x in &r {
                let c = by_id(&x.id);
                if c.standing != Standing::Open { continue; }
                prop_assert_eq!(x.outcome == Outcome::BelowPassMark, x.score < pass);
                match x.outcome {
                    Outcome::EligibleNotFunded => left_out = true,
                    Outcome::Admitted => prop_assert!(!left_out),
                    Outcome::BelowPassMark => {}
                }
                if let Standing::Held { .. } = c.standing { prop_assert_eq!(x.outcome, Outcome::Admitted); }
            }
        }

        #[test]
        fn more_room_never_admits_fewer(cs in any_candidates(), pass in 0i64..=100, room in 0i64..5_000, more in 0i64..5_000) {
            let pass = Decimal::from(pass);
            let before = rank(&cs, pass, room);
            let after = rank(&cs, pass, room + more);
            for (b, a) in before.iter().zip(after.iter()) {
                prop_assert_eq!(&b.id, &a.id);
                if b.outcome == Outcome::Admitted {
                    prop_assert_eq!(a.outcome, Outcome::Admitted);
                }
            }
        }
    }
}
