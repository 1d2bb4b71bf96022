//! Notifications in the team's unified format: Japanese first, then English, with a severity
//! (CRITICAL / WARNING / INFO) in the subject as `【SEVERITY】`. SNS requires the subject to be
//! under 100 characters with no line breaks or control characters; [`Notification::subject`]
//! guarantees that. Messages carry public data only (record names, public keys, fingerprints).

use std::fmt::Write as _;
use std::future::Future;

use serde::Serialize;

use crate::error::NotifyError;
use crate::record::DnsTxtRecord;

/// SNS Subject limit: fewer than 100 characters.
const MAX_SUBJECT_CHARS: usize = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }
}

/// One notification; rendered by [`subject`](Self::subject) and [`message`](Self::message).
#[derive(Debug, Clone)]
pub struct Notification {
    pub severity: Severity,
    pub title_ja: String,
    pub title_en: String,
    pub domain: String,
    pub environment: String,
    pub body_ja: String,
    pub body_en: String,
    /// (label, value) lines shown under both languages.
    pub facts: Vec<(String, String)>,
    /// The record to paste into DNS, when the DNS team has something to do.
    pub record: Option<DnsTxtRecord>,
}

impl Notification {
    pub fn subject(&self) -> String {
        let raw = format!("【{}】{} / {}: {}", self.severity.as_str(), self.title_ja, self.title_en, self.domain);
        let clean: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        if clean.chars().count() <= MAX_SUBJECT_CHARS {
            clean
        } else {
            let mut cut: String = clean.chars().take(MAX_SUBJECT_CHARS - 1).collect();
            cut.push('…');
            cut
        }
    }

    pub fn message(&self) -> String {
        let mut m = String::new();
        let _ = writeln!(m, "【{}】{}", self.severity.as_str(), self.title_ja);
        let _ = writeln!(m, "[{}] {}", self.severity.as_str(), self.title_en);
        m.push('\n');
        let _ = writeln!(m, "重要度 / Severity: {}", self.severity.as_str());
        let _ = writeln!(m, "環境 / Environment: {}", self.environment);
        let _ = writeln!(m, "ドメイン / Domain: {}", self.domain);
        for (label, value) in &self.facts {
            let _ = writeln!(m, "{label}: {value}");
        }
        m.push_str("\n--- 日本語 ---\n");
        m.push_str(self.body_ja.trim_end());
        m.push_str("\n\n--- English ---\n");
        m.push_str(self.body_en.trim_end());
        m.push('\n');
        if let Some(record) = &self.record {
            m.push_str("\n--- DNS TXT レコード / DNS TXT record ---\n");
            let _ = writeln!(m, "レコード名 / Name: {}", record.name);
            let _ = writeln!(m, "タイプ / Type: {}", record.record_type);
            let _ = writeln!(m, "値（1行）/ Value (single line):\n{}", record.value);
            let _ = writeln!(
                m,
                "値（255バイト分割: Route 53 等）/ Value split into 255-byte strings (Route 53 etc.):\n{}",
                record.quoted
            );
            let _ = writeln!(m, "公開鍵フィンガープリント / Public key fingerprint: {}", record.public_key_fingerprint);
        }
        m
    }
}

/// Publishes a rendered notification (SNS in production).
pub trait Notifier: Send + Sync {
    fn publish(&self, subject: &str, message: &str) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), NotifyError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| NotifyError(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(title_ja: &str) -> Notification {
        Notification {
            severity: Severity::Warning,
            title_ja: title_ja.into(),
            title_en: "DKIM DNS record request".into(),
            domain: "goo.ne.jp".into(),
            environment: "prod".into(),
            body_ja: "TXT レコードを登録してください。".into(),
            body_en: "Please publish the TXT record.".into(),
            facts: vec![("セレクター / Selector".into(), "s1".into())],
            record: None,
        }
    }

    #[test]
    fn subject_is_short_single_line_with_severity() {
        let n = sample("DKIM DNSレコード登録依頼");
        assert_eq!(n.subject(), "【WARNING】DKIM DNSレコード登録依頼 / DKIM DNS record request: goo.ne.jp");
        let long = sample(&format!("{}\n改行", "長い件名".repeat(40)));
        let subject = long.subject();
        assert!(subject.chars().count() < 100);
        assert!(!subject.chars().any(char::is_control));
        assert!(subject.starts_with("【WARNING】"));
    }

    #[test]
    fn message_has_both_languages_in_order() {
        let m = sample("件名").message();
        let ja = m.find("--- 日本語 ---").unwrap();
        let en = m.find("--- English ---").unwrap();
        assert!(ja < en);
        assert!(m.contains("TXT レコードを登録してください。"));
        assert!(m.contains("Please publish the TXT record."));
        assert!(m.contains("セレクター / Selector: s1"));
    }
}
