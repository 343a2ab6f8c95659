//! Who is asking: signing agents in (with rate limits that give nothing away) and turning a
//! session's agent id back into an active [`Agent`] on every request.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::agent::Agent;
use crate::agents;
use crate::context::AppContext;
use crate::error::{Error, Result};
use crate::password;
use crate::rate_limit::{RateLimiter, RetryAfter};

/// Failed sign-ins allowed per account, and per client IP, within [`SignInLimits::WINDOW`].
#[derive(Debug)]
pub struct SignInLimits {
    per_account: RateLimiter,
    per_ip: RateLimiter,
}

impl SignInLimits {
    /// The window the limits count over.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);
    /// Failures per account (known or not) before sign-in is refused for the window.
    pub const PER_ACCOUNT: usize = 5;
    /// Failures per IP address, across accounts, before sign-in is refused for the window.
    pub const PER_IP: usize = 20;
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account: RateLimiter::new(Self::PER_ACCOUNT, Self::WINDOW),
            per_ip: RateLimiter::new(Self::PER_IP, Self::WINDOW),
        }
    }
}

/// Checks an email and password. Unknown emails, wrong passwords and deactivated accounts all
/// fail with [`Error::InvalidCredentials`] after the same amount of work; too many failures from
/// one IP or for one account fail with [`Error::RateLimited`] before any password is checked.
pub async fn sign_in(ctx: &AppContext, email: &str, password: &str, ip: IpAddr) -> Result<Agent> {
    let limits = ctx.sign_in_limits();
    let account = email.trim().to_lowercase();
    let ip = ip.to_string();
    let now = Instant::now();
    limits
        .per_ip
        .check(&ip, now)
        .and_then(|()| limits.per_account.check(&account, now))
        .map_err(|wait: RetryAfter| Error::RateLimited { retry_after_secs: wait.secs() })?;

    let found = agents::find_credentials(ctx.db(), &account).await?;
    let (agent, hash) = found.map_or((None, None), |(a, h)| (Some(a), Some(h)));
    let password_ok = password::verify(password.to_owned(), hash).await?;
    match agent {
        Some(agent) if password_ok && agent.active => {
            limits.per_account.reset(&account);
            Ok(agent)
        }
        _ => {
            limits.per_ip.record(&ip, now);
            limits.per_account.record(&account, now);
            Err(Error::InvalidCredentials)
        }
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
