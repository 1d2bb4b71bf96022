//! The SES documentation samples (third-party, read in place from ../shared/testdata) give the
//! expected metrics and partition keys, and leave no address behind.

use std::path::PathBuf;

use logmask_firehose::{RecordKind, RecordResult};
use logmask_mask::{Masker, Role};

use crate::common::{MemoryStream, event_of, run};

fn samples_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/aws-ses-events/events"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: SES samples not found at {}", dir.display());
        None
    }
}

#[test]
fn firehose_doc_samples_produce_the_expected_metrics() {
    let Some(dir) = samples_dir() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("event-publishing-retrieving-firehose-examples--"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 10, "{names:?}");
    let records: Vec<Vec<u8>> = names
        .iter()
        .map(|n| {
            // Compact to one line, as SES writes into Firehose, newline-terminated.
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap();
            format!("{v}\n").into_bytes()
        })
        .collect();
    let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(records.clone()));
    assert!(out.kinds.iter().all(|k| *k == RecordKind::SesEvent), "{:?}", out.kinds);
    assert!(out.response.records.iter().all(|r| r.result == RecordResult::Ok));

    let event_types: Vec<String> = out
        .response
        .records
        .iter()
        .map(|r| r.metadata.as_ref().unwrap().partition_keys["eventType"].to_owned())
        .collect();
    assert_eq!(
        event_types,
        [
            "Bounce",
            "Click",
            "Complaint",
            "DeliveryDelay",
            "Delivery",
            "RenderingFailure",
            "Open",
            "Reject",
            "Send",
            "Subscription"
        ]
    );
    // The Bounce sample's own time (bounce.timestamp) picks the partition, not the wall clock.
    let bounce: serde_json::Value = serde_json::from_slice(&records[0]).unwrap();
    let ts = bounce["bounce"]["timestamp"].as_str().unwrap();
    let keys = &out.response.records[0].metadata.as_ref().unwrap().partition_keys;
    assert_eq!(format!("{}-{}-{}T{}", &keys["year"], &keys["month"], &keys["day"], &keys["hour"]), ts[..13]);

    // Every sample uses ConfigSet and sender@example.com, except Subscription (no tags).
    let total: u64 = out.metrics.ses.values().map(|c| c[logmask_firehose::SES_METRICS.len() - 1]).sum();
    assert_eq!(total, 10);
    let count = |metric: &str| -> u64 {
        out.metrics.ses.keys().map(|(set, domain)| out.metrics.get(set, domain, metric)).sum()
    };
    for metric in [
        "Send",
        "Delivery",
        "Bounce",
        "Complaint",
        "Reject",
        "Open",
        "Click",
        "RenderingFailure",
        "DeliveryDelay",
        "Subscription",
    ] {
        assert_eq!(count(metric), 1, "{metric}");
    }
    assert_eq!(count("BouncePermanent"), 1);
    assert_eq!(count("BouncePermanentSuppressed"), 0);
    assert_eq!(out.metrics.get("ConfigSet", "example.com", "Bounce"), 1);

    // No address the engine can find survives in the readonly output.
    let masker = Masker::new();
    for r in &out.response.records {
        let data = r.decoded_data().unwrap();
        assert!(masker.find(&data).is_empty(), "{}", String::from_utf8_lossy(&data));
        serde_json::from_slice::<serde_json::Value>(&data).expect("output stays JSON");
    }
    assert!(out.metrics.masked.emails >= 30 && out.metrics.masked.ipv4 >= 2, "{:?}", out.metrics.masked);
}
