//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, 1 lane, as
//! OWASP recommends). Hashing is deliberately slow, so callers run it on the blocking pool.
//!
//! Also the random bearer tokens frontdesk hands out (sign-in links, widget visitors): only
//! their SHA-256 is stored, so a stolen database holds no usable token.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Hashes a password into a PHC string (`$argon2id$v=19$...`).
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| Error::internal_from("password hashing task failed", e))?
}

/// Checks `password` against a stored hash. With no stored hash (unknown account) it still spends
/// the time of a real check, so response times do not reveal which emails have accounts.
pub async fn verify(password: String, stored_hash: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let dummy = dummy_hash();
        let (hash, real) = match stored_hash.as_deref() {
            Some(h) => (h, true),
            None => (dummy.as_str(), false),
        };
        let parsed = PasswordHash::new(hash)
            .map_err(|e| Error::internal_from("stored password hash is malformed", e))?;
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(real && matches)
    })
    .await
    .map_err(|e| Error::internal_from("password check task failed", e))?
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal_from("password hashing failed", e))
}

/// A hash of a random password, made once, to verify against when the account is unknown.
fn dummy_hash() -> &'static String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = SaltString::generate(&mut OsRng);
        hash_now(random.as_str()).unwrap_or_default()
    })
}

/// A new random token of `bytes` random bytes, URL-safe base64.
pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// What is stored of a token: its SHA-256, URL-safe base64.
pub(crate) fn token_hash(token: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() -> Result<()> {
        let stored = hash("correct horse battery".into()).await?;
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await?);
        assert!(!verify("wrong horse battery".into(), Some(stored)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() -> Result<()> {
        assert!(!verify(String::new(), None).await?);
        Ok(())
    }
}
