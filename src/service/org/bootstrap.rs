//! First start and the command line's provisioning: orgs, users, pages, tokens.

use crate::app::App;
use crate::auth::password;
use crate::auth::token::{PlainToken, TokenKind};
use crate::domain::types::{self, Email, Key};
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::service::org::pages::{self, NewPageInput};
use crate::store;

/// What first start created; the password is shown once and never stored in clear.
pub struct FirstStart {
    pub admin_email: String,
    pub admin_password: String,
    pub page_prefix: String,
}

/// On an empty database: an org, an admin with a one-time password, and page `demo`, in one
/// transaction (a crash leaves nothing half made). `None` when the database already has an org,
/// including when another instance bootstrapped it a moment earlier.
pub async fn first_start(app: &App) -> Result<Option<FirstStart>> {
    if store::orgs::count_orgs(&app.db.pool).await? > 0 {
        return Ok(None);
    }
    let pw = random_password(app);
    let hash = password::hash(pw.clone()).await;
    let page = pages::prepare(NewPageInput {
        name: "Demo Status".into(),
        url_prefix: "demo".into(),
        internal_key: None,
        visibility: None,
        viewer_password: None,
    })
    .await?;
    let email = "admin@example.com";
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if store::orgs::count_orgs(&mut *tx).await? > 0 {
        return Ok(None);
    }
    let org_id = match store::orgs::insert_org(&mut *tx, "Demo Org", "demo", now).await {
        Ok(id) => id,
        Err(crate::store::StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let user_id = store::users::insert_user(&mut *tx, email, "Admin", &hash, now).await?;
    store::members::upsert(&mut *tx, store::members::Group::Org(org_id), user_id, "org_admin", now).await?;
    pages::insert_prepared(&mut tx, &Actor::system("system"), org_id, &page, now).await?;
    tx.commit().await?;
    Ok(Some(FirstStart { admin_email: email.into(), admin_password: pw, page_prefix: "demo".into() }))
}

/// Creates an org.
pub async fn create_org(app: &App, name: &str, slug: &str) -> Result<i64> {
    let name = types::name(name, 200).map_err(Error::invalid("name"))?;
    let slug = Key::parse(slug).map_err(Error::invalid("slug"))?;
    Ok(store::orgs::insert_org(&app.db.pool, &name, slug.as_str(), app.now()).await?)
}

/// Creates a user with a password.
pub async fn create_user(app: &App, email: &str, name: &str, pw: &str) -> Result<i64> {
    let email = Email::parse(email).map_err(Error::invalid("email"))?;
    let name = types::name(name, 200).map_err(Error::invalid("name"))?;
    crate::service::credentials::sessions::check_new_password(pw)?;
    let hash = password::hash(pw.to_string()).await;
    Ok(store::users::insert_user(&app.db.pool, email.as_str(), &name, &hash, app.now()).await?)
}

/// Makes an account a member of an org (the operator's `user create --org`; tenants invite).
pub async fn add_to_org(app: &App, org_id: i64, user_id: i64, role: &str) -> Result<()> {
    Ok(store::members::upsert(&app.db.pool, store::members::Group::Org(org_id), user_id, role, app.now()).await?)
}

/// A random password for accounts created without one (shown once).
pub fn random_password(app: &App) -> String {
    let t: PlainToken = app.new_token(TokenKind::Session);
    t.expose()[4..24].to_string()
}
