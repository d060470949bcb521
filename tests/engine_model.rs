//! Property test of the matching engine against a model: random sequences of confirmations,
//! refunds, disputes, budget changes, closings, cancellations, expiries, flagged payments and
//! refund reports across several campaigns, delivered as provider events through the real
//! database code on a fresh SQLite file per case, and when `COFUND_TEST_DATABASE_URL` is set on
//! a fresh PostgreSQL database twice: through its one-statement confirmation path and through
//! the transactional path. After every step the ledger balances, `raised` equals the model's
//! confirmed money, the budget is never overspent, money for a failed or cancelled campaign is
//! on its way back, and reconciliation reports exactly the flagged payments and the refunds
//! the provider failed.

use cofund::app::grants::GrantError;
use cofund::app::matching as engine;
use cofund::app::payment_events as payments;
use cofund::db::models::{AreaRow, AssociationRow, CampaignRow, FundRow, PledgeRow};
use cofund::db::schema::{areas, associations, campaigns, funds, pledges};
use cofund::db::{Db, DbConnection, reconcile, write_tx};
use cofund::domain::campaign::{Action, CampaignStatus};
use cofund::domain::fund::{FunderKind, FundingSplit, MatchPolicy};
use cofund::domain::ids::{CampaignId, FundId};
use cofund::domain::matching::MatchState;
use cofund::domain::money::{Currency, Ratio};
use cofund::domain::pledge::{Dispute, PaymentEvent, PledgeFacts, PledgeStatus};
use cofund::domain::role::Role;
use cofund::providers::events::ProviderEvent;
use diesel::prelude::*;
use proptest::prelude::*;

const CAMPAIGNS: usize = 3;

fn staff(sub: &str, role: Role) -> cofund::auth::Principal {
    cofund::auth::Principal {
        sub: sub.into(),
        role,
        association_id: None,
        partner_id: None,
    }
}

/// The city's programme staff, as the model's cancellations are made by.
fn admin() -> cofund::auth::Principal {
    cofund::auth::Principal {
        sub: "usr_model_admin".into(),
        role: cofund::domain::role::Role::Admin,
        association_id: None,
        partner_id: None,
    }
}
const PLEDGES_PER_CAMPAIGN: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Pay(usize),
    Refund(usize, i64),
    DisputeOpen(usize),
    DisputeLost(usize),
    /// One funder's budget moves by this much.
    Budget(usize, i64),
    /// Time passes beyond every hold's expiry and the expiry job runs (`per_donation`).
    LapseHolds,
    Close(usize),
    Cancel(usize),
    Expire(usize),
    /// A success for another amount than the pledge's.
    Flag(usize),
    /// The provider reports the pledge's refund (if it has one) succeeded, or failed.
    RefundReport(usize, bool),
    /// Finance drafts a batch for every funder (one user) and confirms it (another).
    Settle,
    /// An admin revokes a campaign's grant.
    Revoke(usize),
    /// Finance decides a grant under review: confirm, reduce to half, or revoke.
    Review(usize, u8),
    /// Finance records that the association paid back what it owes.
    Recover(usize),
    /// The payout job's transfers: payable crowd money becomes a payout, which the provider
    /// makes (true) or refuses (false: payable again).
    PayOut(bool),
    /// The payout job's reversals: taken back at the provider (true), or owed (false).
    Reverse(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..CAMPAIGNS * PLEDGES_PER_CAMPAIGN;
    prop_oneof![
        4 => p.clone().prop_map(Op::Pay),
        2 => (p.clone(), 0i64..4000).prop_map(|(i, a)| Op::Refund(i, a)),
        1 => p.clone().prop_map(Op::DisputeOpen),
        1 => p.clone().prop_map(Op::DisputeLost),
        1 => (0usize..3, -4000i64..6000).prop_map(|(f, d)| Op::Budget(f, d)),
        1 => Just(Op::LapseHolds),
        1 => (0..CAMPAIGNS).prop_map(Op::Close),
        1 => (0..CAMPAIGNS).prop_map(Op::Cancel),
        1 => p.clone().prop_map(Op::Expire),
        1 => p.clone().prop_map(Op::Flag),
        1 => (p, any::<bool>()).prop_map(|(i, ok)| Op::RefundReport(i, ok)),
        2 => Just(Op::Settle),
        1 => (0..CAMPAIGNS).prop_map(Op::Revoke),
        1 => (0..CAMPAIGNS, 0u8..3).prop_map(|(k, o)| Op::Review(k, o)),
        1 => (0..CAMPAIGNS).prop_map(Op::Recover),
        2 => any::<bool>().prop_map(Op::PayOut),
        1 => any::<bool>().prop_map(Op::Reverse),
    ]
}

struct World {
    _dir: tempfile::TempDir,
    /// The PostgreSQL database to drop afterwards: (admin URL, name).
    pg: Option<(String, String)>,
    db: Db,
    fund: FundRow,
    campaigns: Vec<String>,
    pledges: Vec<(String, i64)>,
}

fn ts() -> chrono::NaiveDateTime {
    cofund::http::views::now()
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg
            && let Ok(mut conn) = diesel::PgConnection::establish(admin)
        {
            let _ = diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// `postgres://user@host:port/db?params` with another database name.
fn pg_url_with_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = base[scheme_end..]
        .find('/')
        .map_or(base, |i| &base[..scheme_end + i]);
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

/// How the fund of a case is paid and matched.
#[derive(Clone, Debug)]
struct Funding {
    /// Each funder's budget (1–3 funders).
    budgets: Vec<i64>,
    split: FundingSplit,
    policy: MatchPolicy,
    /// Grants paid in tranches (a 40 % advance) rather than on commitment.
    tranches: bool,
}

/// Shares that add up to 1 for `n` funders.
fn shares(n: usize) -> &'static [&'static str] {
    match n {
        1 => &["1"],
        2 => &["0.6", "0.4"],
        _ => &["0.5", "0.3", "0.2"],
    }
}

/// `None`: SQLite; `Some(admin URL)`: a fresh PostgreSQL database.
fn world(
    pg_admin: Option<&str>,
    funding: &Funding,
    goals: &[i64],
    amounts: &[i64],
    partial: bool,
) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = match pg_admin {
        None => (
            format!("sqlite://{}", dir.path().join("m.db").display()),
            None,
        ),
        Some(admin) => {
            let name = format!("cofund_model_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(admin).expect("connect to PostgreSQL");
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &format!("CREATE DATABASE {name}"),
            )
            .expect("create the model's database");
            (
                pg_url_with_db(admin, &name),
                Some((admin.to_string(), name)),
            )
        }
    };
    let db = Db::connect(&url, 2)
        .unwrap()
        .with_clock(cofund::clock::Clock::adjustable());
    let _clock = db.clock().enter();
    db.migrate().unwrap();
    let mut conn = db.get().unwrap();
    let c: &mut DbConnection = &mut conn;
    let t = ts();
    diesel::insert_into(associations::table)
        .values(AssociationRow {
            id: "asso_1".into(),
            name: "A".into(),
            tax_code: "12345678903".into(),
            iban: "IT60X0542811101000000123456".into(),
            bic: None,
            email: "a@example.org".into(),
            created_at: t,
            runts_id: None,
        })
        .execute(c)
        .unwrap();
    // The association can receive transfers: the payout job pays it.
    cofund::db::crowd::insert_account(
        c,
        &cofund::db::crowd::PayoutAccountRow {
            association_id: "asso_1".into(),
            provider: "simulated".into(),
            account_id: "acct_model".into(),
            status: cofund::domain::crowd::PayoutAccountStatus::Active,
            status_at: 0,
            created_at: t,
            updated_at: t,
        },
    )
    .unwrap();
    diesel::insert_into(areas::table)
        .values(AreaRow {
            id: "area_1".into(),
            code: "A".into(),
            name: "A".into(),
            geometry: "{}".into(),
            created_at: t,
        })
        .execute(c)
        .unwrap();
    diesel::insert_into(cofund::db::schema::partners::table)
        .values(cofund::db::models::PartnerRow {
            id: "ptn_1".into(),
            name: "P".into(),
            client_id: "ci".into(),
            client_secret_hash: "x".into(),
            webhook_url: None,
            webhook_secret: "w".into(),
            created_at: t,
        })
        .execute(c)
        .unwrap();
    // A fresh id per case: the engine keeps each fund's (immutable) parameters per process.
    let fund_id = format!("fund_{}", uuid::Uuid::new_v4().simple());
    let fund = FundRow {
        id: fund_id.clone(),
        name: "F".into(),
        currency: Currency::EUR,
        budget: 0,
        threshold_ratio: Ratio::parse("0.5").unwrap(),
        match_ratio: Ratio::parse(match funding.policy {
            MatchPolicy::PerDonation => "1",
            _ => "0.5",
        })
        .unwrap(),
        max_match_per_campaign: Some(3000),
        min_goal: None,
        max_goal: None,
        min_donors: 1,
        opens_at: t - chrono::Duration::days(1),
        closes_at: t + chrono::Duration::days(100),
        allocation: cofund::domain::fund::Allocation::OnThreshold,
        exhaustion_policy: if partial {
            cofund::domain::fund::ExhaustionPolicy::Partial
        } else {
            cofund::domain::fund::ExhaustionPolicy::Waitlist
        },
        cup: None,
        reserved: 0,
        committed: 0,
        settled: 0,
        created_at: t,
        held: 0,
        funding_split: funding.split,
        match_policy: funding.policy,
        max_match_per_donation: Some(1500),
        match_hold_secs: 1800,
        min_contribution: 0,
        distributed_at: None,
        quadratic_identity: Default::default(),
        payment_plan: if funding.tranches {
            cofund::domain::grant::PaymentPlan::Tranches
        } else {
            cofund::domain::grant::PaymentPlan::OnCommitment
        },
        advance_ratio: funding.tranches.then(|| "0.4".to_string()),
        reporting_days: 365,
        recoverable: 0,
        // Published at once: public funders' awards are payable.
        legal_basis: Some("Delibera 1/2026".into()),
        office: Some("Ragioneria".into()),
        responsible_official: Some("R. Rossi".into()),
        selection_method: Some("Avviso pubblico".into()),
        siope_code: None,
    };
    diesel::insert_into(funds::table)
        .values(fund.clone())
        .execute(c)
        .unwrap();
    for (i, budget) in funding.budgets.iter().enumerate() {
        cofund::app::funds::insert_funder(
            c,
            &fund,
            cofund::app::funds::NewFunder {
                name: format!("Funder {i}"),
                kind: if i == 0 {
                    FunderKind::Public
                } else {
                    FunderKind::Private
                },
                tax_code: None,
                iban: None,
                bic: None,
                budget: *budget,
                priority: Some(i as i32 + 1),
                share: (funding.split == FundingSplit::Proportional)
                    .then(|| Ratio::parse(shares(funding.budgets.len())[i]).unwrap()),
            },
            "initial",
        )
        .unwrap();
    }
    let mut campaign_ids = Vec::new();
    let mut pledge_ids = Vec::new();
    for (k, goal) in goals.iter().enumerate() {
        let id = format!("cmp_{k}");
        diesel::insert_into(campaigns::table)
            .values(CampaignRow {
                id: id.clone(),
                association_id: "asso_1".into(),
                fund_id: fund_id.clone(),
                area_id: "area_1".into(),
                title: "C".into(),
                summary: "S".into(),
                goal: *goal,
                currency: Currency::EUR,
                location_lat: 0.0,
                location_lon: 0.0,
                starts_at: t,
                ends_at: t + chrono::Duration::days(10),
                status: CampaignStatus::Live,
                rejection_reason: None,
                raised: 0,
                donors: 0,
                match_status: MatchState::None,
                match_amount: 0,
                created_at: t,
                updated_at: t,
                waitlisted_at: None,
                decided_at: None,
                settlement_id: None,
                cost_plan: None,
            })
            .execute(c)
            .unwrap();
        for j in 0..PLEDGES_PER_CAMPAIGN {
            let amount = amounts[k * PLEDGES_PER_CAMPAIGN + j];
            let pid = format!("plg_{k}_{j}");
            diesel::insert_into(pledges::table)
                .values(PledgeRow {
                    id: pid.clone(),
                    campaign_id: id.clone(),
                    partner_id: "ptn_1".into(),
                    amount,
                    currency: Currency::EUR,
                    status: PledgeStatus::Pending,
                    paid: false,
                    failed: false,
                    canceled: false,
                    expired: false,
                    refunded_amount: 0,
                    dispute: Dispute::None,
                    counted_amount: 0,
                    donor_key: format!("donor{}", j % 3),
                    message: None,
                    provider: cofund::config::ProviderKind::Simulated,
                    provider_payment_id: Some(format!("pi_{k}_{j}")),
                    client_secret: None,
                    provider_idempotency_key: pid.clone(),
                    idempotency_key: pid.clone(),
                    request_hash: "h".into(),
                    creation_response: None,
                    flagged_reason: None,
                    created_at: t,
                    updated_at: t,
                    confirmed_at: None,
                    flagged_amount: None,
                    flagged_currency: None,
                    processing: false,
                })
                .execute(c)
                .unwrap();
            payments::list_pending(c, &pid, t).unwrap();
            // What pledge creation does: a per-donation fund holds the match now.
            let campaign = engine::load_campaign(c, &id).unwrap();
            let pledge: PledgeRow = pledges::table
                .find(&pid)
                .select(PledgeRow::as_select())
                .first(c)
                .unwrap();
            write_tx(c, |c| {
                cofund::app::per_donation::hold_for_new_pledge(c, &campaign, &pledge, HOLD_CAPS)
            })
            .unwrap();
            pledge_ids.push((pid, amount));
        }
        campaign_ids.push(id);
    }
    drop(conn);
    World {
        _dir: dir,
        pg,
        db,
        fund,
        campaigns: campaign_ids,
        pledges: pledge_ids,
    }
}

/// The hoarding caps as pledge creation applies them: one live hold per donor and campaign;
/// the model's one partner may hold the whole budget (the partner cap is tested over HTTP).
const HOLD_CAPS: cofund::domain::per_donation::HoldCaps = cofund::domain::per_donation::HoldCaps {
    partner_share: Some(cofund::domain::money::Ratio::ONE),
    one_per_donor: true,
};

static EVENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Applies a provider event through the path under test.
fn deliver(conn: &mut DbConnection, ev: &ProviderEvent, transactional: bool) -> payments::Applied {
    match transactional {
        true => payments::apply_event_transactional(conn, ev, "{}").unwrap(),
        false => payments::apply_event(conn, ev, "{}").unwrap(),
    }
}

/// Delivers `event` for pledge `i` as a provider event, as the webhook endpoint does.
fn pay(w: &World, conn: &mut DbConnection, i: usize, event: PaymentEvent, transactional: bool) {
    let (id, _) = &w.pledges[i];
    let n = EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let flagged =
        matches!(&event, PaymentEvent::Succeeded { amount, .. } if *amount != w.pledges[i].1);
    let ev = ProviderEvent {
        id: format!("evt_model_{n}"),
        kind: "model".into(),
        payment_id: Some(id.replacen("plg_", "pi_", 1)),
        pledge_hint: None,
        event: Some(event),
        refund: None,
        account: None,
    };
    let applied = deliver(conn, &ev, transactional);
    if flagged {
        assert!(
            matches!(applied, payments::Applied::Flagged { .. }),
            "{applied:?}"
        );
        return;
    }
    assert!(
        matches!(applied, payments::Applied::Applied { .. }),
        "{applied:?}"
    );
    if let payments::Applied::Applied {
        freed_fund: Some(f),
        ..
    } = applied
    {
        engine::serve_waitlist(conn, &FundId::from(f)).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_and_raised_matches_the_model(
        budgets in proptest::collection::vec(0i64..6000, 1..=3),
        proportional in any::<bool>(),
        per_donation in proptest::bool::weighted(0.35),
        goals in proptest::collection::vec(prop_oneof![Just(4000i64), Just(6000), Just(8000)], CAMPAIGNS),
        amounts in proptest::collection::vec(500i64..3000, CAMPAIGNS * PLEDGES_PER_CAMPAIGN),
        partial in any::<bool>(),
        tranches in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let funding = Funding {
            budgets,
            split: if proportional { FundingSplit::Proportional } else { FundingSplit::Priority },
            policy: if per_donation { MatchPolicy::PerDonation } else { MatchPolicy::ThresholdTopUp },
            tranches,
        };
        run_case(None, &funding, &goals, &amounts, partial, &ops, true)?;
        if let Ok(admin) = std::env::var("COFUND_TEST_DATABASE_URL") {
            run_case(Some(&admin), &funding, &goals, &amounts, partial, &ops, false)?;
            run_case(Some(&admin), &funding, &goals, &amounts, partial, &ops, true)?;
        }
    }
}

fn run_case(
    pg_admin: Option<&str>,
    funding: &Funding,
    goals: &[i64],
    amounts: &[i64],
    partial: bool,
    ops: &[Op],
    transactional: bool,
) -> Result<(), TestCaseError> {
    {
        let w = world(pg_admin, funding, goals, amounts, partial);
        let _clock = w.db.clock().enter();
        let per_donation = funding.policy == MatchPolicy::PerDonation;
        let mut conn = w.db.get().unwrap();
        let mut model: Vec<PledgeFacts> = w
            .pledges
            .iter()
            .map(|(_, a)| PledgeFacts::new(*a))
            .collect();
        let mut closed = [false; CAMPAIGNS];
        let mut cancelled = [false; CAMPAIGNS];
        let mut flagged = std::collections::BTreeSet::new();
        let mut failed_refunds = std::collections::BTreeSet::new();
        for op in ops {
            let raised_before: Vec<i64> = w
                .campaigns
                .iter()
                .map(|c| engine::load_campaign(&mut conn, c).unwrap().raised)
                .collect();
            let event = match op {
                // A payment that was reported for another amount does not also succeed.
                Op::Pay(i) | Op::Flag(i) if flagged.contains(&w.pledges[*i].0) => None,
                Op::Pay(i) => Some((
                    *i,
                    PaymentEvent::Succeeded {
                        amount: w.pledges[*i].1,
                        currency: "eur".into(),
                    },
                )),
                Op::Flag(i) => {
                    if model[*i].paid {
                        None
                    } else {
                        let wrong = PaymentEvent::Succeeded {
                            amount: w.pledges[*i].1 + 1,
                            currency: "eur".into(),
                        };
                        pay(&w, &mut conn, *i, wrong, transactional);
                        flagged.insert(w.pledges[*i].0.clone());
                        None
                    }
                }
                Op::Expire(i) => {
                    let id = w.pledges[*i].0.clone();
                    write_tx(&mut conn, |c| {
                        payments::apply_to_pledge(c, &id, &PaymentEvent::Expired, None)
                    })
                    .unwrap();
                    model[*i] = model[*i].apply(&PaymentEvent::Expired, "EUR").unwrap();
                    None
                }
                Op::Cancel(k) => {
                    let id = w.campaigns[*k].clone();
                    // An admin's cancellation, the same use case as the API's and the console's.
                    let acted = write_tx(&mut conn, |c| {
                        cofund::app::campaigns::act_in(c, None, &admin(), &id, Action::Cancel, None)
                    });
                    let freed = match acted {
                        Ok(done) => done.freed_fund.is_some(),
                        // Only a live campaign may still be cancelled; a decided or already
                        // cancelled one is refused.
                        Err(cofund::app::campaigns::CampaignError::IllegalState(_)) => {
                            prop_assert!(closed[*k] || cancelled[*k]);
                            false
                        }
                        Err(e) => panic!("cancel: {e}"),
                    };
                    if freed {
                        engine::serve_waitlist(&mut conn, &FundId::from(&w.fund.id)).unwrap();
                    }
                    if !closed[*k] {
                        cancelled[*k] = true;
                    }
                    None
                }
                Op::RefundReport(i, ok) => {
                    let pledge = w.pledges[*i].0.clone();
                    let pending: Option<String> = cofund::db::schema::refunds::table
                        .filter(cofund::db::schema::refunds::pledge_id.eq(&pledge))
                        .filter(cofund::db::schema::refunds::status.eq("pending"))
                        .select(cofund::db::schema::refunds::idempotency_key)
                        .first(&mut *conn)
                        .optional()
                        .unwrap();
                    let n = EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let ev = ProviderEvent {
                        id: format!("evt_model_{n}"),
                        kind: "refund.updated".into(),
                        payment_id: Some(pledge.replacen("plg_", "pi_", 1)),
                        pledge_hint: None,
                        event: None,
                        refund: Some(cofund::providers::events::RefundReport {
                            refund_id: format!("re_{n}"),
                            status: if *ok { "succeeded" } else { "failed" }.into(),
                            key: Some(format!("cofund-refund-{pledge}")),
                        }),
                        account: None,
                    };
                    let applied = deliver(&mut conn, &ev, transactional);
                    prop_assert_eq!(applied, payments::Applied::RefundReported);
                    // Only a pending refund moves; one reported done stays done.
                    if pending.is_some() && !*ok {
                        failed_refunds.insert(pledge);
                    }
                    None
                }
                Op::Refund(i, a) => Some((
                    *i,
                    PaymentEvent::Refunded {
                        amount_refunded: *a,
                    },
                )),
                Op::DisputeOpen(i) => Some((*i, PaymentEvent::DisputeOpened)),
                Op::DisputeLost(i) => Some((*i, PaymentEvent::DisputeClosed { won: false })),
                Op::Budget(f, delta) => {
                    let funders = cofund::db::funders::load_funders(&mut conn, &w.fund.id).unwrap();
                    let funder = &funders[*f % funders.len()];
                    let target = (funder.budget + delta).max(0);
                    let ok = write_tx(&mut conn, |c| {
                        cofund::db::ledger::set_budget(
                            c,
                            &w.fund.id,
                            &funder.id,
                            Currency::EUR,
                            target,
                            "model",
                        )
                    })
                    .unwrap();
                    // Paid money an association owes back still counts against the budget
                    // until it is recovered.
                    prop_assert_eq!(
                        ok,
                        target
                            >= funder.held
                                + funder.reserved
                                + funder.committed
                                + funder.settled
                                + funder.recoverable
                    );
                    engine::serve_waitlist(&mut conn, &FundId::from(&w.fund.id)).unwrap();
                    None
                }
                Op::LapseHolds => {
                    w.db.clock().advance(chrono::Duration::seconds(1801));
                    cofund::app::per_donation::expire_holds(&mut conn, 1000).unwrap();
                    None
                }
                Op::Settle => {
                    let funders = cofund::db::funders::load_funders(&mut conn, &w.fund.id).unwrap();
                    for f in &funders {
                        let drafted = write_tx(&mut conn, |c| {
                            cofund::app::settlements::create(
                                c,
                                &staff("usr_model_fin_a", Role::Finance),
                                cofund::app::settlements::NewBatch {
                                    fund_id: w.fund.id.clone(),
                                    funder_id: Some(f.id.clone()),
                                    commitment_ids: None,
                                },
                            )
                        });
                        let Ok(batch) = drafted else { continue };
                        let batch = cofund::domain::ids::SettlementId::from(batch);
                        // Confirmed by another user; a grant put under review since is refused
                        // and the batch cancelled instead.
                        let confirmed = write_tx(&mut conn, |c| {
                            cofund::app::settlements::confirm(
                                c,
                                &staff("usr_model_fin_b", Role::Finance),
                                &batch,
                                "BANK",
                                ts(),
                            )
                        });
                        if confirmed.is_err() {
                            write_tx(&mut conn, |c| {
                                cofund::app::settlements::cancel(
                                    c,
                                    &staff("usr_model_fin_b", Role::Finance),
                                    &batch,
                                )
                            })
                            .unwrap();
                        }
                    }
                    None
                }
                Op::Revoke(k) => {
                    let id = cofund::domain::grant::grant_id_of(&w.campaigns[*k]);
                    let r = write_tx(&mut conn, |c| {
                        cofund::app::grants::revoke(
                            c,
                            &staff("usr_model_admin", Role::Admin),
                            &id,
                            "model",
                        )
                    });
                    if let Err(e) = r {
                        prop_assert!(
                            matches!(e, GrantError::NotFound | GrantError::Conflict(..)),
                            "revoke: {e}"
                        );
                    }
                    engine::serve_waitlist(&mut conn, &FundId::from(&w.fund.id)).unwrap();
                    None
                }
                Op::Review(k, o) => {
                    let id = cofund::domain::grant::grant_id_of(&w.campaigns[*k]);
                    let fin = staff("usr_model_fin_a", Role::Finance);
                    let r = write_tx(&mut conn, |c| {
                        let outcome = match o {
                            0 => cofund::app::grants::ReviewOutcome::Confirm,
                            1 => {
                                let g = cofund::db::grants::load(c, &id)?
                                    .ok_or(GrantError::NotFound)?;
                                cofund::app::grants::ReviewOutcome::Reduce(g.award_limit / 2)
                            }
                            _ => cofund::app::grants::ReviewOutcome::Revoke,
                        };
                        cofund::app::grants::review(c, &fin, &id, outcome, "model")
                    });
                    match r {
                        Ok(_) => {}
                        Err(e) => prop_assert!(
                            matches!(
                                e,
                                GrantError::NotFound
                                    | GrantError::Conflict(..)
                                    | GrantError::Invalid(_)
                            ),
                            "review: {e}"
                        ),
                    }
                    engine::serve_waitlist(&mut conn, &FundId::from(&w.fund.id)).unwrap();
                    None
                }
                Op::Recover(k) => {
                    let id = cofund::domain::grant::grant_id_of(&w.campaigns[*k]);
                    if let Some(g) = cofund::db::grants::load(&mut conn, &id).unwrap()
                        && g.recoverable > 0
                    {
                        let n = EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        write_tx(&mut conn, |c| {
                            cofund::app::grants::record_recovery(
                                c,
                                &staff("usr_model_fin_a", Role::Finance),
                                &id,
                                g.recoverable,
                                ts(),
                                &format!("RCV-{n}"),
                            )
                        })
                        .unwrap();
                    }
                    None
                }
                Op::PayOut(made) => {
                    cofund::app::crowd::start_transfers(&mut conn).unwrap();
                    let pending: Vec<String> = cofund::db::schema::payouts::table
                        .filter(cofund::db::schema::payouts::status.eq("pending"))
                        .select(cofund::db::schema::payouts::id)
                        .load(&mut *conn)
                        .unwrap();
                    for id in pending {
                        write_tx(&mut conn, |c| -> QueryResult<()> {
                            if *made {
                                cofund::app::crowd::transfer_made(c, &id, &format!("tr_{id}"))?;
                            } else {
                                cofund::app::crowd::fail_payout(c, &id, "refused")?;
                            }
                            Ok(())
                        })
                        .unwrap();
                    }
                    None
                }
                Op::Reverse(done) => {
                    use cofund::app::crowd::ReversalStep;
                    use cofund::domain::crowd::ReversalStatus;
                    let pending: Vec<String> = cofund::db::schema::payout_reversals::table
                        .filter(cofund::db::schema::payout_reversals::status.eq("pending"))
                        .select(cofund::db::schema::payout_reversals::id)
                        .load(&mut *conn)
                        .unwrap();
                    for id in pending {
                        let step =
                            write_tx(&mut conn, |c| cofund::app::crowd::reversal_step(c, &id))
                                .unwrap();
                        if let ReversalStep::Reverse(r, _) = step {
                            let status = if *done {
                                ReversalStatus::Reversed
                            } else {
                                ReversalStatus::Owed
                            };
                            write_tx(&mut conn, |c| {
                                cofund::app::crowd::reversal_done(
                                    c,
                                    &r,
                                    status,
                                    Some("trr_model"),
                                    None,
                                )
                            })
                            .unwrap();
                        }
                    }
                    None
                }
                Op::Close(k) if cancelled[*k] => None,
                Op::Close(k) => {
                    // The calendar's move at `ends_at`, as the scheduler makes it.
                    cofund::app::campaigns::calendar_move(
                        &mut conn,
                        &w.campaigns[*k],
                        Action::Close,
                    )
                    .unwrap();
                    // Decided with a platform fee of 3 %: the crowd books keep it.
                    let fee = Some(rust_decimal::Decimal::new(3, 2));
                    if let Some((_, effect)) =
                        engine::decide_with_fee(&mut conn, &CampaignId::from(&w.campaigns[*k]), fee)
                            .unwrap()
                        && effect.freed
                    {
                        engine::serve_waitlist(&mut conn, &FundId::from(&w.fund.id)).unwrap();
                    }
                    closed[*k] = true;
                    None
                }
            };
            if let Some((i, e)) = event {
                model[i] = model[i].apply(&e, "EUR").unwrap_or(model[i]);
                pay(&w, &mut conn, i, e, transactional);
            }

            // The database agrees with the model and every invariant holds; reconciliation
            // reports exactly the flagged payments and the refunds the provider failed.
            let report = reconcile::run(&mut conn).unwrap();
            let of = |check: &str| -> std::collections::BTreeSet<String> {
                report
                    .violations
                    .iter()
                    .filter(|v| v.check == check)
                    .map(|v| v.subject.clone())
                    .collect()
            };
            let broken: Vec<_> = report
                .violations
                .iter()
                .filter(|v| {
                    !matches!(
                        v.check.as_str(),
                        "flagged_payment" | "refund_needs_attention"
                    )
                })
                .collect();
            prop_assert!(broken.is_empty(), "{:?} after {:?}", broken, op);
            // No crowd cent leaves twice: what is sent, net of what is asked back, never
            // exceeds what a succeeded campaign's donors gave less the fee; a campaign that
            // did not succeed sends nothing.
            for id in &w.campaigns {
                use cofund::db::schema::{payout_reversals as rv, payouts as po};
                let c = cofund::db::campaigns::load_campaign(&mut conn, id).unwrap();
                let sent: Vec<i64> = po::table
                    .filter(po::campaign_id.eq(id))
                    .filter(po::status.ne("failed"))
                    .select(po::amount)
                    .load(&mut *conn)
                    .unwrap();
                let back: Vec<i64> = rv::table
                    .filter(rv::campaign_id.eq(id))
                    .filter(rv::status.ne("cancelled"))
                    .select(rv::amount)
                    .load(&mut *conn)
                    .unwrap();
                let net = sent.iter().sum::<i64>() - back.iter().sum::<i64>();
                if c.status == CampaignStatus::Succeeded {
                    let fee = cofund::domain::crowd::fee_of(
                        c.raised,
                        Some(rust_decimal::Decimal::new(3, 2)),
                    );
                    prop_assert!(
                        net <= c.raised - fee,
                        "{} sent net {} of {} less {}",
                        id,
                        net,
                        c.raised,
                        fee
                    );
                } else {
                    prop_assert!(
                        sent.is_empty(),
                        "{} is {} and paid out {:?}",
                        id,
                        c.status,
                        sent
                    );
                }
            }
            prop_assert_eq!(of("flagged_payment"), flagged.clone());
            let attention: std::collections::BTreeSet<String> = of("refund_needs_attention")
                .into_iter()
                .map(|refund| {
                    cofund::db::schema::refunds::table
                        .find(refund)
                        .select(cofund::db::schema::refunds::pledge_id)
                        .first::<String>(&mut *conn)
                        .unwrap()
                })
                .collect();
            prop_assert_eq!(&attention, &failed_refunds);
            let fund = engine::load_fund(&mut conn, &w.fund.id).unwrap();
            prop_assert!(fund.held + fund.reserved + fund.committed + fund.settled <= fund.budget);
            let funders = cofund::db::funders::load_funders(&mut conn, &w.fund.id).unwrap();
            for f in &funders {
                prop_assert!(
                    f.held + f.reserved + f.committed + f.settled <= f.budget,
                    "{:?}",
                    f
                );
            }
            for (k, cid) in w.campaigns.iter().enumerate() {
                let c = engine::load_campaign(&mut conn, cid).unwrap();
                let expected: i64 = (0..PLEDGES_PER_CAMPAIGN)
                    .map(|j| model[k * PLEDGES_PER_CAMPAIGN + j].counted())
                    .sum();
                prop_assert_eq!(c.raised, expected);
                if per_donation {
                    // The match is the sum of its paid pledges' matches, each within the
                    // rule: at most one to one, at most €15 a gift, at most €30 a campaign.
                    let reserved: i64 = cofund::db::schema::match_holds::table
                        .filter(cofund::db::schema::match_holds::campaign_id.eq(cid))
                        .filter(cofund::db::schema::match_holds::status.eq("reserved"))
                        .select(cofund::db::schema::match_holds::amount)
                        .load::<i64>(&mut *conn)
                        .unwrap()
                        .iter()
                        .sum();
                    if matches!(c.match_status, MatchState::Reserved | MatchState::None)
                        && matches!(c.status, CampaignStatus::Live | CampaignStatus::Closing)
                    {
                        prop_assert_eq!(c.match_amount, reserved);
                    }
                    let cap: i64 = (0..PLEDGES_PER_CAMPAIGN)
                        .map(|j| model[k * PLEDGES_PER_CAMPAIGN + j].counted().min(1500))
                        .sum();
                    if matches!(c.match_status, MatchState::Reserved) {
                        prop_assert!(
                            c.match_amount <= cap.min(3000),
                            "match {} over {}",
                            c.match_amount,
                            cap
                        );
                    }
                } else if c.status == CampaignStatus::Live {
                    let qualifies = c.raised >= engine::threshold_of(&c, &fund);
                    let holds = matches!(c.match_status.as_str(), "reserved" | "waitlisted");
                    prop_assert_eq!(
                        qualifies,
                        holds,
                        "campaign {} raised {} match {}",
                        cid,
                        c.raised,
                        c.match_status
                    );
                }
                if cancelled[k] {
                    prop_assert_eq!(c.status.as_str(), "cancelled");
                    prop_assert!(!matches!(c.match_status.as_str(), "reserved" | "committed"));
                }
                if closed[k] {
                    prop_assert!(matches!(c.status.as_str(), "succeeded" | "failed"));
                    if c.status == CampaignStatus::Failed {
                        prop_assert!(!matches!(c.match_status.as_str(), "reserved" | "committed"));
                    }
                }
            }
            // Grants: money that left a succeeded campaign below its threshold puts its grant
            // under review (unless finance has decided since, or it is revoked); nothing of a
            // grant under review or revoked is payable.
            for (k, cid) in w.campaigns.iter().enumerate() {
                let c = engine::load_campaign(&mut conn, cid).unwrap();
                let gid = cofund::domain::grant::grant_id_of(cid);
                let Some(g) = cofund::db::grants::load(&mut conn, &gid).unwrap() else {
                    continue;
                };
                prop_assert_eq!(c.status, CampaignStatus::Succeeded);
                let left = c.raised < raised_before[k]
                    && c.raised < engine::threshold_of(&c, &fund)
                    && g.reviewed_raised.is_none_or(|seen| c.raised < seen);
                if left && !matches!(op, Op::Review(..)) {
                    prop_assert!(
                        matches!(g.status.as_str(), "under_review" | "revoked"),
                        "grant {} is {} after money left ({} < {})",
                        gid,
                        g.status,
                        c.raised,
                        raised_before[k]
                    );
                }
                let payable: i64 = cofund::db::schema::grant_tranches::table
                    .filter(cofund::db::schema::grant_tranches::grant_id.eq(&gid))
                    .filter(cofund::db::schema::grant_tranches::status.eq("payable"))
                    .filter(cofund::db::schema::grant_tranches::settlement_id.is_null())
                    .count()
                    .get_result(&mut *conn)
                    .unwrap();
                if !g.status.pays() {
                    prop_assert_eq!(
                        payable,
                        0,
                        "grant {} is {} with a payable tranche",
                        gid,
                        g.status
                    );
                }
                prop_assert!(g.paid - g.recovered <= g.awarded);
            }
            // FIFO: the head of the waitlist does not fit in what is available.
            let head: Option<CampaignRow> = campaigns::table
                .filter(campaigns::match_status.eq("waitlisted"))
                .filter(campaigns::status.eq_any([CampaignStatus::Live, CampaignStatus::Closing]))
                .order((campaigns::waitlisted_at.asc(), campaigns::id.asc()))
                .select(CampaignRow::as_select())
                .first(&mut *conn)
                .optional()
                .unwrap();
            if let Some(h) = head {
                let available = engine::coverable_of(&fund, &funders, engine::top_up_of(&h, &fund));
                if partial {
                    prop_assert_eq!(available, 0);
                } else {
                    prop_assert!(
                        available < engine::top_up_of(&h, &fund),
                        "waitlisted {} while {} available",
                        h.id,
                        available
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A quadratic round over random gifts (donors giving several pledges, refunds, campaigns
    /// failing) and one to three funders: shared once at the end, the shares add up to the
    /// pool (unless every share with a weight sits on the cap), no funder pays beyond its
    /// budget, and sharing again changes nothing.
    #[test]
    fn a_quadratic_round_shares_its_pool_exactly_and_once(
        budgets in proptest::collection::vec(0i64..6000, 1..=3),
        proportional in any::<bool>(),
        goals in proptest::collection::vec(prop_oneof![Just(4000i64), Just(6000)], CAMPAIGNS),
        amounts in proptest::collection::vec(500i64..3000, CAMPAIGNS * PLEDGES_PER_CAMPAIGN),
        paid in proptest::collection::vec(any::<bool>(), CAMPAIGNS * PLEDGES_PER_CAMPAIGN),
        refunds in proptest::collection::vec((0..CAMPAIGNS * PLEDGES_PER_CAMPAIGN, 0i64..3000), 0..4),
    ) {
        let funding = Funding {
            budgets,
            split: if proportional { FundingSplit::Proportional } else { FundingSplit::Priority },
            policy: MatchPolicy::Quadratic,
            tranches: false,
        };
        run_round(None, &funding, &goals, &amounts, &paid, &refunds)?;
        if let Ok(admin) = std::env::var("COFUND_TEST_DATABASE_URL") {
            run_round(Some(&admin), &funding, &goals, &amounts, &paid, &refunds)?;
        }
    }
}

fn run_round(
    pg_admin: Option<&str>,
    funding: &Funding,
    goals: &[i64],
    amounts: &[i64],
    paid: &[bool],
    refunds: &[(usize, i64)],
) -> Result<(), TestCaseError> {
    let w = world(pg_admin, funding, goals, amounts, false);
    let _clock = w.db.clock().enter();
    let mut conn = w.db.get().unwrap();
    for (i, pays) in paid.iter().enumerate() {
        if *pays {
            let e = PaymentEvent::Succeeded {
                amount: w.pledges[i].1,
                currency: "eur".into(),
            };
            pay(&w, &mut conn, i, e, true);
        }
    }
    for (i, amount) in refunds {
        pay(
            &w,
            &mut conn,
            *i,
            PaymentEvent::Refunded {
                amount_refunded: *amount,
            },
            true,
        );
    }
    let pool: i64 = cofund::db::funders::load_funders(&mut conn, &w.fund.id)
        .unwrap()
        .iter()
        .map(|f| f.available())
        .sum();
    // Running campaigns hold the round back.
    prop_assert!(matches!(
        cofund::app::quadratic::distribute(&mut conn, None, &FundId::from(&w.fund.id)),
        Err(cofund::app::quadratic::DistributeError::StillRunning(_))
    ));
    for id in &w.campaigns {
        prop_assert!(cofund::app::campaigns::calendar_move(&mut conn, id, Action::Close).unwrap());
        if pending_left(&mut conn, id) {
            // Unpaid gifts expire first so that the campaign is decided.
            for (pid, _) in w
                .pledges
                .iter()
                .filter(|(p, _)| p.starts_with(&id.replacen("cmp_", "plg_", 1)))
            {
                write_tx(&mut conn, |c| {
                    payments::apply_to_pledge(c, pid, &PaymentEvent::Expired, None)
                })
                .unwrap();
            }
        }
        engine::decide(&mut conn, &CampaignId::from(id)).unwrap();
    }
    let round =
        cofund::app::quadratic::distribute(&mut conn, None, &FundId::from(&w.fund.id)).unwrap();
    let shared: i64 = round.lines.iter().map(|l| l.share.amount).sum();
    let weighted: Vec<_> = round
        .lines
        .iter()
        .filter(|l| !l.share.weight.is_zero())
        .collect();
    prop_assert!(shared <= pool, "shared {} of a pool of {}", shared, pool);
    if !weighted.is_empty() && weighted.iter().any(|l| !l.share.capped) {
        prop_assert_eq!(shared, pool);
    }
    for l in &round.lines {
        let c = engine::load_campaign(&mut conn, &l.campaign.id).unwrap();
        prop_assert_eq!(c.status, CampaignStatus::Succeeded);
        prop_assert_eq!(c.match_amount, l.share.amount);
        prop_assert!(l.share.amount <= 3000);
    }
    for f in cofund::db::funders::load_funders(&mut conn, &w.fund.id).unwrap() {
        prop_assert!(f.committed <= f.budget, "{:?}", f);
    }
    let report = reconcile::run(&mut conn).unwrap();
    prop_assert!(report.ok, "{:?}", report.violations);
    let entries: i64 = cofund::db::schema::journal_entries::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let again =
        cofund::app::quadratic::distribute(&mut conn, None, &FundId::from(&w.fund.id)).unwrap();
    let again_amounts: Vec<i64> = again.lines.iter().map(|l| l.share.amount).collect();
    let first_amounts: Vec<i64> = round.lines.iter().map(|l| l.share.amount).collect();
    prop_assert_eq!(again_amounts, first_amounts);
    let after: i64 = cofund::db::schema::journal_entries::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    prop_assert_eq!(entries, after);
    Ok(())
}

fn pending_left(conn: &mut DbConnection, campaign: &str) -> bool {
    pledges::table
        .filter(pledges::campaign_id.eq(campaign))
        .filter(pledges::status.eq("pending"))
        .count()
        .get_result::<i64>(conn)
        .unwrap()
        > 0
}
