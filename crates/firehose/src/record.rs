//! One record masked on its own, outside a Firehose batch: the archive backfill and S3 object
//! reads mask raw backup objects record by record with exactly the batch path's code.

use logmask_mask::{Counts, Masker, Role};

use crate::transform::{Bounds, MAX_RECORD_OUTPUT, Outcome, RecordKind, Scratch, transform};

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutput {
    /// The masked bytes, as the Firehose path delivers them (a CloudWatch Logs document becomes
    /// one JSON line per log event).
    Masked(Vec<u8>),
    /// Nothing to deliver (a CloudWatch Logs control message, a document without events).
    Dropped(&'static str),
    /// Undecodable; the reason never quotes the record.
    Failed(String),
}

/// One record's result: how it was recognised, what came out, what was found.
#[derive(Debug, Clone)]
pub struct MaskedRecord {
    /// How the record was recognised.
    pub kind: RecordKind,
    /// The masked bytes, or why there are none.
    pub output: RecordOutput,
    /// Findings per type.
    pub counts: Counts,
}

/// Masks one raw Firehose record (the bytes Firehose received, after base64) for `role`.
pub fn mask_record(masker: &Masker, role: Role, record: &[u8]) -> MaskedRecord {
    let mut scratch = Scratch::default();
    // The same output bound as in a batch; no deadline outside Lambda.
    let bounds = Bounds { max_output: MAX_RECORD_OUTPUT, stop_at: None };
    let t = transform(masker, role, record, None, &bounds, &mut scratch);
    let output = match t.outcome {
        Outcome::Ok { data, .. } => RecordOutput::Masked(data),
        Outcome::Dropped { reason } => RecordOutput::Dropped(reason),
        Outcome::Failed { reason } => RecordOutput::Failed(reason),
    };
    MaskedRecord { kind: t.kind, output, counts: t.counts }
}
