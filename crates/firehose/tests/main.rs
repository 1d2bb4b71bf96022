//! Integration tests of the Firehose transformation (one binary, several modules).

mod common;
mod contract;
mod corpus;
mod dictionary;
mod hostile;
mod json_records;
mod moto;
mod ses_metrics;
mod ses_samples;
