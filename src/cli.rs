//! The `cofund` command line: `serve` (default), `migrate`, `admin create-user`, `openapi`, `demo`.

pub mod admin;

use crate::config::Config;
use crate::db::Db;
use crate::http::{AppState, build_app};
use crate::telemetry::init_logging;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cofund",
    version,
    about = "Civic crowdfunding with public match funding"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service and the scheduler (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Check every accounting invariant; exits non-zero on a violation.
    Reconcile,
    /// Seed a demo city (Turin's target areas, a fund on Milan's 2024 rules, associations,
    /// campaigns) and print the logins it made.
    Demo,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user. The password comes from COFUND_ADMIN_PASSWORD, or is read from stdin.
    CreateUser {
        #[arg(long)]
        username: String,
        /// admin, reviewer, finance or association
        #[arg(long)]
        role: String,
        /// Required for the association role.
        #[arg(long)]
        association_id: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        use std::io::Write;
        // A closed pipe (`cofund openapi | head`) is not an error worth a panic.
        let _ = std::io::stdout().write_all(crate::http::openapi_json().as_bytes());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(&config).map(|_| ()),
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    username,
                    role,
                    association_id,
                    email,
                },
        } => create_user(&config, username, role, association_id, email),
        Command::Demo => migrate(&config).and_then(|db| crate::demo::seed(&db, &config)),
        Command::Reconcile => reconcile(&config),
        Command::Openapi => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn reconcile(config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 1)?;
    let mut conn = db.get()?;
    let report = crate::db::reconcile::run(&mut conn)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.ok {
        Ok(())
    } else {
        anyhow::bail!("{} violation(s)", report.violations.len())
    }
}

fn migrate(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, config.db_pool_size)?;
    let applied = db.migrate()?;
    for m in &applied {
        tracing::info!(migration = %m, "applied migration");
    }
    tracing::info!(
        backend = db.backend(),
        applied = applied.len(),
        "database is up to date"
    );
    Ok(db)
}

fn create_user(
    config: &Config,
    username: String,
    role: String,
    association_id: Option<String>,
    email: Option<String>,
) -> anyhow::Result<()> {
    let password = match std::env::var("COFUND_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("Password for {username}: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let db = if config.auto_migrate {
        migrate(config)?
    } else {
        Db::connect(&config.database_url, 1)?
    };
    let id = admin::create_user(
        &db,
        &username,
        &password,
        &role,
        association_id.as_deref(),
        email.as_deref(),
    )?;
    println!("created user {username} ({role}) with id {id}");
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    config.check_serve()?;
    if Config::jwt_secret_is_ephemeral(|k| std::env::var(k).ok()) {
        tracing::warn!("{}", crate::config::EPHEMERAL_SECRET_NOTE);
    }
    let db = Db::connect(&config.database_url, config.db_pool_size)?;
    if config.auto_migrate {
        let applied = db.migrate()?;
        tracing::info!(
            backend = db.backend(),
            applied = applied.len(),
            "migrations checked"
        );
    }
    actix_web::rt::System::new().block_on(run_server(config, db))
}

/// Runs the server and the scheduler until SIGTERM/SIGINT, then drains in-flight requests.
pub async fn run_server(config: Config, db: Db) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let state = AppState::new(config, db);
    let state_provider = state.provider.name();
    if state_provider == "simulated" {
        tracing::warn!(
            "payment provider: simulated (no real money moves; set COFUND_PAYMENT_PROVIDER=stripe in production)"
        );
    } else {
        tracing::info!("payment provider: {state_provider}");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = actix_web::rt::spawn(crate::jobs::scheduler::run(state.clone(), stop_rx));
    let admin = match state.config.admin_bind.clone() {
        Some(admin_bind) => {
            let admin_state = state.clone();
            let server = actix_web::HttpServer::new(move || {
                crate::http::build_admin_app(admin_state.clone())
            })
            .workers(1)
            .bind(&admin_bind)?
            .shutdown_timeout(5)
            .run();
            tracing::info!(bind = %admin_bind, "metrics listener");
            Some(actix_web::rt::spawn(server))
        }
        None => None,
    };
    let server = actix_web::HttpServer::new(move || build_app(state.clone()))
        .bind(&bind)?
        .shutdown_timeout(25)
        .run();
    tracing::info!(
        %bind,
        payment_provider = state_provider,
        "cofund is listening"
    );
    server.await?;
    if let Some(admin) = admin {
        admin.abort();
    }
    let _ = stop_tx.send(true);
    let _ = scheduler.await;
    tracing::info!("cofund stopped");
    Ok(())
}
