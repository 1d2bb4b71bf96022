//! The masking policy as users write it (TOML), and the errors that reject a bad one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Who reads the output, and therefore which view of the personal data they get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Raw data, byte for byte.
    Admin,
    /// Partial masks: the e-mail domain, the IPv4 /24 and the IPv6 /48 stay visible.
    Operator,
    /// Full masks: typed tokens, keyed pseudonyms when a token key is configured.
    Readonly,
}

impl Role {
    /// Every role, in order of decreasing privilege.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Readonly];

    /// The role's name as written in configuration and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Readonly => "readonly",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = BuildError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| BuildError::UnknownRole(s.to_owned()))
    }
}

/// How the operator view shows an e-mail address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmailShape {
    /// `t***@example.co.jp`
    #[default]
    FirstChar,
    /// `***@example.co.jp`
    DomainOnly,
    /// The readonly token (`<email>` or a pseudonym).
    Token,
}

/// The operator (partial) view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorPolicy {
    /// How e-mail addresses are shown.
    pub email: EmailShape,
    /// Leading IPv4 bits kept visible: 0, 8, 16 or 24.
    pub ipv4_prefix: u8,
    /// Leading IPv6 bits kept visible: a multiple of 16 from 16 to 112.
    pub ipv6_prefix: u8,
}

impl Default for OperatorPolicy {
    fn default() -> Self {
        OperatorPolicy { email: EmailShape::FirstChar, ipv4_prefix: 24, ipv6_prefix: 48 }
    }
}

/// The readonly (full) view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadonlyPolicy {
    /// Names the HMAC key inside pseudonyms (`<email:k1:…>`), so tokens made with a rotated key
    /// are told apart. The key itself never appears in a policy.
    pub token_key_id: String,
}

impl Default for ReadonlyPolicy {
    fn default() -> Self {
        ReadonlyPolicy { token_key_id: "k1".to_owned() }
    }
}

/// A user-defined identifier (like a CloudWatch custom data identifier): masked as
/// `<name>` for operators and readonly readers. It has either a `pattern` or terms (a
/// dictionary identifier: `terms`, `terms_file` or both; see the crate's `dictionary` docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierPolicy {
    /// Lowercase name used in tokens and counts: `[a-z][a-z0-9_]*`, at most 32 bytes.
    pub name: String,
    /// A `regex` crate pattern; it must not match the empty string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Exact terms, matched as whole words unless `inside_words`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
    /// A file of terms, one per line, relative to the policy file; [`Policy::from_file`] reads
    /// it into `terms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_file: Option<String>,
    /// Terms match whatever the case of their ASCII letters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_insensitive: bool,
    /// Terms match inside words too (`acme` in `acmes`); by default only whole words.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inside_words: bool,
}

/// The whole policy. Every field has a default, so an empty file is a valid policy.
///
/// ```toml
/// [operator]
/// email = "first-char"     # or "domain-only", "token"
/// ipv4_prefix = 24
/// ipv6_prefix = 48
///
/// [readonly]
/// token_key_id = "k1"
///
/// [[identifiers]]
/// name = "order_id"
/// pattern = 'ORD-[0-9]{8}'
///
/// [[identifiers]]
/// name = "customer"
/// terms = ["Acme Corp", "山田商事"]
/// terms_file = "customers.txt"
/// case_insensitive = true
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The operator view.
    pub operator: OperatorPolicy,
    /// The readonly view.
    pub readonly: ReadonlyPolicy,
    /// Extra identifiers to mask.
    pub identifiers: Vec<IdentifierPolicy>,
}

impl Policy {
    /// Parses a policy from TOML. Unknown keys are errors, so a typo cannot silently weaken it.
    pub fn from_toml(text: &str) -> Result<Policy, BuildError> {
        toml::from_str(text).map_err(|e| BuildError::Syntax(e.message().to_owned()))
    }
}

/// Shortest token key accepted, in bytes: shorter HMAC keys make pseudonyms guessable by brute
/// force. The one home of the rule: the key store (`logmask-keys`) and every entry point that
/// reads a key check against it.
pub const MIN_TOKEN_KEY_BYTES: usize = 16;

/// Why a policy or token key was rejected. Raised once, when the masker is built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The policy file is not valid TOML for this schema.
    #[error("invalid policy: {0}")]
    Syntax(String),
    /// A role name that does not exist.
    #[error("unknown role {0:?}: expected one of admin, operator, readonly")]
    UnknownRole(String),
    /// `operator.ipv4_prefix` out of range.
    #[error("operator.ipv4_prefix must be 0, 8, 16 or 24, not {0}")]
    Ipv4Prefix(u8),
    /// `operator.ipv6_prefix` out of range.
    #[error("operator.ipv6_prefix must be a multiple of 16 from 16 to 112, not {0}")]
    Ipv6Prefix(u8),
    /// `readonly.token_key_id` is not 1–16 of `[A-Za-z0-9_-]`.
    #[error("readonly.token_key_id must be 1-16 characters of [A-Za-z0-9_-], not {0:?}")]
    TokenKeyId(String),
    /// The HMAC key is shorter than [`MIN_TOKEN_KEY_BYTES`]: too short to resist guessing.
    #[error("the token key must be at least {MIN_TOKEN_KEY_BYTES} bytes, got {0}")]
    TokenKeyTooShort(usize),
    /// An identifier name outside `[a-z][a-z0-9_]{0,31}` or one of the built-in names.
    #[error("identifier name {0:?} must match [a-z][a-z0-9_]{{0,31}} and not be email, ipv4 or ipv6")]
    IdentifierName(String),
    /// Two identifiers with one name.
    #[error("identifier {0:?} is defined twice")]
    DuplicateIdentifier(String),
    /// An identifier pattern that does not compile.
    #[error("identifier {name:?}: invalid pattern: {message}")]
    IdentifierPattern {
        /// The identifier's name.
        name: String,
        /// The regex compiler's message.
        message: String,
    },
    /// An identifier pattern that matches the empty string (it would match everywhere).
    #[error("identifier {0:?}: pattern matches the empty string")]
    IdentifierMatchesEmpty(String),
    /// The policy file cannot be read.
    #[error("cannot read policy {path}: {message}")]
    PolicyFile {
        /// The file.
        path: String,
        /// The system's message.
        message: String,
    },
    /// A dictionary identifier's terms or terms file.
    #[error(transparent)]
    Terms(#[from] crate::dictionary::TermsError),
    /// An identifier pattern that matches text the masker itself writes (a token such as
    /// `<email>` or its own `<name>`, a pseudonym, an operator mask such as `***@` or `10.0.0.*`):
    /// every pass over a view would mask it again, and the output would grow without end.
    #[error(
        "identifier {name:?}: pattern matches {sample:?}, which the masker writes into its views \
         (masking a view again would change it, without end); make the pattern more specific"
    )]
    IdentifierMatchesView {
        /// The identifier's name.
        name: String,
        /// A piece of masked output the pattern matches.
        sample: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!("Admin".parse::<Role>(), Err(BuildError::UnknownRole("Admin".to_owned())));
        assert_eq!("".parse::<Role>(), Err(BuildError::UnknownRole(String::new())));
    }

    #[test]
    fn an_empty_file_is_the_default_policy() {
        let policy = Policy::from_toml("").unwrap();
        assert_eq!(policy, Policy::default());
        assert_eq!(policy.operator, OperatorPolicy { email: EmailShape::FirstChar, ipv4_prefix: 24, ipv6_prefix: 48 });
        assert_eq!(policy.readonly.token_key_id, "k1");
        assert!(policy.identifiers.is_empty());
    }

    #[test]
    fn every_field_is_read() {
        let policy = Policy::from_toml(
            "[operator]\nemail = \"domain-only\"\nipv4_prefix = 16\nipv6_prefix = 32\n\
             [readonly]\ntoken_key_id = \"k2\"\n\
             [[identifiers]]\nname = \"order_id\"\npattern = 'ORD-[0-9]{8}'\n",
        )
        .unwrap();
        assert_eq!(policy.operator, OperatorPolicy { email: EmailShape::DomainOnly, ipv4_prefix: 16, ipv6_prefix: 32 });
        assert_eq!(policy.readonly.token_key_id, "k2");
        assert_eq!(
            policy.identifiers,
            vec![IdentifierPolicy {
                name: "order_id".to_owned(),
                pattern: Some("ORD-[0-9]{8}".to_owned()),
                ..Default::default()
            }]
        );
        let token = Policy::from_toml("[operator]\nemail = \"token\"\n").unwrap();
        assert_eq!(token.operator.email, EmailShape::Token);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_syntax_errors() {
        // A typo must not silently weaken the policy.
        for text in [
            "[operator]\nipv4_prefx = 16\n",
            "[readonly]\ntoken_key = \"secret\"\n",
            "[operator]\nemail = \"first_char\"\n",
            "[operator]\nipv4_prefix = 300\n",
            "colour = 1\n",
            "[operator\n",
        ] {
            assert!(matches!(Policy::from_toml(text), Err(BuildError::Syntax(_))), "{text:?}");
        }
        // An identifier with neither a pattern nor terms parses, and the masker refuses it.
        let policy = Policy::from_toml("[[identifiers]]\nname = \"x\"\n").expect("parses");
        let built = crate::Masker::builder(policy).build();
        assert!(matches!(built, Err(BuildError::Terms(crate::TermsError::NoMatcher(_)))));
    }

    #[test]
    fn a_policy_round_trips_through_toml() {
        let policy = Policy {
            operator: OperatorPolicy { email: EmailShape::Token, ipv4_prefix: 8, ipv6_prefix: 64 },
            readonly: ReadonlyPolicy { token_key_id: "2026-01".to_owned() },
            identifiers: vec![IdentifierPolicy {
                name: "ticket".to_owned(),
                pattern: Some("T-[0-9]+".to_owned()),
                ..Default::default()
            }],
        };
        let text = toml::to_string(&policy).unwrap();
        assert_eq!(Policy::from_toml(&text), Ok(policy));
    }
}
