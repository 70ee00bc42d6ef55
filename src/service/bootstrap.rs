//! First start and the command line's provisioning: orgs, users, pages, tokens.

use super::audit::Actor;
use super::error::{Error, Result};
use super::pages::{self, NewPageInput};
use crate::app::App;
use crate::auth::password;
use crate::auth::token::{PlainToken, TokenKind};
use crate::domain::types::{self, Email, Key};
use crate::store::tenancy;

/// What first start created; the password is shown once and never stored in clear.
pub struct FirstStart {
    pub admin_email: String,
    pub admin_password: String,
    pub page_prefix: String,
}

/// On an empty database: an org, an admin with a one-time password, and page `demo`.
pub async fn first_start(app: &App) -> Result<Option<FirstStart>> {
    if tenancy::count_orgs(&app.db.pool).await? > 0 {
        return Ok(None);
    }
    let pw = random_password(app);
    let org_id = create_org(app, "Demo Org", "demo").await?;
    let email = "admin@example.com";
    let user_id = create_user(app, email, "Admin", &pw).await?;
    let now = app.now();
    tenancy::upsert_org_member(&app.db.pool, org_id, user_id, "org_admin", now).await?;
    let actor = Actor::system("system");
    let input = NewPageInput {
        name: "Demo Status".into(),
        url_prefix: "demo".into(),
        internal_key: None,
        visibility: None,
        viewer_password: None,
    };
    pages::create(app, &actor, org_id, input).await?;
    Ok(Some(FirstStart { admin_email: email.into(), admin_password: pw, page_prefix: "demo".into() }))
}

/// Creates an org.
pub async fn create_org(app: &App, name: &str, slug: &str) -> Result<i64> {
    let name = types::name(name, 200).map_err(Error::invalid("name"))?;
    let slug = Key::parse(slug).map_err(Error::invalid("slug"))?;
    Ok(tenancy::insert_org(&app.db.pool, &name, slug.as_str(), app.now()).await?)
}

/// Creates a user with a password.
pub async fn create_user(app: &App, email: &str, name: &str, pw: &str) -> Result<i64> {
    let email = Email::parse(email).map_err(Error::invalid("email"))?;
    let name = types::name(name, 200).map_err(Error::invalid("name"))?;
    super::sessions::check_new_password(pw)?;
    let hash = password::hash(pw.to_string()).await;
    Ok(tenancy::insert_user(&app.db.pool, email.as_str(), &name, &hash, app.now()).await?)
}

/// A random password for accounts created without one (shown once).
pub fn random_password(app: &App) -> String {
    let t: PlainToken = app.new_token(TokenKind::Session);
    t.expose()[4..24].to_string()
}
