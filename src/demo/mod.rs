//! `cofund demo`: a believable city to click through. Turin's target areas, a fund on Milan's
//! 2024 rules, two associations with a member each, city staff, a partner client, and
//! campaigns in several states. Prints the logins it made (random passwords).

mod call;
mod gifts;
mod settled;

use crate::app::funds::NewFunder;
use crate::auth::hash_secret;
use crate::clock::now;
use crate::db::models::{
    AreaRow, AssociationRow, CampaignRow, FundAreaRow, FundRow, PartnerRow, UserRow,
};
use crate::db::schema::{areas, associations, campaigns, fund_areas, funds, partners, users};
use crate::db::{Db, write_tx};
use crate::domain::area::AreaGeometry;
use crate::domain::campaign::CampaignStatus;
use crate::domain::fund::{FunderKind, FundingSplit, MatchPolicy};
use crate::domain::ids;
use crate::domain::money::{Currency, Ratio};
use crate::domain::role::Role;
use anyhow::Context;
use chrono::Duration;
use diesel::prelude::*;

const TURIN_AREAS: &str = include_str!("turin_areas.geojson");

/// A point well inside each demo area (lat, lon).
const INSIDE: [(&str, f64, f64); 5] = [
    ("TO-BARRIERA", 45.0953, 7.6993),
    ("TO-AURORA", 45.0847, 7.6875),
    ("TO-MIRAFIORI-SUD", 45.0253, 7.6214),
    ("TO-VALLETTE", 45.1124, 7.6349),
    ("TO-SAN-SALVARIO", 45.0560, 7.6829),
];

struct Login {
    who: String,
    username: String,
    secret: String,
}

pub fn seed(db: &Db, config: &crate::config::Config) -> anyhow::Result<()> {
    let mut conn = db.get()?;
    let mut partner_id = String::new();
    let mut campaign_ids: Vec<(String, String)> = Vec::new();
    let logins = write_tx(&mut conn, |conn| -> anyhow::Result<Vec<Login>> {
        let existing = areas::table
            .filter(areas::code.eq("TO-BARRIERA"))
            .count()
            .get_result::<i64>(conn)?;
        if existing > 0 {
            anyhow::bail!(
                "this database already holds the demo city; use a fresh COFUND_DATABASE_URL"
            );
        }
        let t = now();
        let mut logins = Vec::new();

        // Target areas from the bundled GeoJSON.
        let fc: serde_json::Value = serde_json::from_str(TURIN_AREAS)?;
        let mut area_ids = std::collections::HashMap::new();
        for f in fc["features"].as_array().context("features")? {
            let code = f["properties"]["code"]
                .as_str()
                .context("code")?
                .to_string();
            let name = f["properties"]["name"]
                .as_str()
                .context("name")?
                .to_string();
            let geometry = AreaGeometry::from_geojson(&f["geometry"])
                .map_err(|e| anyhow::anyhow!("{code}: {e}"))?;
            let id = ids::new_id(ids::AREA);
            diesel::insert_into(areas::table)
                .values(AreaRow {
                    id: id.clone(),
                    code: code.clone(),
                    name,
                    geometry: geometry.to_geojson().to_string(),
                    created_at: t,
                })
                .execute(conn)?;
            area_ids.insert(code, id);
        }

        let all_areas: Vec<String> = area_ids.values().cloned().collect();
        let city = |budget: i64, share: Option<&str>| NewFunder {
            name: "Città di Torino".into(),
            kind: FunderKind::Public,
            tax_code: Some("00514490010".into()),
            iban: None,
            bic: None,
            budget,
            priority: Some(1),
            share: share.map(|s| Ratio::parse(s).expect("a share")),
        };
        // A fund on Milan's 2024 rules: 50% threshold, 50% match, €50k cap, €600k budget,
        // goals €20k–100k, reserved when the crowd reaches the threshold.
        let fund_id = insert_fund(
            conn,
            FundRow {
                name: "Crowdfunding civico Torino 2026".into(),
                cup: Some("C11J26000120007".into()),
                ..fund_template(t)
            },
            vec![city(60_000_000, None)],
            &all_areas,
        )?;
        // The city and a bank foundation in one pot, half each, matching every gift one to
        // one (up to €100 a gift, €5,000 a campaign), the match held for 30 minutes.
        let one_to_one = insert_fund(
            conn,
            FundRow {
                name: "Uno a uno: Città e Fondazione CRT".into(),
                threshold_ratio: Ratio::parse("0.1").expect("a ratio"),
                match_ratio: Ratio::ONE,
                max_match_per_campaign: Some(500_000),
                min_goal: Some(100_000),
                match_policy: MatchPolicy::PerDonation,
                funding_split: FundingSplit::Proportional,
                max_match_per_donation: Some(10_000),
                ..fund_template(t)
            },
            vec![
                city(2_000_000, Some("0.5")),
                NewFunder {
                    name: "Fondazione CRT".into(),
                    kind: FunderKind::Private,
                    tax_code: Some("97542550013".into()),
                    iban: Some("IT60X0542811101000000123456".into()),
                    bic: Some("BPMOIT22XXX".into()),
                    budget: 2_000_000,
                    priority: Some(2),
                    share: Some(Ratio::parse("0.5").expect("a share")),
                },
            ],
            &all_areas,
        )?;
        // A small participatory round: €10,000 shared by quadratic funding when it closes.
        let quadratic_round = insert_fund(
            conn,
            FundRow {
                name: "Bilancio partecipato: round quadratico".into(),
                threshold_ratio: Ratio::parse("0.1").expect("a ratio"),
                max_match_per_campaign: Some(400_000),
                min_goal: Some(100_000),
                closes_at: t + Duration::days(60),
                match_policy: MatchPolicy::Quadratic,
                min_contribution: 200,
                ..fund_template(t)
            },
            vec![city(1_000_000, None)],
            &all_areas,
        )?;
        // A fund whose campaigns enter by a call for proposals (see `call`).
        let by_call = insert_fund(
            conn,
            FundRow {
                name: call::FUND.into(),
                ..fund_template(t)
            },
            vec![city(15_000_000, None)],
            &all_areas,
        )?;
        let fund_ids = [fund_id, one_to_one, quadratic_round, by_call];

        // Two associations, one member each.
        let associations_data = [
            (
                "Associazione Barriera Solidale",
                "97654320015",
                "IT21X0306909606100000063214",
                "info@barrierasolidale.example",
                "barriera",
            ),
            (
                "Cooperativa Sociale Mirafiori & Dintorni",
                "12345678903",
                "IT81A0200801046000100001234",
                "ciao@mirafioridintorni.example",
                "mirafiori",
            ),
        ];
        let mut association_ids = Vec::new();
        for (name, tax_code, iban, email, login) in associations_data {
            let id = ids::new_id(ids::ASSOCIATION);
            diesel::insert_into(associations::table)
                .values(AssociationRow {
                    id: id.clone(),
                    name: name.into(),
                    tax_code: tax_code.into(),
                    iban: iban.into(),
                    bic: None,
                    email: email.into(),
                    created_at: t,
                    runts_id: Some(format!("RUNTS {}", &tax_code[..6])),
                })
                .execute(conn)?;
            logins.push(add_user(
                conn,
                &format!("{name} member"),
                login,
                Role::Association,
                Some(&id),
            )?);
            association_ids.push(id);
        }
        for (who, username, role) in [
            ("City programme admin", "admin", Role::Admin),
            ("City evaluator", "reviewer", Role::Reviewer),
            ("City finance office", "finance", Role::Finance),
            // Four eyes: a batch is confirmed by someone other than its creator.
            (
                "City finance office, second signer",
                "treasurer",
                Role::Finance,
            ),
        ] {
            logins.push(add_user(conn, who, username, role, None)?);
        }

        // A partner frontend (client credentials).
        let client_id = ids::random_secret("ci", 12);
        let client_secret = ids::random_secret("cs", 32);
        partner_id = ids::new_id(ids::PARTNER);
        diesel::insert_into(partners::table)
            .values(PartnerRow {
                id: partner_id.clone(),
                name: "Rete del Dono (demo partner)".into(),
                client_id: client_id.clone(),
                client_secret_hash: hash_secret(&client_secret),
                webhook_url: None,
                webhook_secret: ids::random_secret("whsec", 32),
                created_at: t,
            })
            .execute(conn)?;
        logins.push(Login {
            who: "Partner frontend (client_credentials)".into(),
            username: client_id,
            secret: client_secret,
        });

        // Campaigns in several states.
        let campaigns_data: [DemoCampaign; 11] = [
            (
                "Doposcuola in Barriera",
                0,
                "TO-BARRIERA",
                4_000_000,
                CampaignStatus::Live,
                -5,
                40,
                0,
            ),
            (
                "Orti condivisi di via Cigna",
                0,
                "TO-AURORA",
                2_500_000,
                CampaignStatus::Approved,
                3,
                50,
                0,
            ),
            (
                "Biblioteca di strada a Mirafiori",
                1,
                "TO-MIRAFIORI-SUD",
                6_000_000,
                CampaignStatus::Submitted,
                10,
                55,
                0,
            ),
            (
                "Palestra popolare alle Vallette",
                1,
                "TO-VALLETTE",
                10_000_000,
                CampaignStatus::Draft,
                20,
                60,
                0,
            ),
            // Ended yesterday past its threshold: the demo takes it to a paid match.
            (
                settled::SETTLED,
                1,
                "TO-MIRAFIORI-SUD",
                2_000_000,
                CampaignStatus::Live,
                -40,
                39,
                0,
            ),
            (
                "Cucina di comunità a San Salvario",
                0,
                "TO-SAN-SALVARIO",
                3_000_000,
                CampaignStatus::Live,
                -10,
                30,
                1,
            ),
            (
                "Murales partecipato in Barriera",
                0,
                "TO-BARRIERA",
                300_000,
                CampaignStatus::Live,
                -2,
                40,
                2,
            ),
            (
                "Ciclofficina di quartiere ad Aurora",
                1,
                "TO-AURORA",
                500_000,
                CampaignStatus::Live,
                -2,
                40,
                2,
            ),
            // Drafts the call takes through its window to a published ranking.
            (
                call::APPLICATIONS[0].0,
                0,
                "TO-BARRIERA",
                3_000_000,
                CampaignStatus::Draft,
                10,
                45,
                3,
            ),
            (
                call::APPLICATIONS[1].0,
                1,
                "TO-MIRAFIORI-SUD",
                2_500_000,
                CampaignStatus::Draft,
                10,
                45,
                3,
            ),
            (
                call::APPLICATIONS[2].0,
                1,
                "TO-AURORA",
                2_000_000,
                CampaignStatus::Draft,
                10,
                45,
                3,
            ),
        ];
        for (title, asso, area, goal, status, start_days, length_days, fund) in campaigns_data {
            let (_, lat, lon) = INSIDE
                .iter()
                .find(|(c, _, _)| *c == area)
                .copied()
                .context("demo point")?;
            let starts_at = t + Duration::days(start_days);
            let campaign_id = ids::new_id(ids::CAMPAIGN);
            campaign_ids.push((title.to_string(), campaign_id.clone()));
            diesel::insert_into(campaigns::table)
                .values(CampaignRow {
                    id: campaign_id,
                    association_id: association_ids[asso].clone(),
                    fund_id: fund_ids[fund].clone(),
                    area_id: area_ids[area].clone(),
                    title: title.into(),
                    summary: format!(
                        "{title}: a neighbourhood project run by volunteers and social workers."
                    ),
                    goal,
                    currency: Currency::EUR,
                    location_lat: lat,
                    location_lon: lon,
                    starts_at,
                    ends_at: starts_at + Duration::days(length_days),
                    status,
                    rejection_reason: None,
                    raised: 0,
                    donors: 0,
                    match_status: crate::domain::matching::MatchState::None,
                    match_amount: 0,
                    created_at: t,
                    updated_at: t,
                    waitlisted_at: None,
                    decided_at: None,
                    settlement_id: None,
                    // A call wants a cost plan adding up to the goal.
                    cost_plan: (fund == 3).then(|| demo_cost_plan(goal)),
                })
                .execute(conn)?;
        }
        Ok(logins)
    })?;
    drop(conn);
    // Gifts through the simulated provider's real path: money raised, holds, a quadratic
    // round with donors, receipts and the ledger's history for the charts.
    let gifts = gifts::give(config, db, &partner_id, &campaign_ids)?;
    if gifts > 0 {
        settled::finish(config, db, &campaign_ids)?;
    }
    call::run(config, db)?;

    println!(
        "Demo city seeded: 5 Turin target areas; 4 funds (Milan 2024 rules; the city and Fondazione CRT \
         matching every gift one to one; a quadratic round; a call for proposals, its ranking \
         published); 2 associations; 11 campaigns; {gifts} donations; one campaign succeeded \
         and its match paid.\n"
    );
    println!("Logins (passwords are random; keep them now, they are stored hashed):");
    for l in logins {
        println!("  {:<48} {:<28} {}", l.who, l.username, l.secret);
    }
    println!(
        "\nGet a token:  curl -s localhost:8080/v1/auth/token -H 'content-type: application/json' \\\n  -d '{{\"grant_type\":\"password\",\"username\":\"admin\",\"password\":\"…\"}}'"
    );
    Ok(())
}

/// The demo's own state on a clock it may move, and a runtime to drive the use cases with.
fn on_own_clock(
    config: &crate::config::Config,
    db: &Db,
) -> anyhow::Result<(
    crate::app::AppState,
    crate::clock::Clock,
    tokio::runtime::Runtime,
)> {
    let clock = crate::clock::Clock::adjustable();
    let state = crate::app::AppState::new(config.clone(), db.clone().with_clock(clock.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    Ok((state, clock, runtime))
}

/// The id of the demo's user `username`.
fn user_id(conn: &mut crate::db::DbConnection, username: &str) -> QueryResult<String> {
    users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(conn)
}

/// A cost plan for a call: people 60 %, goods the rest (JSON, as stored).
fn demo_cost_plan(goal: i64) -> String {
    let people = goal * 6 / 10;
    serde_json::json!([
        {"category": "personnel", "description": "Operatori e coordinamento", "amount": people},
        {"category": "goods", "description": "Materiali e attrezzature", "amount": goal - people},
    ])
    .to_string()
}

/// (title, association, area code, goal, status, starts in days, length in days, fund).
type DemoCampaign<'a> = (
    &'a str,
    usize,
    &'a str,
    i64,
    CampaignStatus,
    i64,
    i64,
    usize,
);

/// A fund's parameters on Milan's 2024 rules, open for a year; the callers name it and change
/// what differs.
fn fund_template(t: chrono::NaiveDateTime) -> FundRow {
    FundRow {
        id: ids::new_id(ids::FUND),
        name: String::new(),
        currency: Currency::EUR,
        budget: 0,
        threshold_ratio: Ratio::parse("0.5").expect("a ratio"),
        match_ratio: Ratio::parse("0.5").expect("a ratio"),
        max_match_per_campaign: Some(5_000_000),
        min_goal: Some(2_000_000),
        max_goal: Some(10_000_000),
        min_donors: 1,
        opens_at: t - Duration::days(30),
        closes_at: t + Duration::days(365),
        allocation: crate::domain::fund::Allocation::OnThreshold,
        exhaustion_policy: crate::domain::fund::ExhaustionPolicy::Waitlist,
        cup: None,
        reserved: 0,
        committed: 0,
        settled: 0,
        created_at: t,
        held: 0,
        funding_split: FundingSplit::Priority,
        match_policy: MatchPolicy::ThresholdTopUp,
        max_match_per_donation: None,
        match_hold_secs: 1800,
        min_contribution: 0,
        distributed_at: None,
        // What the transparency register and the treasury need (illustrative acts).
        legal_basis: Some(
            "Avviso pubblico Crowdfunding civico, Deliberazione della Giunta Comunale n. 123 (demo)"
                .into(),
        ),
        office: Some("Divisione Servizi Sociali, Area Inclusione".into()),
        responsible_official: Some("Dirigente dell'Area Inclusione (demo)".into()),
        selection_method: Some(
            "Avviso pubblico: progetti che raggiungono la soglia di raccolta".into(),
        ),
        siope_code: Some("U.1.04.04.01.001".into()),
        quadratic_identity: Default::default(),
        payment_plan: Default::default(),
        advance_ratio: None,
        reporting_days: 365,
        recoverable: 0,
    }
}

/// Inserts a fund over `areas` with its funders (their budgets through the ledger's door).
fn insert_fund(
    conn: &mut crate::db::DbConnection,
    row: FundRow,
    funders: Vec<NewFunder>,
    areas: &[String],
) -> anyhow::Result<String> {
    diesel::insert_into(funds::table)
        .values(row.clone())
        .execute(conn)?;
    for f in funders {
        crate::app::funds::insert_funder(conn, &row, f, "initial budget")?;
    }
    for area_id in areas {
        diesel::insert_into(fund_areas::table)
            .values(FundAreaRow {
                fund_id: row.id.clone(),
                area_id: area_id.clone(),
            })
            .execute(conn)?;
    }
    Ok(row.id)
}

fn add_user(
    conn: &mut crate::db::DbConnection,
    who: &str,
    username: &str,
    role: Role,
    association_id: Option<&str>,
) -> anyhow::Result<Login> {
    // An existing account (e.g. the admin created with `cofund admin create-user`) is kept.
    let exists: i64 = users::table
        .filter(users::username.eq(username))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(Login {
            who: who.into(),
            username: username.into(),
            secret: "(existing account, password unchanged)".into(),
        });
    }
    let password = ids::random_secret("pw", 9);
    diesel::insert_into(users::table)
        .values(UserRow {
            id: ids::new_id(ids::USER),
            username: username.into(),
            password_hash: hash_secret(&password),
            role,
            association_id: association_id.map(str::to_string),
            email: None,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(Login {
        who: who.into(),
        username: username.into(),
        secret: password,
    })
}
