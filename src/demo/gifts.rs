//! The demo's donations: gifts through the same path a partner's donor takes (a pledge, then the
//! simulated provider's signed webhook), so the money, the matches, the ledger and the receipts
//! are what a real programme would hold. Only with the simulated provider.

use crate::app::pledges::{PledgeInput, PledgeRequest, create_for_partner, simulate};
use crate::auth::Principal;
use crate::config::Config;
use crate::db::Db;
use crate::domain::bank_entry::PledgeMethod;
use crate::domain::role::Role;
use crate::providers::simulated::SimOutcome;
use chrono::TimeDelta;

/// (campaign title, donor names, euros each, days ago of the first gift: the others follow at
/// even steps until a few hours ago, so the charts have a history).
type Gifts<'a> = (&'a str, &'a [&'a str], &'a [i64], i64);

const GIFTS: [Gifts; 4] = [
    (
        "Sportello di quartiere a Mirafiori",
        &[
            "Bar Centrale di Mirafiori",
            "Giorgio Sala",
            "Rita Marchetti",
            "Fabio Testa",
            "Laura Fabbri",
            "Ivana Greco",
            "Pro Loco Mirafiori Sud",
            "Nadia Rinaldi",
            "Ugo Pellegrini",
            "Teresa Caruso",
        ],
        &[2000, 500, 750, 300, 1200, 250, 3000, 400, 1600, 500],
        34,
    ),
    (
        "Cucina di comunità a San Salvario",
        &[
            "Lucia Ferrero",
            "Marco Gallo",
            "Sara Conti",
            "Paolo Greco",
            "Elena Bruno",
            "Luca Ricci",
        ],
        &[50, 100, 25, 80, 100, 40],
        9,
    ),
    (
        "Murales partecipato in Barriera",
        &[
            "Giulia Romano",
            "Andrea Costa",
            "Chiara Fontana",
            "Matteo Rizzo",
            "Anna Moretti",
        ],
        &[20, 15, 30, 10, 25],
        1,
    ),
    (
        "Ciclofficina di quartiere ad Aurora",
        &["Davide Marino", "Francesca Villa", "Simone Lombardi"],
        &[150, 60, 40],
        1,
    ),
];

/// Gives the demo's gifts, each on its day (the demo's clock is set back for it); returns how
/// many were paid. `campaigns` maps titles to ids.
pub fn give(
    config: &Config,
    db: &Db,
    partner_id: &str,
    campaigns: &[(String, String)],
) -> anyhow::Result<usize> {
    let (state, clock, runtime) = super::on_own_clock(config, db)?;
    if !state.provider.creates_in_database() {
        return Ok(0);
    }
    runtime.block_on(async {
        let admin = Principal {
            sub: "demo".into(),
            role: Role::Admin,
            association_id: None,
            partner_id: None,
        };
        let mut paid = 0;
        let mut back = TimeDelta::zero();
        for (title, donors, euros, days_ago) in GIFTS {
            let Some((_, campaign_id)) = campaigns.iter().find(|(t, _)| t == title) else {
                continue;
            };
            for (i, (name, amount)) in donors.iter().zip(euros.iter()).enumerate() {
                // From `days_ago` to three hours ago, at even steps.
                let span = TimeDelta::days(days_ago) - TimeDelta::hours(3);
                let at = TimeDelta::days(days_ago) - span * i as i32 / donors.len() as i32;
                clock.advance(back - at);
                back = at;
                let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
                let request = PledgeRequest {
                    partner_id: partner_id.to_string(),
                    idempotency_key: uuid::Uuid::new_v4().to_string(),
                    request_hash: uuid::Uuid::new_v4().simple().to_string(),
                    campaign_id: campaign_id.clone(),
                };
                let input = PledgeInput {
                    amount: format!("{amount}.00"),
                    currency: None,
                    donor_name: name.to_string(),
                    donor_email: email,
                    anonymous: false,
                    locale: Some("it".into()),
                    contact_consent: paid % 2 == 0,
                    tax_code: None,
                    message: None,
                    method: PledgeMethod::Provider,
                };
                // The answer a partner would get; the demo needs only the payment's id.
                let created =
                    create_for_partner(&state, request, input, |_, payment, _| payment.id.clone())
                        .await
                        .map_err(|e| anyhow::anyhow!("demo gift to {title}: {e:?}"))?;
                let payment_id = match created {
                    crate::app::pledges::Created::New(id)
                    | crate::app::pledges::Created::Replayed(id) => id,
                };
                simulate(&state, &admin, payment_id, SimOutcome::Succeed)
                    .await
                    .map_err(|e| anyhow::anyhow!("demo payment for {title}: {e:?}"))?;
                paid += 1;
            }
        }
        clock.advance(back);
        // Numbers the receipts (what the scheduler would do next). Not a pass of the jobs: that
        // would take their leases under this process's name and keep the server's scheduler
        // waiting until they lapse.
        state
            .db
            .run(|conn| {
                crate::app::receipts::number_queued(conn).map_err(crate::db::DbError::Query)
            })
            .await
            .map_err(|e: crate::db::DbError| anyhow::anyhow!("demo receipts: {e}"))?;
        Ok(paid)
    })
}
