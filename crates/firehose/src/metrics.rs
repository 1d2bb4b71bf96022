//! Per-batch SES event counts and pipeline counts, rendered as CloudWatch Embedded Metric Format.
//!
//! Dimensions are the configuration set and the sending domain only: low cardinality, and never
//! a recipient or a message id.

use std::collections::BTreeMap;

use logmask_mask::Counts;
use serde_json::{Map, Value, json};

use crate::ses::{SesEvent, SesFacts};

/// EMF allows at most this many metric definitions per directive.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;

/// SES metric names, in the order they are published.
pub const SES_METRICS: [&str; 16] = [
    "Send",
    "Delivery",
    "Bounce",
    "BouncePermanent",
    "BouncePermanentSuppressed",
    "BounceTransient",
    "BounceUndetermined",
    "Complaint",
    "Reject",
    "Open",
    "Click",
    "RenderingFailure",
    "DeliveryDelay",
    "Subscription",
    "OtherEvent",
    "Events",
];

/// Pipeline metric names (dimension `Service`).
pub const PIPELINE_METRICS: [&str; 10] = [
    "RecordsOk",
    "RecordsDropped",
    "RecordsProcessingFailed",
    "RecordsReingested",
    "BytesIn",
    "BytesOut",
    "MaskedEmails",
    "MaskedIPv4",
    "MaskedIPv6",
    "MaskedCustom",
];

/// Counters for one batch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchMetrics {
    /// `(configuration set, sending domain)` → counts indexed like [`SES_METRICS`].
    pub ses: BTreeMap<(String, String), [u64; SES_METRICS.len()]>,
    /// What the masker replaced.
    pub masked: Counts,
}

impl BatchMetrics {
    /// Counts one SES event.
    pub fn add_ses(&mut self, facts: SesFacts) {
        let counts = self.ses.entry((facts.configuration_set, facts.sending_domain)).or_default();
        let mut bump = |name: &str| {
            if let Some(i) = SES_METRICS.iter().position(|m| *m == name) {
                counts[i] += 1;
            }
        };
        bump("Events");
        match facts.event {
            SesEvent::Send => bump("Send"),
            SesEvent::Delivery => bump("Delivery"),
            SesEvent::BouncePermanent { suppressed } => {
                bump("Bounce");
                bump("BouncePermanent");
                if suppressed {
                    bump("BouncePermanentSuppressed");
                }
            }
            SesEvent::BounceTransient => {
                bump("Bounce");
                bump("BounceTransient");
            }
            SesEvent::BounceUndetermined => {
                bump("Bounce");
                bump("BounceUndetermined");
            }
            SesEvent::Complaint => bump("Complaint"),
            SesEvent::Reject => bump("Reject"),
            SesEvent::Open => bump("Open"),
            SesEvent::Click => bump("Click"),
            SesEvent::RenderingFailure => bump("RenderingFailure"),
            SesEvent::DeliveryDelay => bump("DeliveryDelay"),
            SesEvent::Subscription => bump("Subscription"),
            SesEvent::Other => bump("OtherEvent"),
        }
    }

    /// The count of `metric` for one dimension pair (0 when absent); for tests and the demo.
    pub fn get(&self, configuration_set: &str, domain: &str, metric: &str) -> u64 {
        let Some(i) = SES_METRICS.iter().position(|m| *m == metric) else { return 0 };
        self.ses.get(&(configuration_set.to_owned(), domain.to_owned())).map_or(0, |c| c[i])
    }
}

/// Pipeline totals of one batch (also the CLI's summary line).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Input records.
    pub records: u64,
    /// `Ok` results.
    pub ok: u64,
    /// `Dropped` results (control messages and re-ingested records).
    pub dropped: u64,
    /// `ProcessingFailed` results.
    pub processing_failed: u64,
    /// Records delivered again through `PutRecordBatch` (and so `Dropped` here).
    pub reingested: u64,
    /// Decoded input bytes.
    pub bytes_in: u64,
    /// Decoded output bytes of `Ok` records.
    pub bytes_out: u64,
}

/// Renders the batch as EMF documents, one JSON object per line of stdout.
pub fn render_emf(
    namespace: &str,
    service: &str,
    timestamp_ms: i64,
    summary: &Summary,
    metrics: &BatchMetrics,
) -> Vec<String> {
    let mut docs = Vec::with_capacity(metrics.ses.len() + 1);
    for ((configuration_set, domain), counts) in &metrics.ses {
        let mut doc = Map::new();
        doc.insert("ConfigurationSet".into(), Value::from(configuration_set.as_str()));
        doc.insert("SendingDomain".into(), Value::from(domain.as_str()));
        let values: Vec<(&str, u64)> = SES_METRICS.iter().copied().zip(counts.iter().copied()).collect();
        docs.push(emf_document(namespace, timestamp_ms, &["ConfigurationSet", "SendingDomain"], doc, &values));
    }
    let mut doc = Map::new();
    doc.insert("Service".into(), Value::from(service));
    let m = &metrics.masked;
    let values = [
        summary.ok,
        summary.dropped,
        summary.processing_failed,
        summary.reingested,
        summary.bytes_in,
        summary.bytes_out,
        m.emails,
        m.ipv4,
        m.ipv6,
        m.custom,
    ];
    let values: Vec<(&str, u64)> = PIPELINE_METRICS.iter().copied().zip(values).collect();
    docs.push(emf_document(namespace, timestamp_ms, &["Service"], doc, &values));
    docs
}

fn emf_document(
    namespace: &str,
    timestamp_ms: i64,
    dimensions: &[&str],
    mut doc: Map<String, Value>,
    values: &[(&str, u64)],
) -> String {
    let directives: Vec<Value> = values
        .chunks(MAX_METRICS_PER_DIRECTIVE)
        .map(|chunk| {
            let defs: Vec<Value> = chunk
                .iter()
                .map(|(name, _)| {
                    let unit = if name.starts_with("Bytes") { "Bytes" } else { "Count" };
                    json!({ "Name": name, "Unit": unit })
                })
                .collect();
            json!({ "Namespace": namespace, "Dimensions": [dimensions], "Metrics": defs })
        })
        .collect();
    for (name, value) in values {
        doc.insert((*name).to_owned(), Value::from(*value));
    }
    doc.insert("_aws".into(), json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }));
    Value::Object(doc).to_string()
}
