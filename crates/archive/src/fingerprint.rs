//! The policy fingerprint stored with every masked object: an object already written under the
//! current fingerprint is skipped, so a backfill can be interrupted, resumed and repeated.

use std::fmt;

use logmask_mask::{Policy, Role};
use sha2::{Digest as _, Sha256};

/// Bumped when the archive's output format changes, so older outputs are redone.
pub const FORMAT_VERSION: u32 = 1;

/// SHA-256 (hex) over the output format version, the role, the whole policy and the token key
/// id. The key bytes never enter it: a fingerprint is stored in object metadata that readers of
/// the masked archive can see, and a hash of a key would be a way to test guesses of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `policy` rendered for `role`, with the token key named `key_id` (or
    /// unkeyed tokens when `None`).
    pub fn new(policy: &Policy, role: Role, key_id: Option<&str>) -> Fingerprint {
        let mut hash = Sha256::new();
        hash.update(format!("logmask-archive/{FORMAT_VERSION}\nrole={role}\nkey_id=").as_bytes());
        match key_id {
            Some(id) => hash.update(format!("some:{id}").as_bytes()),
            None => hash.update(b"none"),
        }
        hash.update(b"\npolicy=");
        // Serialising a policy (strings, numbers, enums) cannot fail.
        hash.update(serde_json::to_vec(policy).unwrap_or_default());
        let digest = hash.finalize();
        Fingerprint(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Accepts a stored fingerprint: 64 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Fingerprint> {
        let ok = text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Fingerprint(text.to_owned()))
    }

    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logmask_mask::IdentifierPolicy;

    #[test]
    fn every_input_changes_the_fingerprint_and_nothing_else_does() {
        let policy = Policy::default();
        let base = Fingerprint::new(&policy, Role::Readonly, Some("k1"));
        assert_eq!(base, Fingerprint::new(&Policy::default(), Role::Readonly, Some("k1")));
        assert_ne!(base, Fingerprint::new(&policy, Role::Operator, Some("k1")));
        assert_ne!(base, Fingerprint::new(&policy, Role::Readonly, Some("k2")));
        assert_ne!(base, Fingerprint::new(&policy, Role::Readonly, None));
        let mut other = Policy::default();
        other.operator.ipv4_prefix = 16;
        assert_ne!(base, Fingerprint::new(&other, Role::Readonly, Some("k1")));
        let mut ids = Policy::default();
        ids.identifiers.push(IdentifierPolicy {
            name: "order_id".into(),
            pattern: Some("ORD-[0-9]{8}".into()),
            ..Default::default()
        });
        assert_ne!(base, Fingerprint::new(&ids, Role::Readonly, Some("k1")));
        assert_eq!(Fingerprint::parse(base.as_str()), Some(base.clone()));
        assert_eq!(Fingerprint::parse("abc"), None);
        assert_eq!(Fingerprint::parse(&base.as_str().to_uppercase()), None);
    }
}
