//! The `statibeat` command: subcommands, nothing else.

use crate::app::App;
use crate::auth::policy::Access;
use crate::clock::Clock;
use crate::config::{Config, ConfigArgs};
use crate::service::audit::Actor;
use crate::service::credentials::tokens::{self, Holder, NewToken, TokenScope};
use crate::service::directory;
use crate::service::org::{bootstrap, pages};
use crate::store::Db;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "statibeat", version, about = "Self-hostable, multi-tenant status pages")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates and, on an empty database, creates a demo org and page).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Manage orgs.
    Org {
        #[command(subcommand)]
        cmd: OrgCmd,
    },
    /// Manage pages.
    Page {
        #[command(subcommand)]
        cmd: PageCmd,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Read the mail outbox (with no SMTP server configured, mail waits there).
    Mail {
        #[command(subcommand)]
        cmd: MailCmd,
    },
}

#[derive(Subcommand)]
enum MailCmd {
    /// List the newest messages, with their text bodies.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; prints a generated password once when --password is not given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Org slug to join, with --role.
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value = "org_member")]
        role: String,
    },
}

#[derive(Subcommand)]
enum OrgCmd {
    /// Create an org.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
    },
}

#[derive(Subcommand)]
enum PageCmd {
    /// Create a page in an org.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        url_prefix: String,
        #[arg(long, default_value = "public")]
        visibility: String,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create an API token for a page (--page <url_prefix>) or an org (--org <slug>); prints it once.
    Create {
        #[arg(long)]
        page: Option<String>,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "read")]
        permission: String,
        #[arg(long)]
        role_key: String,
        #[arg(long)]
        expires_at: Option<String>,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr; stdout carries only what the operator asked for (first-start banner,
    // secrets shown once by `user create` / `token create`).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn open(config: &Config) -> Result<Db, String> {
    let db = Db::connect(&config.database_url).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    Ok(db)
}

fn svc(e: crate::service::Error) -> String {
    format!("{e:?}")
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    let db = open(&config).await?;
    let app = App::new(config.clone(), db, Clock::System);
    let cli_actor = Actor::system("cli");
    match command {
        Command::Serve => serve(app).await,
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::User { cmd: UserCmd::Create { email, name, password, org, role } } => {
            // Check the org and role before creating anything.
            let org = match org {
                Some(slug) => {
                    let org = directory::org_by_slug(&app, &slug).await.map_err(svc)?;
                    crate::auth::policy::OrgRole::parse(&role).ok_or("role must be org_member or org_admin")?;
                    Some(org.ok_or("no such org")?)
                }
                None => None,
            };
            let generated = password.is_none();
            let pw = password.unwrap_or_else(|| bootstrap::random_password(&app));
            let id = bootstrap::create_user(&app, &email, &name, &pw).await.map_err(svc)?;
            if let Some(org) = org {
                bootstrap::add_to_org(&app, org.id, id, &role).await.map_err(svc)?;
            }
            println!("user {id} created: {email}");
            if generated {
                println!("password (shown once): {pw}");
            }
            Ok(())
        }
        Command::Mail { cmd: MailCmd::List { limit } } => {
            let rows = crate::service::readers::outbox::recent(&app, limit.clamp(1, 1000)).await.map_err(svc)?;
            if rows.is_empty() {
                println!("the outbox is empty");
            }
            for m in rows {
                println!(
                    "#{} {} {} to {} [{}; {} attempts]",
                    m.id,
                    crate::clock::rfc3339(m.created_at),
                    m.channel,
                    m.recipient,
                    m.state,
                    m.attempts
                );
                if !m.last_error.is_empty() {
                    println!("Last error: {}", m.last_error);
                }
                println!("Subject: {}\n\n{}\n", m.subject, m.body_text.trim_end());
            }
            Ok(())
        }
        Command::Org { cmd: OrgCmd::Create { name, slug } } => {
            let id = bootstrap::create_org(&app, &name, &slug).await.map_err(svc)?;
            println!("org {id} created: {slug}");
            Ok(())
        }
        Command::Page { cmd: PageCmd::Create { org, name, url_prefix, visibility } } => {
            let org = directory::org_by_slug(&app, &org).await.map_err(svc)?.ok_or("no such org")?;
            let input = pages::NewPageInput {
                name,
                url_prefix,
                internal_key: None,
                visibility: Some(visibility),
                viewer_password: None,
            };
            let p = pages::create(&app, &cli_actor, org.id, input).await.map_err(svc)?;
            println!(
                "page {} created: {}",
                p.id,
                app.config.origin_for(&format!("{}.{}", p.url_prefix, app.config.base_domain))
            );
            Ok(())
        }
        Command::Token { cmd: TokenCmd::Create { page, org, name, permission, role_key, expires_at } } => {
            let scope = match (page, org) {
                (Some(prefix), None) => {
                    let p = directory::live_page_by_prefix(&app, &prefix).await.map_err(svc)?.ok_or("no such page")?;
                    TokenScope::Page { org_id: p.org_id, page_id: p.id }
                }
                (None, Some(slug)) => {
                    let o = directory::org_by_slug(&app, &slug).await.map_err(svc)?.ok_or("no such org")?;
                    TokenScope::Org { org_id: o.id }
                }
                _ => return Err("give exactly one of --page or --org".into()),
            };
            let input = NewToken {
                name,
                description: String::new(),
                notes: String::new(),
                permission,
                role_key,
                terraform_managed: false,
                expires_at,
            };
            let (row, secret) = tokens::create(
                &app,
                &cli_actor,
                Holder { grant: Access::ManageAccess, expires_at: None },
                scope,
                input,
            )
            .await
            .map_err(svc)?;
            println!("token {} created; it is shown once:\n{}", row.id, secret.expose());
            Ok(())
        }
    }
}

async fn serve(app: App) -> Result<(), String> {
    crate::auth::password::warm_up();
    if let Some(first) = bootstrap::first_start(&app).await.map_err(svc)? {
        let admin = app.config.admin_origin();
        let demo = app.config.origin_for(&format!("{}.{}", first.page_prefix, app.config.base_domain));
        println!("\nFirst start: created org 'demo', its admin and page '{}'.", first.page_prefix);
        println!("  admin email:    {}", first.admin_email);
        println!("  admin password: {}   (shown once; it is stored only as a hash)", first.admin_password);
        println!("  admin host:     {admin}/");
        println!("  demo page:      {demo}/   (also {admin}/status/{}/)\n", first.page_prefix);
    }
    let listener = tokio::net::TcpListener::bind(app.config.listen)
        .await
        .map_err(|e| format!("listen {}: {e}", app.config.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(listen = %bound, "serving");
    // Scripts (and the tests, which listen on port 0) read the bound address from this line.
    println!("listening on {bound}");
    crate::jobs::start(app.clone());
    let limits = app.config.connections;
    let router = crate::http::router(app);
    crate::http::front::server::serve(listener, router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
