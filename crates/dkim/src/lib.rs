//! SES BYODKIM key management for logmask: RSA keys, DKIM TXT records, a DNS check that proves
//! DNS holds *our* key, and a safe apply / rotate / rollback against SESv2.
//!
//! # Flow
//!
//! 1. `create_dkim_certificate` (or `rotate_dkim_keys` with `GENERATE_ONLY`) generates an
//!    RSA-2048 key, stores the PKCS#1 private key in S3 (SSE-KMS), writes
//!    `certificate_info.json` and the DNS record, and sends the DNS team the record to paste.
//! 2. `check_dns_status` resolves `{selector}._domainkey.{domain}` and compares `p=` with our
//!    public key byte for byte: `NOT_FOUND`, `MISMATCH`, `MULTIPLE_RECORDS` or `MATCH`.
//! 3. `update_ses_byodkim_automated` (or `rotate_dkim_keys` with `APPLY_TO_SES` and
//!    `"dns_confirmation": true`) re-checks DNS, refuses unless `MATCH`, then calls
//!    `PutEmailIdentityDkimSigningAttributes` (EXTERNAL), enables signing and reads the identity
//!    back. Any failure restores the previous signing attributes (the previous BYODKIM selector
//!    and key, or Easy DKIM) and the response says `ROLLED_BACK`.
//! 4. `status` reports the selector SES uses, key ages and expiry, and which old selectors'
//!    TXT records may be removed (`retire_after_days`, default 7, after the successor reached
//!    SUCCESS). Nothing is deleted automatically. `disable_easy_dkim` turns off Easy DKIM
//!    signing on a new identity (and refuses if the identity already signs with BYODKIM).
//!
//! # Safety flags
//!
//! A payload may say `"trigger": "scheduled"` (an EventBridge schedule); otherwise it is an
//! operator's request. With `BYODKIMRotationMode=MANUAL` (the seed's production value),
//! scheduled invocations neither generate keys nor touch SES. With
//! `BYODKIMAutoApplyToSES=false` (also the seed's value), scheduled invocations never touch SES.
//! An operator's explicit `update_ses_byodkim_automated` or `APPLY_TO_SES` with
//! `dns_confirmation` is the seed's manual flow and is allowed, but only after DNS `MATCH`.
//!
//! # Idempotency
//!
//! Every state change is recorded in `certificate_info.json` (GENERATED → DNS_VERIFIED →
//! APPLIED → ACTIVE → RETIRED, with a history). A retried create for an existing selector
//! returns the stored key's information; `GENERATE_ONLY` without a selector returns the
//! domain's pending key if there is one; an apply that finds SES already signing with the
//! selector changes nothing.
//!
//! # Notifications
//!
//! Texts, routing (operations topic; the DNS team's topic for record requests) and rendering
//! live in `logmask-notify`, shared with the monitor.
//!
//! # Secrets
//!
//! Private keys never appear in responses, logs or notifications, and are never accepted in
//! payloads. Key types print as `[REDACTED]`. PKCS#8 is refused for SES (see [`keys`]).
//!
//! # Example
//!
//! ```
//! use logmask_dkim::keys::generate_rsa2048;
//! use logmask_dkim::record::DnsTxtRecord;
//!
//! let key = generate_rsa2048()?;
//! let domain = "example.jp".parse()?;
//! let selector = "gooid-21-pro-20261130-1".parse()?;
//! let record = DnsTxtRecord::new(&domain, &selector, &key.public);
//! assert_eq!(record.name, "gooid-21-pro-20261130-1._domainkey.example.jp");
//! assert!(record.value.starts_with("v=DKIM1; k=rsa; p=MIIB"));
//! assert_eq!(record.strings.len(), 2); // 410 characters: two DNS strings of ≤ 255 bytes
//! // What SES receives: base64 PKCS#1 DER, never printed.
//! let for_ses = key.private.to_ses_signing_key()?;
//! assert_eq!(format!("{for_ses:?}"), "SesSigningKey([REDACTED])");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
pub mod dns;
pub mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
pub mod keys;
pub mod manager;
pub mod metadata;
pub mod record;
pub mod selector;
pub mod ses;
pub mod store;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use config::{AwsResources, ManagerConfig, RotationMode};
pub use dns::{DnsCheck, DnsStatus, HickoryTxtResolver, TxtResolver, check_dns};
pub use error::Error;
pub use manager::{Deps, Response, VALID_ACTIONS, handle};
pub use store::{KeyRepository, ObjectStore, S3ObjectStore};
