//! The rendered form: [`Notification`] with a subject SNS accepts and a body that reads
//! Japanese first, then English, then the exact command, then console links.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use serde::{Deserialize, Serialize};

/// SNS `Subject`: "less than 100 characters", no line breaks or control characters.
const MAX_SUBJECT_CHARS: usize = 99;

/// How urgent a notification is. Ordered: `Info < Warning < Critical`, so "the severity rose"
/// is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Info,
    Warning,
    Critical,
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

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who must act. Every notification goes to the operations topic; a [`Route::DnsTeam`] one
/// (a request to add or remove a DNS record) also goes to the DNS team's topic when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Operations,
    DnsTeam,
}

/// A DNS TXT record to paste, in both forms the DNS team may need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecordBlock {
    pub name: String,
    pub record_type: String,
    /// The joined value on one line.
    pub value: String,
    /// The value as quoted ≤ 255-byte strings (Route 53, Terraform).
    pub quoted: String,
    pub public_key_fingerprint: String,
}

/// What every message needs to know about where it comes from.
#[derive(Debug, Clone)]
pub struct Context {
    /// `ENVIRONMENT`, e.g. `prod`.
    pub environment: String,
    /// The mail domain the message is about.
    pub domain: String,
    /// AWS region of the console links and commands.
    pub region: String,
    /// When it happened (shown in JST and UTC).
    pub at: Timestamp,
    /// The DKIM manager Lambda, for the commands to run next.
    pub dkim_manager_function: String,
    /// `DKIM_CERTIFICATES_BUCKET`, for the S3 console link (optional).
    pub certificates_bucket: Option<String>,
}

/// One notification, ready to publish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Stable kind name (`dkim.dns_record_request`, `monitor.key_expiry`, …).
    pub kind: &'static str,
    pub severity: Severity,
    pub route: Route,
    pub title_ja: String,
    pub title_en: String,
    pub environment: String,
    pub domain: String,
    pub region: String,
    pub at: Timestamp,
    /// (label, value) lines shown once, above both languages.
    pub facts: Vec<(String, String)>,
    pub happened_ja: String,
    pub happened_en: String,
    pub next_ja: String,
    pub next_en: String,
    /// Exact commands or payloads to run next, language-independent.
    pub commands: Vec<String>,
    pub record: Option<DnsRecordBlock>,
    /// (label, URL) console links for the region.
    pub links: Vec<(String, String)>,
}

/// Japan has had no daylight saving time since 1951, so a fixed +09:00 is exact and needs no
/// time-zone database in the Lambda.
pub fn jst() -> TimeZone {
    TimeZone::fixed(Offset::constant(9))
}

/// `2026-12-01 09:00 JST (2026-12-01T00:00:00Z)`.
pub fn format_time(at: Timestamp) -> String {
    format!("{} JST ({})", at.to_zoned(jst()).strftime("%Y-%m-%d %H:%M"), at)
}

impl Notification {
    /// `【SEVERITY】日本語件名 / English title: domain`, at most 99 characters, one line.
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

    /// The body: header facts, Japanese, English, commands, DNS record, console links.
    pub fn message(&self) -> String {
        let mut m = String::new();
        let _ = writeln!(m, "【{}】{}", self.severity.as_str(), self.title_ja);
        let _ = writeln!(m, "[{}] {}", self.severity.as_str(), self.title_en);
        m.push('\n');
        let _ = writeln!(m, "重要度 / Severity: {}", self.severity.as_str());
        let _ = writeln!(m, "環境 / Environment: {}", self.environment);
        let _ = writeln!(m, "ドメイン / Domain: {}", self.domain);
        let _ = writeln!(m, "リージョン / Region: {}", self.region);
        let _ = writeln!(m, "日時 / Time: {}", format_time(self.at));
        for (label, value) in &self.facts {
            let _ = writeln!(m, "{label}: {value}");
        }
        m.push_str("\n--- 日本語 ---\n");
        let _ = writeln!(m, "■ 発生した事象\n{}", self.happened_ja.trim_end());
        let _ = writeln!(m, "■ 次に行うこと\n{}", self.next_ja.trim_end());
        m.push_str("\n--- English ---\n");
        let _ = writeln!(m, "■ What happened\n{}", self.happened_en.trim_end());
        let _ = writeln!(m, "■ What to do next\n{}", self.next_en.trim_end());
        if !self.commands.is_empty() {
            m.push_str("\n--- コマンド / Commands ---\n");
            for command in &self.commands {
                let _ = writeln!(m, "{command}");
            }
        }
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
        if !self.links.is_empty() {
            let _ = writeln!(m, "\n--- コンソール / Console ({}) ---", self.region);
            for (label, url) in &self.links {
                let _ = writeln!(m, "{label}: {url}");
            }
        }
        m
    }
}

/// Console links for one region. The paths are the consoles' own URL fragments.
pub(crate) mod links {
    use super::Context;

    pub fn ses_identity(ctx: &Context) -> (String, String) {
        let r = &ctx.region;
        (
            "SES ID / SES identity".into(),
            format!("https://{r}.console.aws.amazon.com/ses/home?region={r}#/identities/{}", ctx.domain),
        )
    }

    pub fn ses_reputation(ctx: &Context) -> (String, String) {
        let r = &ctx.region;
        (
            "SES 評価指標 / SES reputation".into(),
            format!("https://{r}.console.aws.amazon.com/ses/home?region={r}#/reputation"),
        )
    }

    pub fn cloudwatch_metrics(ctx: &Context) -> (String, String) {
        let r = &ctx.region;
        (
            "CloudWatch メトリクス / CloudWatch metrics".into(),
            format!("https://{r}.console.aws.amazon.com/cloudwatch/home?region={r}#metricsV2"),
        )
    }

    pub fn dkim_manager(ctx: &Context) -> (String, String) {
        let r = &ctx.region;
        (
            "DKIM 管理 Lambda / DKIM manager Lambda".into(),
            format!(
                "https://{r}.console.aws.amazon.com/lambda/home?region={r}#/functions/{}",
                ctx.dkim_manager_function
            ),
        )
    }

    pub fn certificates(ctx: &Context) -> Option<(String, String)> {
        let bucket = ctx.certificates_bucket.as_ref()?;
        Some((
            "DKIM 鍵メタデータ (S3) / DKIM key metadata (S3)".into(),
            format!(
                "https://s3.console.aws.amazon.com/s3/buckets/{bucket}?region={}&prefix=dkim-certificates/{}/",
                ctx.region, ctx.domain
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(title_ja: &str) -> Notification {
        Notification {
            kind: "test",
            severity: Severity::Warning,
            route: Route::Operations,
            title_ja: title_ja.into(),
            title_en: "DKIM DNS record request".into(),
            environment: "prod".into(),
            domain: "goo.ne.jp".into(),
            region: "ap-northeast-1".into(),
            at: "2026-12-01T00:00:00Z".parse().unwrap(),
            facts: vec![],
            happened_ja: "起きた".into(),
            happened_en: "happened".into(),
            next_ja: "次".into(),
            next_en: "next".into(),
            commands: vec![],
            record: None,
            links: vec![],
        }
    }

    #[test]
    fn subject_is_short_single_line_with_severity() {
        let n = sample("DKIM DNSレコード登録依頼");
        assert_eq!(n.subject(), "【WARNING】DKIM DNSレコード登録依頼 / DKIM DNS record request: goo.ne.jp");
        let long = sample(&format!("{}\n改行", "長い件名".repeat(40)));
        let subject = long.subject();
        assert_eq!(subject.chars().count(), 99);
        assert!(subject.ends_with('…'));
        assert!(!subject.chars().any(char::is_control));
        assert!(subject.starts_with("【WARNING】"));
    }

    #[test]
    fn japanese_comes_before_english_and_time_is_jst() {
        let m = sample("件名").message();
        let ja = m.find("--- 日本語 ---").unwrap();
        let en = m.find("--- English ---").unwrap();
        assert!(ja < en);
        assert!(m.contains("日時 / Time: 2026-12-01 09:00 JST (2026-12-01T00:00:00Z)"), "{m}");
    }

    #[test]
    fn severity_order_is_info_warning_critical() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
    }
}
