//! Pure domain logic: no I/O, no database, no HTTP. Property-tested.

pub mod area;
pub mod badge;
pub mod campaign;
pub mod chart;
pub mod delivery;
pub mod destination;
pub mod email;
pub mod fund;
pub mod funding;
pub mod iban;
pub mod ids;
pub mod ledger;
pub mod map;
pub mod matching;
pub mod money;
pub mod per_donation;
pub mod pledge;
pub mod quadratic;
pub mod receipt;
pub mod role;
pub mod sepa;
pub mod settlement;
pub mod stored;
pub mod tax_code;
pub mod transparency;
pub mod treasury;
