//! Per-object masking: record delimiting, gzip layers, bad objects, streaming.

use std::io::{self, Read, Write};

use flate2::Compression as Level;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use logmask_archive::{Compression, MAX_RECORD_BYTES, ObjectError, RawObject, mask_object};
use logmask_mask::{Masker, Role};
use proptest::prelude::*;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Level::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

fn run(role: Role, input: &[u8]) -> (String, logmask_archive::ObjectStats) {
    let mut out = Vec::new();
    let stats = mask_object(&Masker::new(), role, input, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), stats)
}

fn cwl(group: &str, messages: &[&str]) -> String {
    let events: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                r#"{{"id":"{i}","timestamp":{},"message":{}}}"#,
                1_714_555_800_000u64 + i as u64,
                serde_json::to_string(m).unwrap()
            )
        })
        .collect();
    format!(
        r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"{group}","logStream":"s","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
        events.join(",")
    )
}

const CONTROL: &str = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;

fn ses(n: usize) -> String {
    format!(
        r#"{{"eventType":"Delivery","mail":{{"timestamp":"2024-05-01T09:30:00.000Z","source":"shop@example.com","destination":["user{n}@example.co.jp"],"sourceIp":"203.0.113.{n}"}},"delivery":{{"recipients":["user{n}@example.co.jp"]}}}}"#
    )
}

#[test]
fn newline_delimited_ses_events_stay_one_per_line() {
    let input = format!("{}\n{}\n{}\n", ses(1), ses(2), ses(3));
    let (out, stats) = run(Role::Readonly, input.as_bytes());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["mail"]["destination"][0], "<email>");
        assert_eq!(v["mail"]["sourceIp"], "<ipv4>");
    }
    assert!(!out.contains("example.co.jp") && out.ends_with('\n'));
    assert_eq!((stats.records, stats.dropped, stats.malformed), (3, 0, 0));
    assert_eq!((stats.counts.emails, stats.counts.ipv4), (9, 3));
    assert_eq!(stats.bytes_in, input.len() as u64);
}

#[test]
fn concatenated_documents_are_split_at_their_braces() {
    // `}{` with braces and quotes inside strings, and a pretty-printed document.
    let tricky = r#"{"eventType":"Bounce","note":"a } b { \" } c@example.com","bounce":{}}"#;
    let pretty = "{\n  \"eventType\": \"Send\",\n  \"mail\": {\"source\": \"d@example.com\"}\n}";
    let input = format!("{}{tricky}{}{pretty}", ses(1), ses(2));
    let (out, stats) = run(Role::Readonly, input.as_bytes());
    // The pretty document keeps its inner newlines, so it spans lines: parse as a stream.
    let parsed: Vec<serde_json::Value> =
        serde_json::Deserializer::from_str(&out).into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(parsed.len(), 4, "{out}");
    assert_eq!(out.lines().take(3).filter(|l| l.starts_with('{') && l.ends_with('}')).count(), 3);
    assert_eq!(parsed[1]["note"], r#"a } b { " } <email>"#);
    assert_eq!(parsed[3]["mail"]["source"], "<email>");
    assert_eq!(stats.records, 4);
    assert!(!out.contains("example.com"));
}

#[test]
fn cloudwatch_logs_backup_gzip_members_back_to_back() {
    // Source-record backup of a CloudWatch Logs stream: each record is its own gzip member.
    let mut raw = Vec::new();
    raw.extend(gzip(cwl("/app", &["login from 192.0.2.10 by a@example.com", "ok"]).as_bytes()));
    raw.extend(gzip(CONTROL.as_bytes()));
    raw.extend(gzip(cwl("/app", &["2001:db8::1 connected"]).as_bytes()));
    let mut out = Vec::new();
    let object = RawObject::open(&raw[..]).unwrap();
    assert_eq!(object.compression(), Compression::Gzip);
    let stats = object.mask_into(&Masker::new(), Role::Operator, &mut out).unwrap();
    let text = String::from_utf8(gunzip(&out)).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["message"], "login from 192.0.2.* by a***@example.com");
    assert_eq!(lines[0]["logGroup"], "/app");
    let v6 = lines[2]["message"].as_str().unwrap();
    assert!(v6.starts_with("2001:db8:") && v6.ends_with(" connected") && !v6.contains("::1"), "{v6}");
    assert_eq!((stats.records, stats.dropped), (3, 1));
    assert_eq!(stats.bytes_in, raw.len() as u64);
    assert_eq!(stats.bytes_out, out.len() as u64);
}

#[test]
fn gzip_of_gzip_members_is_opened_twice() {
    // Backup compression GZIP over records that are gzip already.
    let mut members = gzip(cwl("/g", &["x@example.com"]).as_bytes());
    members.extend(gzip(cwl("/g", &["y@example.com"]).as_bytes()));
    let raw = gzip(&members);
    let mut out = Vec::new();
    let stats = mask_object(&Masker::new(), Role::Readonly, &raw[..], &mut out).unwrap();
    let text = String::from_utf8(gunzip(&out)).unwrap();
    assert_eq!(text.matches("\"message\":\"<email>\"").count(), 2, "{text}");
    assert_eq!(stats.counts.emails, 2);
}

#[test]
fn plain_text_is_masked_like_the_engine_does_and_stays_plain() {
    let mut input = String::new();
    for i in 0..5000 {
        input.push_str(&format!("{i} user{i}@example.com from 10.0.{}.{} ok\n", i % 256, i % 200));
    }
    input.push_str("last line without newline 2001:db8::1");
    let (out, stats) = run(Role::Readonly, input.as_bytes());
    let (expected, counts) = Masker::new().mask(Role::Readonly, input.as_bytes());
    assert_eq!(out.as_bytes(), &expected[..]);
    assert_eq!(stats.counts, counts);
    assert_eq!(stats.records, 5001);
    let (admin, _) = run(Role::Admin, input.as_bytes());
    assert_eq!(admin, input);
}

#[test]
fn braces_in_text_lines_keep_the_line_whole() {
    let input = "{user} logged in from 192.0.2.1\n{\"broken\": \"a@example.com\"\nnext 192.0.2.2\n{tail";
    let (out, stats) = run(Role::Readonly, input.as_bytes());
    assert_eq!(out, "{user} logged in from <ipv4>\n{\"broken\": \"<email>\"\nnext <ipv4>\n{tail");
    assert_eq!(stats.malformed, 3);
}

#[test]
fn indentation_of_text_lines_survives_record_and_block_edges() {
    let frame = "\tat com.example.Mailer.send(Mailer.java:42) for a@example.com\n";
    let mut input = format!("{}\n\n", ses(1));
    while input.len() < 3 * logmask_archive::TEXT_BLOCK_BYTES {
        input.push_str(frame);
    }
    let (out, _) = run(Role::Readonly, input.as_bytes());
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("{\"eventType\""));
    let masked_frame = "\tat com.example.Mailer.send(Mailer.java:42) for <email>";
    assert!(lines.all(|l| l == masked_frame), "every frame keeps its tab");
    let (plain, _) = run(Role::Admin, b"  indented first line\n\n");
    assert_eq!(plain, "  indented first line\n\n");
}

#[test]
fn mixed_json_and_text_lines() {
    let input = format!("plain a@example.com\n{}\nmore 192.0.2.7\n", ses(4));
    let (out, stats) = run(Role::Readonly, input.as_bytes());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "plain <email>");
    assert!(lines[1].starts_with("{\"eventType\":\"Delivery\"") && !lines[1].contains("example.co.jp"));
    assert_eq!(lines[2], "more <ipv4>");
    assert_eq!(stats.records, 3);
}

#[test]
fn bad_objects_are_typed_errors() {
    let masker = Masker::new();
    let mut corrupt = gzip(b"hello a@example.com\n");
    let n = corrupt.len();
    corrupt[n / 2] ^= 0xff;
    corrupt[n / 2 + 1] ^= 0x55;
    let err = mask_object(&masker, Role::Readonly, &corrupt[..], &mut Vec::new()).unwrap_err();
    assert!(matches!(err, ObjectError::CorruptGzip(_)), "{err}");
    assert!(err.is_permanent());

    let full = gzip(&vec![b'a'; 100_000]);
    let err = mask_object(&masker, Role::Readonly, &full[..full.len() / 2], &mut Vec::new()).unwrap_err();
    assert!(matches!(err, ObjectError::CorruptGzip(ref m) if m == "truncated"), "{err}");

    let mut binary = b"text a@example.com\n".to_vec();
    binary.extend([0xff, 0xfe, 0x00, 0x01, 0x80]);
    let err = mask_object(&masker, Role::Readonly, &binary[..], &mut Vec::new()).unwrap_err();
    assert!(matches!(err, ObjectError::NotText { offset: 19 }), "{err}");
    assert!(!err.to_string().contains("example"));
}

struct FailingReader {
    data: Vec<u8>,
    fail_after: usize,
    at: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.fail_after {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset"));
        }
        let n = buf.len().min(self.fail_after - self.at).min(self.data.len() - self.at).min(1000);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_storage_error_is_retryable_not_a_bad_object() {
    let data = gzip(&"line a@example.com\n".repeat(50_000).into_bytes());
    let reader = FailingReader { fail_after: data.len() / 2, data, at: 0 };
    let err = mask_object(&Masker::new(), Role::Readonly, reader, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, ObjectError::Read(_)), "{err}");
    assert!(!err.is_permanent());
}

#[test]
fn a_line_longer_than_a_record_is_cut_at_a_space() {
    let mut input = Vec::with_capacity(MAX_RECORD_BYTES + 100);
    while input.len() < MAX_RECORD_BYTES + 50 {
        input.extend_from_slice(b"word a@example.com ");
    }
    let (out, stats) = run(Role::Readonly, &input);
    let (expected, _) = Masker::new().mask(Role::Readonly, &input);
    assert_eq!(out.as_bytes(), &expected[..]);
    assert_eq!(stats.counts.emails as usize, input.len() / 19 + usize::from(input.len() % 19 > 0));
}

/// A reader that returns at most `step` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Records in any mix and delimiting, read in any slice size: the same output as one read,
    /// and no address left.
    #[test]
    fn output_does_not_depend_on_read_sizes(
        kinds in prop::collection::vec(0u8..4, 1..40),
        delimiters in prop::collection::vec(prop::sample::select(vec!["", "\n", "\r\n", " \n\n"]), 40),
        step in 1usize..700,
    ) {
        let mut input = String::new();
        for (i, kind) in kinds.iter().enumerate() {
            match kind {
                0 => input.push_str(&ses(i)),
                1 => input.push_str(&cwl("/g", &["a@example.com said {\"x\": 1}", "192.0.2.9"])),
                2 => input.push_str(&format!("text {i} b{i}@example.org }}{{\n")),
                _ => input.push_str(CONTROL),
            }
            input.push_str(delimiters[i]);
        }
        let whole = run(Role::Readonly, input.as_bytes());
        let mut out = Vec::new();
        let stats = mask_object(&Masker::new(), Role::Readonly, Trickle { data: input.as_bytes(), step }, &mut out).unwrap();
        prop_assert_eq!(String::from_utf8(out).unwrap(), whole.0.clone());
        prop_assert_eq!(stats, whole.1);
        prop_assert!(!whole.0.contains("example.co"), "{}", whole.0);
        prop_assert!(!whole.0.contains("192.0.2"));
    }
}
