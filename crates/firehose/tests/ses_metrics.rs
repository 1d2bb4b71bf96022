//! Issue 14: an SES event with a lone surrogate escape (`\ud800`, which no UTF-8 string can hold)
//! in a field the metrics read, or anywhere else, is still masked and still counted. A field that
//! cannot be read counts as unknown; the others count as usual.

use logmask_firehose::audit::readable_findings;
use logmask_firehose::{RecordKind, RecordResult};
use logmask_mask::{Masker, Role};

use crate::common::{MemoryStream, event_of, run};

/// A Delivery event of configuration set `marketing` from `shop@example.com`, with `edit` applied.
fn delivery(edit: impl Fn(String) -> String) -> Vec<u8> {
    edit(
        r#"{"eventType":"Delivery","mail":{"timestamp":"2024-05-01T09:30:00.000Z","source":"shop@example.com","messageId":"m1","destination":["taro@example.co.jp"],"headers":[{"name":"To","value":"taro@example.co.jp"}],"tags":{"ses:source-ip":["192.0.2.10"],"ses:configuration-set":["marketing"]}},"delivery":{"timestamp":"2024-05-01T09:30:02.000Z","recipients":["taro@example.co.jp"],"remoteMtaIp":"198.51.100.7"}}"#
            .to_owned(),
    )
    .into_bytes()
}

#[test]
fn a_lone_surrogate_anywhere_still_gives_ses_metrics_and_masks_the_record() {
    let cases: Vec<(&str, Vec<u8>, &str, &str, &str)> = vec![
        // (what, record, configuration set, sending domain, metric counted)
        ("none", delivery(|s| s), "marketing", "example.com", "Delivery"),
        (
            "a header value",
            delivery(|s| s.replace(r#""value":"taro"#, r#""value":"\ud800 taro"#)),
            "marketing",
            "example.com",
            "Delivery",
        ),
        (
            "a key nobody reads",
            delivery(|s| s.replace(r#""messageId""#, r#""message\ud800Id""#)),
            "marketing",
            "example.com",
            "Delivery",
        ),
        (
            "a top-level key",
            delivery(|s| s.replacen('{', r#"{"\udfff":"x taro@example.co.jp","#, 1)),
            "marketing",
            "example.com",
            "Delivery",
        ),
        (
            "another tag's name",
            delivery(|s| s.replace("ses:source-ip", r"ses:source-ip\ud800")),
            "marketing",
            "example.com",
            "Delivery",
        ),
        (
            "mail.source",
            delivery(|s| s.replace(r#""source":"shop@"#, r#""source":"\ud800shop@"#)),
            "marketing",
            "unknown",
            "Delivery",
        ),
        (
            "the configuration set",
            delivery(|s| s.replace(r#"["marketing"]"#, r#"["market\ud800ing"]"#)),
            "unknown",
            "example.com",
            "Delivery",
        ),
        (
            "eventType",
            delivery(|s| s.replace(r#""Delivery""#, r#""Deliv\ud800ery""#)),
            "marketing",
            "example.com",
            "OtherEvent",
        ),
        (
            "the delivery time",
            delivery(|s| s.replace(r#""2024-05-01T09:30:02.000Z""#, r#""2024-05-01T09:30:02.000Z\ud800""#)),
            "marketing",
            "example.com",
            "Delivery",
        ),
    ];
    let masker = Masker::new();
    for (what, record, set, domain, metric) in cases {
        let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(vec![record]));
        assert_eq!(out.kinds[0], RecordKind::SesEvent, "{what}");
        let entry = &out.response.records[0];
        assert_eq!(entry.result, RecordResult::Ok, "{what}");
        assert_eq!(out.metrics.get(set, domain, metric), 1, "{what}: {:?}", out.metrics.ses);
        assert_eq!(out.metrics.get(set, domain, "Events"), 1, "{what}");
        let data = entry.decoded_data().unwrap();
        assert!(readable_findings(&masker, &data).is_empty(), "{what}: {}", String::from_utf8_lossy(&data));
        assert!(!String::from_utf8_lossy(&data).contains("taro"), "{what}");
        let keys = &entry.metadata.as_ref().unwrap().partition_keys;
        let want_type = if metric == "OtherEvent" { "Other" } else { "Delivery" };
        assert_eq!(&keys["eventType"], want_type, "{what}");
        // The event's own time, else (unreadable) the record's arrival: 2024-05-01 09:30:05.
        assert_eq!((&keys["year"], &keys["hour"]), ("2024", "09"), "{what}");
    }
}

#[test]
fn fields_of_an_unexpected_type_count_as_unknown() {
    let record = delivery(|s| s.replace(r#""source":"shop@example.com""#, r#""source":42"#));
    let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(vec![record]));
    assert_eq!(out.kinds[0], RecordKind::SesEvent);
    assert_eq!(out.metrics.get("marketing", "unknown", "Delivery"), 1);

    // `mail` that is not an object is not an SES event: masked as any JSON document.
    let record = br#"{"eventType":"Send","mail":"bob@example.com"}"#.to_vec();
    let out = run(Role::Readonly, 6_000_000, &MemoryStream::default(), event_of(vec![record]));
    assert_eq!(out.kinds[0], RecordKind::Json);
    assert!(out.metrics.ses.is_empty());
}
