//! Typed errors. None carries object content or key material.

use std::io;

/// Why one object could not be masked.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object starts like gzip but does not decompress: the object is bad, retrying cannot help.
    #[error("corrupt gzip data: {0}")]
    CorruptGzip(String),
    /// The (decompressed) object is not UTF-8 text.
    #[error("not text: invalid UTF-8 near byte {offset} of the decompressed data")]
    NotText {
        /// Offset in the decompressed stream of the record that failed.
        offset: u64,
    },
    /// Reading the source failed (network, file system): retrying may help.
    #[error("reading the source: {0}")]
    Read(#[source] io::Error),
    /// Writing the destination failed: retrying may help.
    #[error("writing the destination: {0}")]
    Write(#[source] io::Error),
}

impl ObjectError {
    /// Whether the object itself is bad (as opposed to the storage around it).
    pub fn is_permanent(&self) -> bool {
        matches!(self, ObjectError::CorruptGzip(_) | ObjectError::NotText { .. })
    }
}

/// Why a backfill could not run at all (single objects fail on their own, see
/// [`crate::Outcome::Failed`]).
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The source could not be listed.
    #[error("listing the source: {0}")]
    List(String),
    /// Source and destination overlap, or another setting is unusable.
    #[error("{0}")]
    Invalid(String),
}

/// The backfill function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A variable has a value that is not allowed.
    #[error("{name}: {message}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        message: String,
    },
    /// The policy file could not be read or compiled.
    #[error("masking policy: {0}")]
    Policy(String),
    /// The token key could not be loaded (the message names the source, never key bytes).
    #[error("{0}")]
    TokenKey(String),
}
