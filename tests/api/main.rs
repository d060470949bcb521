//! HTTP integration tests: each runs on SQLite and, when `COFUND_TEST_DATABASE_URL` is set,
//! again on PostgreSQL.

mod helpers;

mod areas;
mod associations;
mod auth;
mod bad_text;
mod bank_pages;
mod bank_transfers;
mod calls;
mod campaigns;
mod console;
mod donor_receipts;
mod edges_data;
mod edges_money;
mod edges_session;
mod erasure;
mod funders;
mod funds;
mod grant_pages;
mod grant_reports;
mod grants;
mod group_commit;
mod limits;
mod matching;
mod money_integrity;
mod notify;
mod ops;
mod pages;
mod payouts;
mod pledges;
mod policies;
mod public_finance;
mod settlements;
mod smtp_sink;
mod storms;
mod stripe;
mod stripe_payouts;
mod updates;
use xsd_check as xsd;
