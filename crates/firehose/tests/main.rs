//! Integration tests of the Firehose transformation (one binary, several modules).

mod common;
mod contract;
mod corpus;
mod hostile;
mod json_records;
mod moto;
mod moto_stream;
mod ses_metrics;
mod ses_samples;
