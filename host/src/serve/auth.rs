//! Bearer tokens: who a request comes from. Tokens are known only by their SHA-256; the
//! presented token is hashed and compared with every known digest in constant time.

use sha2::{Digest, Sha256};

use super::config::ServeConfig;

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A tenant, by name: sees only its own jobs and plugins.
    Tenant(String),
    /// The admin: sees and stops every job, owns no plugins.
    Admin,
}

/// The known token digests.
#[derive(Debug, Clone)]
pub struct Tokens {
    known: Vec<([u8; 32], Caller)>,
}

impl Tokens {
    /// The tenants' and the admin's digests from the config (already checked as hex).
    pub fn from_config(config: &ServeConfig) -> Tokens {
        let mut known = Vec::new();
        for (name, t) in &config.tenants {
            if let Some(d) = decode_digest(&t.token_sha256) {
                known.push((d, Caller::Tenant(name.clone())));
            }
        }
        if let Some(d) = config
            .admin
            .as_ref()
            .and_then(|a| decode_digest(&a.token_sha256))
        {
            known.push((d, Caller::Admin));
        }
        Tokens { known }
    }

    /// The caller whose token is `token`, if any. Every digest is compared, each in
    /// constant time, so the time taken says nothing about which bytes matched.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (digest, caller) in &self.known {
            if constant_time_eq(digest, &presented) && found.is_none() {
                found = Some(caller.clone());
            }
        }
        found
    }
}

/// The caller of an `Authorization` header value (`Bearer TOKEN`).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Equal slices, compared without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn decode_digest(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lower-case hex of `bytes`' SHA-256 (plugins' digests, `sluice serve` docs and tests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_digest_only() {
        let text = format!(
            "[server]\ndata_dir = \"d\"\n[tenants.alice]\ntoken_sha256 = \"{}\"\n\
             [admin]\ntoken_sha256 = \"{}\"\n",
            sha256_hex(b"alice-secret"),
            sha256_hex(b"root").to_uppercase()
        );
        let config: ServeConfig = toml::from_str(&text).unwrap();
        let tokens = Tokens::from_config(&config);
        assert_eq!(
            tokens.caller("alice-secret"),
            Some(Caller::Tenant("alice".into()))
        );
        assert_eq!(tokens.caller("root"), Some(Caller::Admin));
        assert_eq!(tokens.caller("alice-secreT"), None);
        assert_eq!(tokens.caller(&sha256_hex(b"alice-secret")), None);
        assert_eq!(bearer(Some("Bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
    }
}
