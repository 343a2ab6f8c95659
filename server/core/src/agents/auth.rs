//! Who is asking: signing agents in (with rate limits that give nothing away) and turning a
//! session's agent id back into an active [`Agent`] on every request.

use crate::agents::sessions::DbSessionStore;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::agents::Agent;
use crate::agents;
use crate::platform::context::AppContext;
use crate::error::{Error, Result};
use crate::agents::password;
use crate::platform::rate_limit::{Backoff, RateLimiter, RetryAfter};

/// Sign-in throttles: growing delays per account and client address pair, so that a stranger
/// guessing one account slows only themselves (never a hard lock of the account that anyone
/// could trigger), and a cap on failures per address across accounts.
#[derive(Debug)]
pub struct SignInLimits {
    per_pair: Backoff,
    per_ip: RateLimiter,
}

impl SignInLimits {
    /// The window the per-address limit counts over, and the longest delay for a pair.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);
    /// Failures per account and address before each further one doubles the wait (1 s, 2 s, ...).
    pub const FREE_PER_PAIR: u32 = 5;
    /// Failures per IP address, across accounts, before sign-in is refused for the window.
    pub const PER_IP: usize = 20;
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_pair: Backoff::new(Self::FREE_PER_PAIR, Self::WINDOW),
            per_ip: RateLimiter::new(Self::PER_IP, Self::WINDOW),
        }
    }
}

/// Checks an email and password. Unknown emails, wrong passwords and deactivated accounts all
/// fail with [`Error::InvalidCredentials`] after the same amount of work; too many failures from
/// one IP, or too many in a row for one account from one IP, fail with [`Error::RateLimited`]
/// before any password is checked.
pub async fn sign_in(ctx: &AppContext, email: &str, password: &str, ip: IpAddr) -> Result<Agent> {
    let limits = ctx.part::<SignInLimits>();
    let account = email.trim().to_lowercase();
    let ip = address_key(ip);
    let pair = format!("{account} {ip}");
    let now = Instant::now();
    limits
        .per_ip
        .check(&ip, now)
        .and_then(|()| limits.per_pair.check(&pair, now))
        .map_err(|wait: RetryAfter| Error::RateLimited { retry_after_secs: wait.secs() })?;

    let found = agents::find_credentials(ctx.db(), &account).await?;
    let (agent, hash) = found.map_or((None, None), |(a, h)| (Some(a), Some(h)));
    let password_ok = password::verify(password.to_owned(), hash).await?;
    match agent {
        Some(agent) if password_ok && agent.active => {
            limits.per_pair.reset(&pair);
            Ok(agent)
        }
        _ => {
            limits.per_ip.record(&ip, now);
            limits.per_pair.record(&pair, now);
            Err(Error::InvalidCredentials)
        }
    }
}

/// The key limits count an address under: an IPv6 address by its /64 network (one machine
/// usually holds a whole /64), an IPv4 address as it is.
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The active agent still signed in on the stored session `session_id`: for connections that
/// outlive the request that opened them (live sockets), checked again with current data.
pub async fn still_signed_in(ctx: &AppContext, session_id: &str, agent_id: i64) -> Result<Agent> {
    match ctx.part::<DbSessionStore>().agent_of(session_id).await? {
        Some(id) if id == agent_id => session_agent(ctx, agent_id).await,
        _ => Err(Error::Unauthenticated),
    }
}

/// The active agent behind a session, or [`Error::Unauthenticated`] if the account is gone or
/// deactivated. Called on every authenticated request, so deactivation takes effect at once.
pub async fn session_agent(ctx: &AppContext, agent_id: i64) -> Result<Agent> {
    match agents::find(ctx.db(), agent_id).await? {
        Some(agent) if agent.active => Ok(agent),
        _ => Err(Error::Unauthenticated),
    }
}
