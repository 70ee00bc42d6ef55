//! Invitations: accounts are created only by their owner.
//!
//! Adding someone who is not yet a member of the org mails them a single-use, expiring link
//! (`/admin/invite#token=sbi_…`, the token in the fragment like the magic links). Through it the
//! owner of the address accepts and, when the address has no account yet, chooses their own name
//! and password. No tenant ever sets a password for anyone, and the answer to an invitation is the
//! same whether or not the address has an account.

use crate::app::App;
use crate::auth::password;
use crate::auth::policy::{OrgRole, PageRole};
use crate::auth::token::{PlainToken, TokenKind};
use crate::clock::DAY;
use crate::domain::html::esc;
use crate::domain::types::{self, Email};
use crate::service::access::{self, Refusal};
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::service::org::member_scope::Scope;
use crate::store;
use crate::store::invitations::{self as sql, InvitationRow, NewInvitation};
use crate::store::outbox::{enqueue_mail, NewMessage};
use crate::store::users::UserRow;
use crate::store::Tx;

/// How long an invitation link stays valid.
pub const INVITATION_LIFETIME: i64 = 7 * DAY;
/// Invitations an org may have waiting at once (each one is a mail to an address the org chose).
pub const MAX_PENDING_PER_ORG: i64 = 200;
/// Invitation mails one org may send to one address in a day (re-inviting replaces the link).
pub const MAX_MAILS_PER_ADDRESS_PER_DAY: i64 = 3;
/// Invitation mails one org may send in a day.
pub const MAX_MAILS_PER_ORG_PER_DAY: i64 = 500;

/// Issues an invitation in the caller's transaction (replacing any pending one for the same
/// address and scope) and queues the mail that carries its link.
pub(super) async fn issue(
    tx: &mut Tx,
    app: &App,
    actor: &Actor,
    scope: Scope<'_>,
    email: &Email,
    role: &str,
    now: i64,
) -> Result<InvitationRow> {
    let org_id = scope.org_id();
    // Each invitation is a mail to an address the org chose: bound how often, so that no org can
    // use invitations to flood someone's mailbox.
    for (to, most) in [(Some(email.as_str()), MAX_MAILS_PER_ADDRESS_PER_DAY), (None, MAX_MAILS_PER_ORG_PER_DAY)] {
        let (made, oldest) = sql::count_made_since(&mut **tx, org_id, to, now - DAY).await?;
        if made >= most {
            let wait = oldest.unwrap_or(now) + DAY - now;
            return Err(Error::TooMany { retry_after: (wait.max(1000) as u64).div_ceil(1000) });
        }
    }
    let replaced = sql::revoke_pending_for(&mut **tx, org_id, scope.page_id(), email.as_str(), now).await?;
    sql::drop_unsent_mail(&mut **tx, &replaced, now).await?;
    if replaced.is_empty() && sql::count_pending(&mut **tx, org_id, now).await? >= MAX_PENDING_PER_ORG {
        return Err(Error::limit(
            None,
            format!(
                "an org may have at most {MAX_PENDING_PER_ORG} pending invitations: revoke some or wait for answers"
            ),
        ));
    }
    let secret = app.new_token(TokenKind::Invite);
    let new = NewInvitation {
        org_id,
        page_id: scope.page_id(),
        email: email.as_str(),
        role,
        token_hash: &secret.hash().to_hex(),
        invited_by: &actor.name,
        expires_at: now + INVITATION_LIFETIME,
    };
    let row = sql::insert(&mut **tx, &new, now).await?;
    let org = store::orgs::org_by_id(&mut **tx, org_id).await?.ok_or(Error::NotFound("org"))?;
    queue_mail(tx, app, &row, &org.name, scope, &secret, now).await?;
    let detail = serde_json::json!({"email": email.as_str(), "role": role, "invitation_id": row.id});
    audit::record(tx, actor, scope.event("member.invited", None, detail), now).await?;
    Ok(row)
}

async fn queue_mail(
    tx: &mut Tx,
    app: &App,
    row: &InvitationRow,
    org_name: &str,
    scope: Scope<'_>,
    secret: &PlainToken,
    now: i64,
) -> Result<()> {
    let link = format!("{}/admin/invite#token={}", app.config.admin_origin(), secret.expose());
    let place = match scope {
        Scope::Org(_) => org_name.to_string(),
        Scope::Page(p) => format!("the status page {} of {org_name}", p.name),
    };
    let intro = format!("An administrator invited you to join {place} on StatiBeat as {}.", role_words(&row.role));
    let after = "Accept within 7 days. If you did not expect this, ignore this message: nothing changes, and no \
                 account is made for you.";
    let text = format!("{intro}\n\n{link}\n\n{after}\n");
    let html = format!(
        "<p>{}</p><p><a href=\"{}\">Accept the invitation</a></p><p>{}</p>",
        esc(&intro),
        esc(&link),
        esc(after)
    );
    let message = NewMessage {
        dedupe_key: &format!("invitation:{}", row.id),
        recipient: &row.email,
        subject: &format!("You are invited to {org_name} on StatiBeat"),
        body_text: &text,
        body_html: &html,
        headers: "{}",
    };
    enqueue_mail(&mut **tx, scope.page_id(), &message, now).await?;
    Ok(())
}

fn role_words(role: &str) -> &'static str {
    match role {
        "org_admin" => "an org admin",
        "org_member" => "an org member",
        "page_admin" => "a page admin",
        "page_manager" => "a page manager",
        _ => "a page viewer",
    }
}

/// The org's invitations (a page's only, for a page scope), newest first, below `before`.
pub async fn list(app: &App, scope: Scope<'_>, before: i64, limit: i64) -> Result<Vec<InvitationRow>> {
    Ok(sql::list(&app.db.pool, scope.org_id(), scope.page_id(), before, limit).await?)
}

async fn find(app: &App, scope: Scope<'_>, id: i64) -> Result<InvitationRow> {
    sql::by_id(&app.db.pool, scope.org_id(), id)
        .await?
        .filter(|i| scope.page_id().is_none() || i.page_id == scope.page_id())
        .ok_or(Error::NotFound("invitation"))
}

/// One invitation of the scope.
pub async fn get(app: &App, scope: Scope<'_>, id: i64) -> Result<InvitationRow> {
    find(app, scope, id).await
}

/// Withdraws a pending invitation: its link stops working.
pub async fn revoke(app: &App, actor: &Actor, scope: Scope<'_>, id: i64) -> Result<InvitationRow> {
    let row = find(app, scope, id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if !sql::revoke(&mut *tx, row.id, now).await? {
        return Err(Error::Conflict {
            code: "not_pending",
            message: "this invitation was already answered or withdrawn".into(),
        });
    }
    sql::drop_unsent_mail(&mut *tx, &[row.id], now).await?;
    let detail = serde_json::json!({"email": row.email, "invitation_id": row.id});
    audit::record(&mut tx, actor, scope.event("member.invitation_revoked", None, detail), now).await?;
    tx.commit().await?;
    find(app, scope, id).await
}

/// What the holder of an invitation link is invited to.
pub struct Invitee {
    pub invitation: InvitationRow,
    pub org_name: String,
    pub page_name: Option<String>,
    /// Whether the address already has an account (the link's holder owns the address, so this
    /// tells them only about themselves): if so they accept without choosing a password.
    pub account_exists: bool,
}

/// Reads the invitation a link token names, without using it.
pub async fn lookup(app: &App, raw: &str, ip: &str) -> Result<Invitee> {
    let row = pending(app, raw, ip).await?;
    describe(app, row).await
}

async fn describe(app: &App, invitation: InvitationRow) -> Result<Invitee> {
    let pool = &app.db.pool;
    let org_name = store::orgs::org_by_id(pool, invitation.org_id).await?.ok_or(Error::NotFound("org"))?.name;
    let page_name = match invitation.page_id {
        Some(id) => Some(store::pages::page_by_id(pool, id).await?.ok_or(Error::NotFound("page"))?.name),
        None => None,
    };
    let account_exists = store::users::user_by_email(pool, &invitation.email).await?.is_some();
    Ok(Invitee { invitation, org_name, page_name, account_exists })
}

/// The pending invitation of a presented link token; every other answer is a refused credential.
async fn pending(app: &App, raw: &str, ip: &str) -> Result<InvitationRow> {
    let refuse = |why| access::refuse(app, why, "invitation", None, ip);
    let token = PlainToken::parse_kind(raw, TokenKind::Invite).map_err(|_| refuse(Refusal::Malformed))?;
    let row = sql::by_hash(&app.db.pool, &token.hash().to_hex()).await?.ok_or_else(|| refuse(Refusal::Unknown))?;
    match row.status(app.now()) {
        "pending" => Ok(row),
        "expired" => Err(refuse(Refusal::Expired)),
        _ => Err(refuse(Refusal::Revoked)),
    }
}

/// A new account's name and password, chosen by the invitee.
pub struct NewAccount {
    pub name: String,
    pub password: String,
}

/// What accepting gave.
pub struct Accepted {
    pub invitee: Invitee,
    pub user: UserRow,
    /// The role the user holds in the invitation's scope now: the invited one, or a higher one
    /// they held already.
    pub role: String,
    /// True when accepting made the account (the invitee chose its password just now).
    pub account_created: bool,
}

/// Accepts an invitation once: joins the org (and page) with the invited role, creating the
/// account first when the address has none. A higher role someone already holds is kept.
pub async fn accept(app: &App, raw: &str, ip: &str, account: Option<NewAccount>) -> Result<Accepted> {
    let row = pending(app, raw, ip).await?;
    // Hashing is slow: do it before the transaction, and only for well-formed input.
    let new_account = match account {
        Some(a) => {
            let name = types::name(&a.name, 200).map_err(Error::invalid("name"))?;
            crate::service::credentials::sessions::check_new_password(&a.password)
                .map_err(|_| Error::field("password", "must be 8 to 1024 characters"))?;
            Some((name, password::hash(a.password).await))
        }
        None => None,
    };
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if !sql::claim(&mut *tx, row.id, now).await? {
        return Err(access::refuse(app, Refusal::Revoked, "invitation", None, ip));
    }
    let existing = store::users::user_by_email(&mut *tx, &row.email).await?;
    let (user_id, created) = match (existing, new_account) {
        (Some(u), None) => (u.id, false),
        (Some(_), Some(_)) => {
            return Err(Error::Conflict {
                code: "account_exists",
                message: "this address already has an account: accept without a name and password".into(),
            })
        }
        (None, Some((name, hash))) => (store::users::insert_user(&mut *tx, &row.email, &name, &hash, now).await?, true),
        (None, None) => return Err(Error::field("password", "choose a name and a password for your new account")),
    };
    let role = join(&mut tx, &row, user_id, now).await?;
    let actor = Actor { kind: "invitation", id: Some(user_id), name: row.email.clone(), ip: ip.to_string() };
    let event = Event {
        org_id: Some(row.org_id),
        page_id: row.page_id,
        action: "member.invitation_accepted",
        target_kind: "user",
        target_id: Some(user_id),
        detail: serde_json::json!({"invitation_id": row.id, "role": role, "account_created": created}),
    };
    audit::record(&mut tx, &actor, event, now).await?;
    tx.commit().await?;
    let user = store::users::user_by_id(&app.db.pool, user_id).await?.ok_or(Error::NotFound("user"))?;
    let invitee = describe(app, sql::by_id(&app.db.pool, row.org_id, row.id).await?.unwrap_or(row)).await?;
    Ok(Accepted { invitee, user, role, account_created: created })
}

/// Gives the invited role, or keeps a higher one the user holds already (accepting never lowers
/// a role); a page invitation also makes the user an org member if needed. Returns the role held.
async fn join(tx: &mut Tx, row: &InvitationRow, user_id: i64, now: i64) -> Result<String> {
    let org_role = store::members::role(&mut **tx, store::members::Group::Org(row.org_id), user_id).await?;
    let Some(page_id) = row.page_id else {
        let held = org_role.as_deref().and_then(OrgRole::parse);
        return match (held, OrgRole::parse(&row.role)) {
            (Some(held), Some(invited)) if held >= invited => Ok(held.as_str().to_string()),
            _ => {
                store::members::upsert(&mut **tx, store::members::Group::Org(row.org_id), user_id, &row.role, now)
                    .await?;
                Ok(row.role.clone())
            }
        };
    };
    if org_role.is_none() {
        store::members::upsert(
            &mut **tx,
            store::members::Group::Org(row.org_id),
            user_id,
            OrgRole::OrgMember.as_str(),
            now,
        )
        .await?;
    }
    let held = store::members::role(&mut **tx, store::members::Group::Page(page_id), user_id).await?;
    match (held.as_deref().and_then(PageRole::parse), PageRole::parse(&row.role)) {
        (Some(held), Some(invited)) if held >= invited => Ok(held.as_str().to_string()),
        _ => {
            store::members::upsert(&mut **tx, store::members::Group::Page(page_id), user_id, &row.role, now).await?;
            Ok(row.role.clone())
        }
    }
}
