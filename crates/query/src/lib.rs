//! The data-masking function behind `functions/data-masking` and `logmask query`: a person asks
//! for log text (or one raw log object in S3) and gets the view their role allows.
//!
//! * **Who is asking.** A signed function URL request (`requestContext.authorizer.iam.userArn`)
//!   has its groups looked up in IAM (`ListGroupsForUser`, cached for `GROUP_CACHE_TTL_SECONDS`;
//!   an assumed role maps by role name) and its address taken from the request context; groups
//!   or an address written in the body are ignored and noted. A direct invoke (the seed's
//!   `{"userGroups":[...],"logData":"..."}`) has only its claims, so it sees at most
//!   `DIRECT_INVOKE_MAX_ROLE` (default readonly). The role itself is `logmask-access`'s decision.
//! * **What.** `logData` as text (masked line by line) or a list (each entry whole), or
//!   `{"s3":{"bucket","key"}}` for one object of `RAW_BUCKET` under `RAW_PREFIX`, at most
//!   `MAX_OBJECT_BYTES`, masked record by record by `logmask-archive` (the Firehose record code).
//! * **How much.** A response stays under Lambda's 6 MB: whole lines only, and `nextOffset`
//!   when more is left (send the request again with `"offset": nextOffset`).
//! * **Audit.** One JSON line per call ([`AuditLine`]): caller, groups, address, role and why,
//!   object, offsets, counts, outcome — never the data, never a key.
//!
//! # Example
//!
//! ```
//! use logmask_query::{Config, FetchError, GroupDirectory, Handler, ObjectStore};
//! use serde_json::json;
//!
//! struct NoIam;
//! impl GroupDirectory for NoIam {
//!     async fn groups_for_user(&self, _: &str) -> Result<Vec<String>, String> { Ok(vec![]) }
//! }
//! struct NoS3;
//! impl ObjectStore for NoS3 {
//!     async fn get(&self, _: &str, _: &str, _: u64) -> Result<Vec<u8>, FetchError> { Err(FetchError::NotFound) }
//! }
//!
//! let config = Config::from_lookup(|name| match name {
//!     "DIRECT_INVOKE_MAX_ROLE" => Some("operator".into()),
//!     "ENABLE_IP_RESTRICTION" => Some("false".into()),
//!     _ => None,
//! })
//! .unwrap();
//! let maskers = vec![("k1".to_owned(), logmask_mask::Masker::new())];
//! let handler = Handler::new(config, maskers, NoIam, NoS3);
//! let event = json!({"userGroups": ["ses-migration-production-admin"],
//!                    "logData": "Email sent to user@goo.ne.jp from IP 192.168.1.100"});
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let (response, audit) = rt.block_on(handler.respond(&event, "req-1"));
//! let response = response.unwrap();
//! // An admin claim on a direct invoke reaches only DIRECT_INVOKE_MAX_ROLE.
//! assert_eq!(response["role"], "operator");
//! assert_eq!(response["groupRole"], "admin");
//! assert_eq!(response["maskedData"], "Email sent to u***@goo.ne.jp from IP 192.168.1.*");
//! assert_eq!(response["counts"]["emails"], 1);
//! assert!(!audit.to_json().contains("goo.ne.jp"));
//! ```
#![deny(missing_docs)]

mod aws;
mod config;
mod error;
mod handler;
mod page;
mod request;

pub use aws::{AwsIam, AwsS3, CachedDirectory, FetchError, GroupDirectory, ObjectStore};
pub use config::{Config, DEFAULT_GROUP_CACHE_TTL, DEFAULT_MAX_OBJECT_BYTES, ENV_VARS};
pub use error::{ConfigError, QueryError};
pub use handler::{Access, AuditLine, Handler, Mode, ObjectRef, Response};
pub use page::{ENVELOPE_RESERVE, Encoding, PageSink, RESPONSE_LIMIT, encoded_len};
pub use request::{Data, Invocation, Payload};

/// The handler over the real AWS clients.
pub type AwsHandler = Handler<AwsIam, AwsS3>;

/// Builds the AWS-backed handler at cold start: settings, policy, token key (a configured key
/// that cannot be loaded is an error), IAM and S3 clients.
pub async fn aws_handler(config: Config, sdk: &aws_config::SdkConfig) -> Result<AwsHandler, ConfigError> {
    let maskers = config.build_maskers(&logmask_keys::AwsKeyStore::new(sdk)).await?;
    let iam = AwsIam(aws_sdk_iam::Client::new(sdk));
    let s3 =
        AwsS3(aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build()));
    Ok(Handler::new(config, maskers, iam, s3))
}
