//! Logs (tracing, pretty or JSON) and the in-process counters behind `/metrics`.

use crate::config::LogFormat;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::EnvFilter;

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    // Colour codes only for a person at a terminal: piped into journald or a file they are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Upper bounds (seconds) of the request-duration histogram.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; 10],
    duration_micros_sum: AtomicU64,
    count: AtomicU64,
    pub scheduler_runs: AtomicU64,
    pub scheduler_errors: AtomicU64,
    pub campaigns_started: AtomicU64,
    pub campaigns_closed: AtomicU64,
    pub job_takeovers: AtomicU64,
    pub job_passes_skipped: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, status: u16, seconds: f64) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_micros_sum
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition (version 0.0.4).
    pub fn render(&self, campaigns_by_status: &[(String, i64)], pool: (u32, u32)) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP cofund_http_requests_total HTTP requests answered, by status class.\n# TYPE cofund_http_requests_total counter\n");
        for (i, c) in self.by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "cofund_http_requests_total{{status=\"{}xx\"}} {}",
                i + 1,
                load(c)
            );
        }
        out.push_str("# HELP cofund_http_request_duration_seconds Time to answer a request.\n# TYPE cofund_http_request_duration_seconds histogram\n");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "cofund_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(&self.buckets[i])
            );
        }
        let count = load(&self.count);
        let _ = writeln!(
            out,
            "cofund_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\ncofund_http_request_duration_seconds_sum {}\ncofund_http_request_duration_seconds_count {count}",
            load(&self.duration_micros_sum) as f64 / 1e6
        );
        for (name, help, v) in [
            (
                "cofund_scheduler_runs_total",
                "Scheduler ticks completed.",
                &self.scheduler_runs,
            ),
            (
                "cofund_scheduler_errors_total",
                "Scheduler ticks that failed.",
                &self.scheduler_errors,
            ),
            (
                "cofund_campaigns_started_total",
                "Campaigns this process moved to live.",
                &self.campaigns_started,
            ),
            (
                "cofund_campaigns_closed_total",
                "Campaigns this process moved to closing.",
                &self.campaigns_closed,
            ),
            (
                "cofund_job_takeovers_total",
                "Background jobs this process took over from a replica whose lease ran out.",
                &self.job_takeovers,
            ),
            (
                "cofund_job_passes_skipped_total",
                "Job passes skipped because another replica holds the job's lease.",
                &self.job_passes_skipped,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                load(v)
            );
        }
        let (batches, batched) = crate::db::group_commit::stats();
        let _ = writeln!(
            out,
            "# HELP cofund_confirmation_batches_total Statements that wrote payment confirmations (PostgreSQL group commit).\n# TYPE cofund_confirmation_batches_total counter\ncofund_confirmation_batches_total {batches}\n# HELP cofund_confirmations_batched_total Confirmations those statements carried.\n# TYPE cofund_confirmations_batched_total counter\ncofund_confirmations_batched_total {batched}"
        );
        out.push_str(
            "# HELP cofund_campaigns Campaigns by status.\n# TYPE cofund_campaigns gauge\n",
        );
        for (status, n) in campaigns_by_status {
            let _ = writeln!(out, "cofund_campaigns{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP cofund_db_pool_connections Open database connections.\n# TYPE cofund_db_pool_connections gauge\ncofund_db_pool_connections{{state=\"open\"}} {}\ncofund_db_pool_connections{{state=\"idle\"}} {}",
            pool.0, pool.1
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.observe(200, 0.002);
        m.observe(404, 0.5);
        let text = m.render(&[("live".into(), 3)], (2, 1));
        assert!(text.contains("cofund_http_requests_total{status=\"2xx\"} 1"));
        assert!(text.contains("cofund_http_requests_total{status=\"4xx\"} 1"));
        assert!(text.contains("cofund_http_request_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("cofund_http_request_duration_seconds_count 2"));
        assert!(text.contains("cofund_campaigns{status=\"live\"} 3"));
    }
}
