//! Webhook signing secrets sealed at rest.
//!
//! A signing secret lets whoever holds it forge alerts to the receiver, so
//! Redis (its backups, its replicas, whoever can run `HGETALL`) holds it
//! only sealed: AES-256-GCM under a key that lives in the service's
//! environment (a Kubernetes Secret), never in Redis. Several keys may be
//! configured: the first seals, every one opens, so a key is rotated by
//! putting the new one first, letting the service re-seal what the old one
//! sealed, then dropping the old one.
//!
//! A sealed value reads `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`;
//! a value in clear (`whsec_…`, stored before sealing) still opens, and is
//! re-sealed like one under an old key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "sealed:v1:";

/// Why a stored secret could not be opened, or keys not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key list is malformed.
    #[error("{0}")]
    Keys(String),
    /// Sealed with a key no longer configured.
    #[error("sealed with key '{0}', which is not configured")]
    UnknownKey(String),
    /// Not a sealed value, or altered.
    #[error("the stored secret does not open (damaged, or sealed with another key of the same id)")]
    Damaged,
}

/// The configured sealing keys, the first of which seals.
pub struct SecretKeys {
    keys: Vec<(String, LessSafeKey)>,
    random: SystemRandom,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("SecretKeys").field("ids", &ids).finish()
    }
}

impl SecretKeys {
    /// Parses `id=<base64 of 32 random bytes>,…`, e.g. from
    /// `head -c 32 /dev/urandom | base64`.
    pub fn parse(spec: &str) -> Result<Self, SealError> {
        let mut keys = Vec::new();
        for (i, entry) in spec.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (id, key) = entry
                .split_once('=')
                .ok_or_else(|| SealError::Keys(format!("entry {} is not id=base64-key", i + 1)))?;
            let id = id.trim();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(SealError::Keys(format!(
                    "entry {}: a key id is letters, digits, '-' or '_'",
                    i + 1
                )));
            }
            let bytes = STANDARD
                .decode(key.trim())
                .map_err(|_| SealError::Keys(format!("key '{id}' is not base64")))?;
            let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| SealError::Keys(format!("key '{id}' must be 32 bytes, got {}", bytes.len())))?;
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(SealError::Keys(format!("key id '{id}' appears twice")));
            }
            keys.push((id.to_string(), LessSafeKey::new(unbound)));
        }
        if keys.is_empty() {
            return Err(SealError::Keys(
                "no key: set id=<base64 of 32 random bytes> (head -c 32 /dev/urandom | base64)".into(),
            ));
        }
        Ok(Self {
            keys,
            random: SystemRandom::new(),
        })
    }

    /// `secret` sealed with the first key.
    pub fn seal(&self, secret: &str) -> String {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).expect("the system's random source works");
        let mut sealed = secret.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(id.as_bytes()),
            &mut sealed,
        )
        .expect("AES-GCM seals any secret of a webhook's size");
        let mut payload = nonce.to_vec();
        payload.extend(sealed);
        format!("{PREFIX}{id}:{}", STANDARD.encode(payload))
    }

    /// The secret in `stored`: opened, or as it is when stored in clear.
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, payload) = rest.split_once(':').ok_or(SealError::Damaged)?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_string()))?;
        let payload = STANDARD.decode(payload).map_err(|_| SealError::Damaged)?;
        if payload.len() < NONCE_LEN {
            return Err(SealError::Damaged);
        }
        let (nonce, sealed) = payload.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Damaged)?;
        let mut sealed = sealed.to_vec();
        let opened = key
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut sealed)
            .map_err(|_| SealError::Damaged)?;
        String::from_utf8(opened.to_vec()).map_err(|_| SealError::Damaged)
    }

    /// Whether `stored` is sealed with the first key (otherwise it is in
    /// clear or under an older key, and should be sealed again).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.keys[0].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const K2: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    const SECRET: &str = "whsec_c3VwcGx5cmlzay13ZWJob29rLXRlc3Qtc2VjcmV0LTMyYg==";

    #[test]
    fn a_sealed_secret_opens_and_shows_nothing_of_itself() {
        let keys = SecretKeys::parse(&format!("k1={K1}")).expect("keys");
        let sealed = keys.seal(SECRET);
        assert!(sealed.starts_with("sealed:v1:k1:"), "{sealed}");
        assert!(!sealed.contains("c3VwcGx5"), "no part of the secret in clear");
        assert_ne!(keys.seal(SECRET), sealed, "a fresh nonce every time");
        assert_eq!(keys.open(&sealed).expect("opens"), SECRET);
        assert_eq!(keys.open(SECRET).expect("clear"), SECRET, "stored before sealing");
        assert!(keys.is_current(&sealed) && !keys.is_current(SECRET));
    }

    #[test]
    fn rotation_opens_old_seals_and_refuses_tampering() {
        let old = SecretKeys::parse(&format!("k1={K1}")).expect("keys");
        let sealed_old = old.seal(SECRET);
        let rotated = SecretKeys::parse(&format!("k2={K2},k1={K1}")).expect("keys");
        assert_eq!(rotated.open(&sealed_old).expect("old key still opens"), SECRET);
        assert!(!rotated.is_current(&sealed_old), "to be sealed again");
        let sealed_new = rotated.seal(SECRET);
        assert!(sealed_new.starts_with("sealed:v1:k2:"));
        let only_new = SecretKeys::parse(&format!("k2={K2}")).expect("keys");
        assert_eq!(only_new.open(&sealed_old), Err(SealError::UnknownKey("k1".into())));
        let payload = sealed_new.strip_prefix("sealed:v1:k2:").expect("sealed");
        let mut bytes = STANDARD.decode(payload).expect("base64");
        bytes[NONCE_LEN] ^= 1;
        let tampered = format!("sealed:v1:k2:{}", STANDARD.encode(bytes));
        assert_eq!(only_new.open(&tampered), Err(SealError::Damaged), "an altered byte");
        let forged = sealed_new.replace("sealed:v1:k2:", "sealed:v1:k2:AAAA");
        assert_eq!(only_new.open(&forged), Err(SealError::Damaged));
    }

    #[test]
    fn keys_are_checked() {
        assert!(SecretKeys::parse("").is_err());
        assert!(SecretKeys::parse("k1=short").is_err());
        assert!(SecretKeys::parse(&format!("k 1={K1}")).is_err());
        assert!(SecretKeys::parse(&format!("k1={K1},k1={K2}")).is_err());
        let err = SecretKeys::parse("k1=AAAA").expect_err("3 bytes");
        assert_eq!(err.to_string(), "key 'k1' must be 32 bytes, got 3");
    }
}
