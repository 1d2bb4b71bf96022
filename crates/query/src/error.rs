//! Typed errors. None carries log data or key material.

use logmask_access::AccessError;
use logmask_keys::KeyError;

/// The function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting with a value outside its domain.
    #[error("{name}: {message}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is allowed.
        message: String,
    },
    /// Group or network tables.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The masking policy file.
    #[error("masking policy: {0}")]
    Policy(String),
    /// The token key (where it is, never what it is).
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A request that is refused: the caller gets the message, the audit line gets its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The payload is not one of the accepted shapes.
    #[error(
        "invalid payload: {0}. Expected {{\"logData\": \"text\" | [\"line\", …]}} or {{\"s3\": {{\"bucket\": \"…\", \"key\": \"…\"}}}}, optionally \"userGroups\": [\"group\", …], \"sourceIp\": \"address\", \"offset\": N (a nextOffset), \"tokenKeyId\": \"id\""
    )]
    InvalidPayload(String),
    /// A function URL request without IAM authentication: nobody to decide for.
    #[error("function URL requests must be signed (AuthType AWS_IAM); no IAM caller in the request context")]
    Unauthenticated,
    /// An object outside what this function may read.
    #[error("refused: {0}")]
    Refused(String),
    /// The object does not exist (or this function may not read it).
    #[error("object not found: s3://{bucket}/{key}")]
    NotFound {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// The object could not be read or masked.
    #[error("object could not be masked: {0}")]
    Object(String),
    /// A single line or entry larger than one response can carry.
    #[error("the {what} at offset {offset} is {bytes} bytes once masked and encoded, more than one response can carry")]
    TooLargeForOneResponse {
        /// "line" or "entry".
        what: &'static str,
        /// Where it starts (the request's offset units).
        offset: u64,
        /// Its encoded size.
        bytes: u64,
    },
    /// S3 or IAM failed in a way that may pass.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl QueryError {
    /// A short name for the audit line and the Lambda error type.
    pub fn kind(&self) -> &'static str {
        match self {
            QueryError::InvalidPayload(_) => "InvalidPayload",
            QueryError::Unauthenticated => "Unauthenticated",
            QueryError::Refused(_) => "Refused",
            QueryError::NotFound { .. } => "NotFound",
            QueryError::Object(_) => "ObjectError",
            QueryError::TooLargeForOneResponse { .. } => "TooLargeForOneResponse",
            QueryError::Unavailable(_) => "Unavailable",
        }
    }

    /// The HTTP status a function URL caller gets.
    pub fn status(&self) -> u16 {
        match self {
            QueryError::InvalidPayload(_) | QueryError::TooLargeForOneResponse { .. } => 400,
            QueryError::Unauthenticated => 401,
            QueryError::Refused(_) => 403,
            QueryError::NotFound { .. } => 404,
            QueryError::Object(_) => 422,
            QueryError::Unavailable(_) => 503,
        }
    }
}
