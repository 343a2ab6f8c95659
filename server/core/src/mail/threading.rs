//! Signed thread tokens: `[#1042-k3d9x2ab]` in a subject and `support+1042-k3d9x2ab@...` as a
//! reply address. The token is an HMAC of the ticket number under a key frontdesk makes for
//! itself and keeps in the database, so a reply finds its ticket even when a mail client dropped
//! the `In-Reply-To` header, while a typed `[#1042]` (or a guessed token) never does.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Result;
use crate::platform::db::{Db, on_pool};

const KEY_NAME: &str = "mail_thread_key";
/// Characters of the token: 8 base-32 characters are 40 bits.
const TOKEN_CHARS: usize = 8;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// The longest `number-token` inside a tag's brackets.
const MAX_TAG_CHARS: usize = 40;

/// The key that signs thread tokens.
#[derive(Clone)]
pub struct ThreadKey(Vec<u8>);

impl std::fmt::Debug for ThreadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadKey(..)")
    }
}

impl ThreadKey {
    /// The stored key, made and stored on first use (two processes racing agree on the first).
    pub async fn load(db: &Db) -> Result<Self> {
        let fresh = crate::agents::password::random_token(32);
        let key: String = on_pool!(db, |pool| {
            async {
                sqlx::query("INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(KEY_NAME)
                    .bind(&fresh)
                    .execute(pool)
                    .await?;
                sqlx::query_scalar("SELECT value FROM app_secrets WHERE name = $1")
                    .bind(KEY_NAME)
                    .fetch_one(pool)
                    .await
            }
            .await
        })?;
        Ok(Self(key.into_bytes()))
    }

    /// A key for tests.
    #[cfg(test)]
    pub(crate) fn for_tests(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }

    /// The token for ticket `number`.
    pub fn token(&self, number: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("ticket-thread:{number}").as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bits: u64 = 0;
        for byte in &digest[..5] {
            bits = (bits << 8) | u64::from(*byte);
        }
        (0..TOKEN_CHARS)
            .rev()
            .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
            .collect()
    }

    /// `1042-k3d9x2ab`: the number and its token, as tags and addresses carry them.
    pub fn tag(&self, number: i64) -> String {
        format!("{number}-{}", self.token(number))
    }

    /// The ticket number in `tag` (`1042-k3d9x2ab`), if its token verifies.
    pub fn verify(&self, tag: &str) -> Option<i64> {
        let (number, token) = tag.split_once('-')?;
        let number: i64 = number.parse().ok().filter(|n| *n > 0)?;
        let expected = self.token(number);
        // Compared in constant time, like any MAC.
        let same = token.len() == expected.len()
            && token.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        same.then_some(number)
    }

    /// The tickets a subject's `[#number-token]` tags name and verify, the last one first (a reply
    /// to a follow-up ticket carries the old ticket's tag before its own).
    pub fn from_subject(&self, subject: &str) -> Vec<i64> {
        let mut found: Vec<i64> = subject
            .match_indices("[#")
            .filter_map(|(at, _)| {
                // A tag is short: look no further than its longest form.
                let rest = &subject[at + 2..];
                let rest = &rest[..rest.floor_char_boundary(MAX_TAG_CHARS)];
                let end = rest.find(']')?;
                self.verify(rest[..end].trim())
            })
            .collect();
        found.reverse();
        found
    }

    /// The ticket a reply address `local+number-token@domain` names, if `local@domain` is one of
    /// `mailboxes` and the token verifies.
    pub fn from_address(&self, address: &str, mailboxes: &[String]) -> Option<i64> {
        let (local, domain) = address.rsplit_once('@')?;
        let (base, tag) = local.split_once('+')?;
        let plain = format!("{base}@{domain}");
        mailboxes.contains(&plain).then(|| self.verify(tag)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signed_tags_name_a_ticket() {
        let key = ThreadKey::for_tests("k");
        let tag = key.tag(1042);
        assert_eq!(key.verify(&tag), Some(1042));
        assert_eq!(key.from_subject(&format!("Re: Printer [#{tag}]")), vec![1042]);
        assert!(key.from_subject("Re: [#1042] please add me").is_empty());
        assert!(key.from_subject("Re: [#1042-aaaaaaaa]").is_empty());
        assert!(key.from_subject(&format!("[#1043-{}]", key.token(1042))).is_empty());
        let follow_up = format!("Re: Re: Printer [#{tag}] [#{}]", key.tag(1043));
        assert_eq!(key.from_subject(&follow_up), vec![1043, 1042], "the newest tag first");
        assert!(key.from_subject(&"[#".repeat(100_000)).is_empty());
        assert_eq!(ThreadKey::for_tests("other").verify(&tag), None);
        let boxes = vec!["support@example.test".to_owned()];
        assert_eq!(key.from_address(&format!("support+{tag}@example.test"), &boxes), Some(1042));
        assert_eq!(key.from_address(&format!("sales+{tag}@example.test"), &boxes), None);
    }
}
