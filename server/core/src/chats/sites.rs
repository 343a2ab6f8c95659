//! Widget sites and their visitors: the websites that embed the chat widget (admins manage them),
//! and who is on the other end of a widget.
//!
//! A visitor holds an opaque random token (only its hash is stored) that ties the widget to one
//! `chat_visitors` row and its customer profile. A host site that knows its user proves it with
//! `HMAC-SHA256(site secret, user id)`: a valid hash links the visitor to that user's profile, so
//! their chats follow them across devices. Without a valid hash a user id is never trusted: under
//! enforcement the widget is refused, otherwise the visitor stays anonymous and separate.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;

use crate::agents::{Agent, Email, PersonName};
use crate::platform::audit::{self, AuditEvent};
use crate::chats::WidgetSite;
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::error::{Error, FieldError, Result};
use crate::agents::password::{random_token, token_hash as hash};
use crate::platform::time::Timestamp;

/// A visitor, as the widget socket and the chat services know them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    /// Database id.
    pub id: i64,
    /// Their widget site.
    pub site_id: i64,
    /// Their customer profile.
    pub contact_id: i64,
    /// The host site's user id, when verified.
    pub external_id: Option<String>,
    /// The name on their profile.
    pub name: String,
}

impl Visitor {
    /// Their name, once they gave one (or their host site did).
    pub fn known_name(&self) -> Option<&str> {
        (self.name != DEFAULT_NAME).then_some(self.name.as_str())
    }
}

/// What the widget says about who is there when it starts.
#[derive(Clone, Debug, Default)]
pub struct Hello {
    /// The token the widget stored, if any.
    pub token: Option<String>,
    /// The host site's user id (`setUser`).
    pub user_id: Option<String>,
    /// `HMAC-SHA256(site secret, user id)` in hex.
    pub user_hash: Option<String>,
    /// A name (from `setUser` or the pre-chat form).
    pub name: Option<String>,
    /// An email (from `setUser` or the pre-chat form).
    pub email: Option<String>,
}

/// The visitor a widget now speaks for, and the token it keeps (new or unchanged).
#[derive(Clone, Debug)]
pub struct VisitorSession {
    /// The token to store and send on the socket handshake.
    pub token: String,
    /// Who it is.
    pub visitor: Visitor,
}

/// A site's settings as an admin submits them, validated.
#[derive(Clone, Debug)]
pub struct SiteSettings {
    /// A name for admins.
    pub name: PersonName,
    /// Origins allowed to embed the widget.
    pub allowed_origins: Vec<String>,
    /// Whether `setUser` must carry a valid hash.
    pub enforce_identity: bool,
    /// The first thing the widget says.
    pub greeting: String,
    /// Whether the pre-chat form asks for an email.
    pub ask_email: bool,
}

impl SiteSettings {
    /// Validates a submitted form; `origins` is one origin per line.
    pub fn parse(
        name: &str,
        origins: &str,
        enforce_identity: bool,
        greeting: &str,
        ask_email: bool,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = PersonName::parse(name)
            .map_err(|e| errors.push(FieldError::new("name", e.message)))
            .ok();
        let mut allowed_origins = Vec::new();
        for line in origins.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match parse_origin(line) {
                Some(origin) => allowed_origins.push(origin),
                None => {
                    errors.push(FieldError::new(
                        "allowed_origins",
                        format!("“{line}” is not an origin like https://shop.example.com"),
                    ));
                    break;
                }
            }
        }
        if greeting.chars().count() > 500 {
            errors.push(FieldError::new("greeting", "Keep the greeting under 500 characters."));
        }
        match name {
            Some(name) if errors.is_empty() => Ok(Self {
                name,
                allowed_origins,
                enforce_identity,
                greeting: greeting.trim().to_owned(),
                ask_email,
            }),
            _ => Err(errors),
        }
    }
}

/// `scheme://host[:port]` with nothing after it, lower-cased; `None` if it is not one.
pub fn parse_origin(input: &str) -> Option<String> {
    let origin = input.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let valid_host = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    (matches!(scheme, "http" | "https") && valid_host).then_some(origin)
}

/// Who may manage widget sites: admins.
pub fn authorize(actor: &Agent) -> Result<()> {
    if actor.is_admin() { Ok(()) } else { Err(Error::Forbidden) }
}

type SiteRow = (i64, String, String, String, bool, String, String, bool);
const SITE_COLUMNS: &str = "id, name, public_token, identity_secret, enforce_identity, allowed_origins, greeting, ask_email";

fn site(row: SiteRow) -> WidgetSite {
    let (id, name, public_token, identity_secret, enforce_identity, origins, greeting, ask_email) =
        row;
    WidgetSite {
        id,
        name,
        public_token,
        identity_secret,
        enforce_identity,
        allowed_origins: origins.lines().map(str::to_owned).collect(),
        greeting,
        ask_email,
    }
}

/// Every widget site (admins only).
pub async fn list(ctx: &AppContext, actor: &Agent) -> Result<Vec<WidgetSite>> {
    authorize(actor)?;
    let sql = format!("SELECT {SITE_COLUMNS} FROM widget_sites ORDER BY name, id");
    let rows: Vec<SiteRow> = on_pool!(ctx.db(), |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(site).collect())
}

/// Creates a site with a fresh public token and identity secret.
pub async fn create(ctx: &AppContext, actor: &Agent, settings: SiteSettings) -> Result<WidgetSite> {
    authorize(actor)?;
    let now = Timestamp::now();
    let id: i64 = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
        "INSERT INTO widget_sites (name, public_token, identity_secret, enforce_identity, allowed_origins, greeting, ask_email, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id"
    )
    .bind(settings.name.as_str())
    .bind(random_token(18))
    .bind(random_token(32))
    .bind(settings.enforce_identity)
    .bind(settings.allowed_origins.join("\n"))
    .bind(&settings.greeting)
    .bind(settings.ask_email)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
        audit::record(&mut *tx, &site_event(actor, "widget_site.created", id)).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }
    .await
    })?;
    get(ctx, actor, id).await
}

/// Changes a site's settings (its token and secret stay).
pub async fn update(
    ctx: &AppContext,
    actor: &Agent,
    id: i64,
    settings: SiteSettings,
) -> Result<WidgetSite> {
    authorize(actor)?;
    let changed = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let changed = sqlx::query(
        "UPDATE widget_sites SET name = $2, enforce_identity = $3, allowed_origins = $4, greeting = $5, ask_email = $6, updated_at = $7 WHERE id = $1"
    )
    .bind(id)
    .bind(settings.name.as_str())
    .bind(settings.enforce_identity)
    .bind(settings.allowed_origins.join("\n"))
    .bind(&settings.greeting)
    .bind(settings.ask_email)
    .bind(Timestamp::now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
        if changed > 0 {
            audit::record(&mut *tx, &site_event(actor, "widget_site.updated", id)).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed)
    }
    .await
    })?;
    if changed == 0 {
        return Err(Error::NotFound("widget site"));
    }
    get(ctx, actor, id).await
}

fn site_event<'a>(actor: &Agent, action: &'a str, id: i64) -> AuditEvent<'a> {
    AuditEvent {
        actor_id: Some(actor.id),
        action,
        subject_type: "widget_site",
        subject_id: id,
        detail: serde_json::json!({}),
    }
}

/// One site (admins only).
pub async fn get(ctx: &AppContext, actor: &Agent, id: i64) -> Result<WidgetSite> {
    authorize(actor)?;
    let sql = format!("SELECT {SITE_COLUMNS} FROM widget_sites WHERE id = $1");
    let row: Option<SiteRow> =
        on_pool!(ctx.db(), |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    row.map(site).ok_or(Error::NotFound("widget site"))
}

/// The site a public token names (public: the token is in every page that embeds the widget).
pub async fn by_public_token(db: &Db, token: &str) -> Result<WidgetSite> {
    let sql = format!("SELECT {SITE_COLUMNS} FROM widget_sites WHERE public_token = $1");
    let row: Option<SiteRow> =
        on_pool!(db, |pool| sqlx::query_as(&sql).bind(token).fetch_optional(pool).await)?;
    row.map(site).ok_or(Error::NotFound("widget site"))
}

/// Whether a page on `origin` may embed the site's widget or open its socket.
pub fn allows_origin(site: &WidgetSite, origin: &str) -> bool {
    parse_origin(origin)
        .is_some_and(|origin| site.allowed_origins.contains(&origin))
}

/// The hash a host site sends with `setUser`: hex `HMAC-SHA256(secret, user_id)`.
pub fn identity_hash(secret: &str, user_id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `hash` proves `user_id` for this site, compared in constant time.
fn verified(site: &WidgetSite, user_id: &str, hash: Option<&str>) -> bool {
    let Some(hash) = hash.and_then(|h| decode_hex(h.trim())) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(site.identity_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(user_id.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// Starts or resumes a widget visitor on the site `site_token`.
///
/// - A verified `user_id` resumes that user's visitor (or makes one on their profile).
/// - An unverified one is refused when the site enforces identity, and ignored otherwise.
/// - Otherwise the stored anonymous token is resumed, or a new anonymous visitor is made.
///
/// New visitors are counted against `ip`'s budget.
pub async fn start_visitor(
    ctx: &AppContext,
    site_token: &str,
    hello: Hello,
    ip: IpAddr,
) -> Result<VisitorSession> {
    let site = by_public_token(ctx.db(), site_token).await?;
    let current = match hello.token.as_deref() {
        Some(token) => visitor_by_token(ctx.db(), &site, token).await.ok(),
        None => None,
    };
    let user_id = hello.user_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
    let verified_user = match user_id {
        Some(id) if verified(&site, id, hello.user_hash.as_deref()) => Some(id.to_owned()),
        Some(_) if site.enforce_identity => {
            return Err(Error::Forbidden);
        }
        _ => None,
    };
    let current = current
        .filter(|visitor| still_present(visitor, verified_user.as_deref(), user_id.is_some()));
    match (current, hello.token, verified_user) {
        (Some(visitor), Some(token), _) => {
            let visitor = remember_details(ctx, visitor, &hello.name, &hello.email).await?;
            Ok(VisitorSession { token, visitor })
        }
        (_, _, Some(user)) => {
            super::ChatRuntime::of(ctx).limits().check_new_visitor(ip)?;
            let contact_id = identity_contact(ctx, &site, &user, &hello.name).await?;
            let session = insert_visitor(ctx.db(), &site, contact_id, Some(user)).await?;
            let visitor = remember_details(ctx, session.visitor, &None, &hello.email).await?;
            Ok(VisitorSession { token: session.token, visitor })
        }
        _ => {
            super::ChatRuntime::of(ctx).limits().check_new_visitor(ip)?;
            let name = hello.name.as_deref().and_then(|n| PersonName::parse(n).ok());
            let contact_id = anonymous_contact(ctx.db(), name.as_ref()).await?;
            let session = insert_visitor(ctx.db(), &site, contact_id, None).await?;
            let visitor = remember_details(ctx, session.visitor, &None, &hello.email).await?;
            Ok(VisitorSession { token: session.token, visitor })
        }
    }
}

/// Whether the widget's stored visitor is still who the page says is there: the same verified
/// user, or anonymous both times, or a verified user on a page that names no user at all.
fn still_present(visitor: &Visitor, verified_user: Option<&str>, names_a_user: bool) -> bool {
    match verified_user {
        Some(user) => visitor.external_id.as_deref() == Some(user),
        None => visitor.external_id.is_none() || !names_a_user,
    }
}

/// The visitor holding `token` on `site`.
pub async fn visitor_by_token(db: &Db, site: &WidgetSite, token: &str) -> Result<Visitor> {
    let row: Option<(i64, i64, Option<String>, String)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT v.id, v.contact_id, v.external_id, c.name FROM chat_visitors v JOIN contacts c ON c.id = v.contact_id
         WHERE v.token_hash = $1 AND v.site_id = $2"
    )
    .bind(hash(token))
    .bind(site.id)
    .fetch_optional(pool)
    .await
    })?;
    let (id, contact_id, external_id, name) = row.ok_or(Error::Unauthenticated)?;
    Ok(Visitor { id, site_id: site.id, contact_id, external_id, name })
}

/// Saves a name or email the visitor typed in the pre-chat form on their own profile. The email
/// is kept as unverified: typing an address proves nothing, so it never links the visitor to the
/// profile that owns it, nor claims it for theirs.
pub(crate) async fn remember_details(
    ctx: &AppContext,
    mut visitor: Visitor,
    name: &Option<String>,
    email: &Option<String>,
) -> Result<Visitor> {
    let name = name
        .as_deref()
        .and_then(|n| PersonName::parse(n).ok())
        .filter(|n| n.as_str() != visitor.name);
    let email = email.as_deref().and_then(|e| Email::parse(e).ok());
    if name.is_none() && email.is_none() {
        return Ok(visitor);
    }
    on_pool!(ctx.db(), |pool| {
        sqlx::query(
        "UPDATE contacts SET name = COALESCE($2, name), unverified_email = COALESCE($3, unverified_email), updated_at = $4 WHERE id = $1"
    )
    .bind(visitor.contact_id)
    .bind(name.as_ref().map(PersonName::as_str))
    .bind(email.as_ref().map(Email::as_str))
    .bind(Timestamp::now())
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    if let Some(name) = name {
        visitor.name = name.as_str().to_owned();
    }
    Ok(visitor)
}

/// The profile of a verified user of the site: linked once, then always the same. Only the user
/// id is signed, so a new user gets a profile of their own; the email they send is stored on it
/// as unverified and never finds an existing profile (whose conversations it would open).
async fn identity_contact(
    ctx: &AppContext,
    site: &WidgetSite,
    user: &str,
    name: &Option<String>,
) -> Result<i64> {
    let db = ctx.db();
    let find = "SELECT contact_id FROM chat_identities WHERE site_id = $1 AND external_id = $2";
    if let Some(id) = on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(find)
        .bind(site.id)
        .bind(user)
        .fetch_optional(pool)
        .await)?
    {
        return crate::customers::canonical_id(db, id).await;
    }
    let name = name.as_deref().and_then(|n| PersonName::parse(n).ok());
    let contact_id = anonymous_contact(db, name.as_ref()).await?;
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO chat_identities (site_id, external_id, contact_id) VALUES ($1, $2, $3) ON CONFLICT (site_id, external_id) DO NOTHING"
    )
    .bind(site.id)
    .bind(user)
    .bind(contact_id)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    let linked = on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(find)
        .bind(site.id)
        .bind(user)
        .fetch_one(pool)
        .await)?;
    Ok(linked)
}

/// The profile name of a visitor who has not said who they are.
const DEFAULT_NAME: &str = "Website visitor";

fn default_name() -> PersonName {
    PersonName::parse(DEFAULT_NAME).expect("a valid name")
}

/// A new profile with no email, for a visitor who has not said who they are.
async fn anonymous_contact(db: &Db, name: Option<&PersonName>) -> Result<i64> {
    let name = name.cloned().unwrap_or_else(default_name);
    let now = Timestamp::now();
    Ok(on_pool!(db, |pool| sqlx::query_scalar(
        "INSERT INTO contacts (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id"
    )
    .bind(name.as_str())
    .bind(now)
    .fetch_one(pool)
    .await)?)
}

async fn insert_visitor(
    db: &Db,
    site: &WidgetSite,
    contact_id: i64,
    external_id: Option<String>,
) -> Result<VisitorSession> {
    let token = random_token(32);
    let now = Timestamp::now();
    let (id, name): (i64, String) = on_pool!(db, |pool| {
        sqlx::query_as(
        "INSERT INTO chat_visitors (site_id, token_hash, contact_id, external_id, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         RETURNING id, (SELECT name FROM contacts WHERE id = $3)"
    )
    .bind(site.id)
    .bind(hash(&token))
    .bind(contact_id)
    .bind(&external_id)
    .bind(now)
    .fetch_one(pool)
    .await
    })?;
    Ok(VisitorSession {
        token,
        visitor: Visitor { id, site_id: site.id, contact_id, external_id, name },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_anything_else_is_refused() {
        assert_eq!(
            parse_origin("HTTPS://Shop.Example.com/"),
            Some("https://shop.example.com".into())
        );
        assert_eq!(parse_origin("http://127.0.0.1:8080"), Some("http://127.0.0.1:8080".into()));
        assert_eq!(parse_origin("https://shop.example.com/path"), None);
        assert_eq!(parse_origin("javascript:alert(1)"), None);
        assert_eq!(parse_origin("*"), None);
    }

    #[test]
    fn the_identity_hash_is_hex_hmac_sha256_of_the_user_id() {
        // RFC 4231 test case 2.
        assert_eq!(
            identity_hash("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let site = WidgetSite {
            id: 1,
            name: "s".into(),
            public_token: "p".into(),
            identity_secret: "Jefe".into(),
            enforce_identity: true,
            allowed_origins: Vec::new(),
            greeting: String::new(),
            ask_email: true,
        };
        let good = identity_hash("Jefe", "user-1");
        assert!(verified(&site, "user-1", Some(&good)));
        assert!(!verified(&site, "user-2", Some(&good)));
        assert!(!verified(&site, "user-1", None));
        assert!(!verified(&site, "user-1", Some("zz")));
    }
}
