//! Background work, driven by a tokio interval (`COFUND_SCHEDULER_INTERVAL_MS`).

pub mod scheduler;
