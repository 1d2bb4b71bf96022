//! Deterministic corpora shared by the benchmarks (nothing large is committed).
//!
//! Each generator builds whole newline-terminated lines from a [`fastrand::Rng`] with a fixed
//! seed (the workspace's one RNG) until the buffer holds at least the requested number of bytes,
//! so every run (and every machine) measures the same text for the `fastrand` version that
//! `Cargo.lock` pins:
//!
//! * [`ses_json`] — SES event-publishing records (Send, Delivery, Bounce, Complaint, Open, Click):
//!   PII-dense, with addresses in `source`, `destination`, `headers`, `commonHeaders`,
//!   recipients, `tags` and `ipAddress`, plus the dotted numbers SES writes next to them
//!   (user-agent versions, SMTP status codes, MTA names).
//! * [`app_logs`] — application log lines: ISO timestamps, `12:34:56.789`, durations, versions,
//!   paths, UUIDs, stack frames, MACs and ARNs; about one line in five carries an address, some
//!   JSON-escaped (`\u0040`), URL-encoded (`%40`) or written against Japanese text.
//! * [`clean_logs`] — the same application lines without any address.
//!
//! # Example
//!
//! ```
//! let corpus = logmask_benches::app_logs(64 * 1024);
//! assert!(corpus.len() >= 64 * 1024);
//! assert_eq!(corpus, logmask_benches::app_logs(64 * 1024)); // deterministic
//! assert_eq!(corpus.last(), Some(&b'\n'));
//! ```

use std::io::Write as _;

use fastrand::Rng;

/// The corpus size the benchmarks use: large enough to leave the caches, small enough for a
/// quick suite.
pub const CORPUS_BYTES: usize = 2 * 1024 * 1024;

/// SES event-publishing JSON lines, at least `bytes` long.
pub fn ses_json(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::with_seed(0x5E5_0001);
    build(bytes, |out| ses_event(&mut rng, out))
}

/// Application log lines, about 20 % of them with an e-mail, IPv4 or IPv6 address.
pub fn app_logs(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::with_seed(0xA99_0002);
    build(bytes, |out| app_line(&mut rng, out, 20))
}

/// Application log lines without any address.
pub fn clean_logs(bytes: usize) -> Vec<u8> {
    let mut rng = Rng::with_seed(0xC1E_0003);
    build(bytes, |out| app_line(&mut rng, out, 0))
}

fn build(bytes: usize, mut line: impl FnMut(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 4096);
    while out.len() < bytes {
        line(&mut out);
        out.push(b'\n');
    }
    out
}

/// What the generators draw beyond [`Rng`]'s uniform integers. Indices are drawn as `u64`
/// because `Rng::usize` draws differently on 32- and 64-bit targets.
trait Draw {
    /// One of `items`, uniformly.
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T;
    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool;
    /// `digits` lowercase hex digits appended to `out`.
    fn hex(&mut self, out: &mut Vec<u8>, digits: usize);
}

impl Draw for Rng {
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.u64(..items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.u64(..100) < percent
    }

    fn hex(&mut self, out: &mut Vec<u8>, digits: usize) {
        for _ in 0..digits {
            out.push(b"0123456789abcdef"[self.u64(..16) as usize]);
        }
    }
}

const GIVEN: &[&str] = &[
    "taro", "hanako", "yuki", "kenji", "sakura", "hiroshi", "aiko", "john", "mary", "li.wei", "anna", "mohamed",
    "olivia", "noah", "m.tanaka", "s_suzuki", "info", "support", "no-reply", "billing",
];
const FAMILY: &[&str] =
    &["yamada", "suzuki", "tanaka", "sato", "watanabe", "smith", "garcia", "chen", "kim", "mueller"];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.co.jp",
    "mail.example.jp",
    "corp.example.net",
    "example.org",
    "docomo.example.ne.jp",
    "ezweb.example.ne.jp",
    "gmail.example.com",
    "outlook.example.jp",
    "shop.example.co.uk",
];
const SENDER_DOMAINS: &[&str] = &["news.example.com", "example.co.jp", "mail.shop.example.jp", "notify.example.net"];
const JP_NAMES: &[&str] = &["山田 太郎", "鈴木 花子", "田中 健二", "佐藤 さくら", "渡辺 裕子"];
const SUBJECTS: &[&str] = &[
    "Your order #10023 has shipped",
    "ご注文ありがとうございます",
    "Password reset request",
    "【重要】お支払い方法の確認",
    "Weekly digest: 12 new items",
    "Invoice 2024-05 (v2.1)",
    "キャンペーンのお知らせ 5.5倍ポイント",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; SC-51D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.118 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
];
const CONFIG_SETS: &[&str] = &["ses-migration-production", "marketing", "transactional-jp"];

fn email(rng: &mut Rng, out: &mut Vec<u8>) {
    let given = rng.pick(GIVEN);
    out.extend_from_slice(given.as_bytes());
    match rng.u64(..4) {
        0 => {}
        1 => write!(out, ".{}", rng.pick(FAMILY)).unwrap(),
        2 => write!(out, "{}", rng.u64(1..=9999)).unwrap(),
        _ => write!(out, "+tag{}", rng.u64(..100)).unwrap(),
    }
    out.push(b'@');
    out.extend_from_slice(rng.pick(DOMAINS).as_bytes());
}

fn sender(rng: &mut Rng, out: &mut Vec<u8>) {
    write!(out, "{}@{}", rng.pick(&["info", "no-reply", "news", "support"]), rng.pick(SENDER_DOMAINS)).unwrap();
}

fn ipv4(rng: &mut Rng, out: &mut Vec<u8>) {
    let first = rng.pick(&[&10u8, &54, &172, &192, &198, &203, &52, &13]);
    write!(out, "{first}.{}.{}.{}", rng.u64(..256), rng.u64(..256), rng.u64(1..=254)).unwrap();
}

fn ipv6(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.u64(..4) {
        0 => write!(out, "2001:db8:{:x}::{:x}", rng.u64(..0x10000), rng.u64(1..=0xffff)).unwrap(),
        1 => write!(
            out,
            "2404:6800:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
            rng.u64(..0x10000),
            rng.u64(..0x10000),
            rng.u64(..0x10000),
            rng.u64(..0x10000),
            rng.u64(..0x10000),
            rng.u64(..0x10000)
        )
        .unwrap(),
        2 => write!(
            out,
            "fe80::{:x}:{:x}ff:fe{:x}:{:x}",
            rng.u64(..0x10000),
            rng.u64(..256),
            rng.u64(..256),
            rng.u64(..0x10000)
        )
        .unwrap(),
        _ => write!(out, "::ffff:192.0.2.{}", rng.u64(1..=254)).unwrap(),
    }
}

fn uuid(rng: &mut Rng, out: &mut Vec<u8>) {
    for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        rng.hex(out, n);
    }
}

fn iso_time(rng: &mut Rng, out: &mut Vec<u8>) {
    write!(
        out,
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.u64(1..=12),
        rng.u64(1..=28),
        rng.u64(..24),
        rng.u64(..60),
        rng.u64(..60),
        rng.u64(..1000)
    )
    .unwrap();
}

fn message_id(rng: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(b"0106018f");
    rng.hex(out, 8);
    out.push(b'-');
    uuid(rng, out);
    out.extend_from_slice(b"-000000");
}

/// One SES event-publishing record, as SES writes it to Firehose (one JSON object per line).
fn ses_event(rng: &mut Rng, out: &mut Vec<u8>) {
    let kind = rng.pick(&["Send", "Delivery", "Delivery", "Delivery", "Bounce", "Complaint", "Open", "Click"]);
    let recipients = if rng.chance(15) { 2 } else { 1 };
    let mut to: Vec<Vec<u8>> = Vec::new();
    for _ in 0..recipients {
        let mut e = Vec::new();
        email(rng, &mut e);
        to.push(e);
    }
    let mut from = Vec::new();
    sender(rng, &mut from);
    let from = String::from_utf8(from).unwrap();
    let to_list = |out: &mut Vec<u8>| {
        for (i, e) in to.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(e);
            out.push(b'"');
        }
    };
    write!(out, r#"{{"eventType":"{kind}","mail":{{"timestamp":""#).unwrap();
    iso_time(rng, out);
    let display = if rng.chance(30) { rng.pick(JP_NAMES) } else { "Example Shop" };
    write!(
        out,
        r#"","source":"{display} <{from}>","sourceArn":"arn:aws:ses:ap-northeast-1:123456789012:identity/{}","#,
        &from[from.find('@').unwrap() + 1..]
    )
    .unwrap();
    out.extend_from_slice(br#""sendingAccountId":"123456789012","messageId":""#);
    message_id(rng, out);
    out.extend_from_slice(br#"","destination":["#);
    to_list(out);
    write!(out, r#"],"headersTruncated":false,"headers":[{{"name":"From","value":"{display} <{from}>"}},{{"name":"To","value":""#).unwrap();
    out.extend_from_slice(&to[0]);
    out.extend_from_slice(br#""},{"name":"Subject","value":""#);
    let subject = rng.pick(SUBJECTS);
    out.extend_from_slice(subject.as_bytes());
    out.extend_from_slice(br#""},{"name":"MIME-Version","value":"1.0"},{"name":"Content-Type","value":"multipart/alternative; boundary=\"----=_Part_"#);
    write!(out, "{}_{}.{}", rng.u64(..1_000_000), rng.u64(..1_000_000_000), rng.u64(..1 << 40)).unwrap();
    out.extend_from_slice(br#"\""},{"name":"List-Unsubscribe","value":"<mailto:unsubscribe@"#);
    out.extend_from_slice(&from.as_bytes()[from.find('@').unwrap() + 1..]);
    out.extend_from_slice(br#"?subject=unsubscribe>, <https://"#);
    out.extend_from_slice(&from.as_bytes()[from.find('@').unwrap() + 1..]);
    out.extend_from_slice(br#"/u?e="#);
    let first = &to[0];
    let at = first.iter().position(|&b| b == b'@').unwrap();
    out.extend_from_slice(&first[..at]);
    out.extend_from_slice(b"%40");
    out.extend_from_slice(&first[at + 1..]);
    out.extend_from_slice(br#">"}],"commonHeaders":{"from":[""#);
    write!(out, r#"{display} <{from}>"],"to":["#).unwrap();
    to_list(out);
    out.extend_from_slice(br#"],"messageId":""#);
    message_id(rng, out);
    write!(out, r#"","subject":"{subject}"}},"tags":{{"ses:operation":["SendEmail"],"ses:configuration-set":["{}"],"ses:source-ip":[""#, rng.pick(CONFIG_SETS)).unwrap();
    ipv4(rng, out);
    out.extend_from_slice(br#""],"ses:from-domain":[""#);
    out.extend_from_slice(&from.as_bytes()[from.find('@').unwrap() + 1..]);
    out.extend_from_slice(br#""],"ses:caller-identity":["ses-sender"],"ses:outgoing-ip":[""#);
    write!(out, "54.240.{}.{}", rng.u64(..64), rng.u64(1..=254)).unwrap();
    out.extend_from_slice(br#""]}}"#);
    match kind {
        "Send" => out.extend_from_slice(br#","send":{}"#),
        "Delivery" => {
            out.extend_from_slice(br#","delivery":{"timestamp":""#);
            iso_time(rng, out);
            write!(out, r#"","processingTimeMillis":{},"recipients":["#, rng.u64(200..=4000)).unwrap();
            to_list(out);
            write!(
                out,
                r#"],"smtpResponse":"250 2.0.0 OK  {} {}.{} - gsmtp","reportingMTA":"a{}-{}.smtp-out.ap-northeast-1.amazonses.com","remoteMtaIp":""#,
                1_714_000_000 + rng.u64(..1_000_000),
                rng.pick(&["d2e1a72fcca58", "98e67ed59e1d1", "a640c23a62f3a"]),
                rng.u64(..1000),
                rng.u64(..100),
                rng.u64(..100)
            )
            .unwrap();
            if rng.chance(25) {
                ipv6(rng, out)
            } else {
                ipv4(rng, out)
            }
            out.extend_from_slice(br#""}"#);
        }
        "Bounce" => {
            out.extend_from_slice(br#","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":""#);
            out.extend_from_slice(&to[0]);
            out.extend_from_slice(br#"","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 <"#);
            out.extend_from_slice(&to[0]);
            out.extend_from_slice(
                br#">: Recipient address rejected: User unknown in virtual mailbox table"}],"timestamp":""#,
            );
            iso_time(rng, out);
            out.extend_from_slice(br#"","feedbackId":""#);
            message_id(rng, out);
            write!(out, r#"","remoteMtaIp":""#).unwrap();
            ipv4(rng, out);
            write!(
                out,
                r#"","reportingMTA":"dsn; e{}-{}.smtp-out.ap-northeast-1.amazonses.com"}}"#,
                rng.u64(..300),
                rng.u64(..100)
            )
            .unwrap();
        }
        "Complaint" => {
            out.extend_from_slice(br#","complaint":{"feedbackId":""#);
            message_id(rng, out);
            out.extend_from_slice(br#"","complaintSubType":null,"complainedRecipients":[{"emailAddress":""#);
            out.extend_from_slice(&to[0]);
            out.extend_from_slice(br#""}],"timestamp":""#);
            iso_time(rng, out);
            write!(out, r#"","userAgent":"{}","complaintFeedbackType":"abuse","arrivalDate":""#, rng.pick(USER_AGENTS))
                .unwrap();
            iso_time(rng, out);
            out.extend_from_slice(br#""}"#);
        }
        "Open" | "Click" => {
            write!(out, r#","{}":{{"ipAddress":""#, kind.to_ascii_lowercase()).unwrap();
            if rng.chance(30) {
                ipv6(rng, out)
            } else {
                ipv4(rng, out)
            }
            out.extend_from_slice(br#"","timestamp":""#);
            iso_time(rng, out);
            write!(out, r#"","userAgent":"{}""#, rng.pick(USER_AGENTS)).unwrap();
            if kind == "Click" {
                write!(out, r#","link":"https://www.example.com/campaign/2024.05/landing?utm_source=ses&utm_medium=email&id={}","linkTags":{{"samplekey0":["samplevalue0"]}}"#, rng.u64(..100_000)).unwrap();
            }
            out.push(b'}');
        }
        _ => unreachable!("every event type is handled"),
    }
    out.push(b'}');
}

const LEVELS: &[&str] = &["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
const THREADS: &[&str] = &["main", "worker-1", "worker-2", "http-nio-8080-exec-7", "tokio-runtime-worker", "scheduler"];
const LOGGERS: &[&str] = &[
    "c.e.shop.OrderService",
    "c.e.shop.api.CheckoutController",
    "o.s.web.servlet.DispatcherServlet",
    "mailer::queue",
    "hikari.pool.HikariPool",
    "app.payments.stripe",
];
const PATHS: &[&str] =
    &["/api/v2/orders", "/api/v1/users/me", "/health", "/static/js/app.4f3c2a.js", "/api/v2/cart/items", "/metrics"];

/// Log text with no personal data: the dotted numbers, colons and at signs that a scanner must
/// look at and reject.
fn clean_message(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.u64(..12) {
        0 => write!(
            out,
            "{} {} {} {}ms bytes={} ua=\"okhttp/4.12.0\"",
            rng.pick(&["GET", "POST", "PUT"]),
            rng.pick(PATHS),
            rng.pick(&["200", "200", "201", "304", "404", "500"]),
            rng.u64(1..=900),
            rng.u64(..100_000)
        )
        .unwrap(),
        1 => {
            out.extend_from_slice(b"order ");
            uuid(rng, out);
            write!(out, " processed in {}.{:03}s (v{}.{}.{})", rng.u64(..10), rng.u64(..1000), rng.u64(..4), rng.u64(..20), rng.u64(..100)).unwrap();
        }
        2 => write!(
            out,
            "java.lang.IllegalStateException: pool exhausted\n\tat com.example.shop.OrderService.place(OrderService.java:{})\n\tat java.base/java.lang.Thread.run(Thread.java:1583)",
            rng.u64(10..=900)
        )
        .unwrap(),
        3 => write!(out, "connection pool stats active={} idle={} waiting=0 elapsed={}.{:03}", rng.u64(..20), rng.u64(..20), rng.u64(..60), rng.u64(..1000)).unwrap(),
        4 => write!(out, "cache hit ratio 0.{:03} over {} keys; gc pause {}.{}ms", rng.u64(..1000), rng.u64(..1_000_000), rng.u64(..50), rng.u64(..10)).unwrap(),
        5 => write!(out, "scheduled job nightly-report next run at {:02}:{:02}:{:02} (cron 0 3 * * *)", rng.u64(..24), rng.u64(..60), rng.u64(..60)).unwrap(),
        6 => write!(
            out,
            "assumed role arn:aws:iam::123456789012:role/app-{} session={} expires 2024-05-{:02}T{:02}:00:00Z",
            rng.u64(..10),
            rng.u64(..1 << 30),
            rng.u64(1..=28),
            rng.u64(..24)
        )
        .unwrap(),
        7 => write!(out, "interface eth0 hwaddr 02:42:ac:{:02x}:{:02x}:{:02x} mtu 9001 link up", rng.u64(..256), rng.u64(..256), rng.u64(..256)).unwrap(),
        8 => write!(out, "std::io::Error: Connection reset by peer (os error 104) at src/net/client.rs:{}:{}", rng.u64(10..=500), rng.u64(1..=80)).unwrap(),
        9 => write!(out, "loaded config version {}.{}.{}-rc.{} from s3://config-bucket/app/prod.toml in 0.{:03}s", rng.u64(..3), rng.u64(..20), rng.u64(..10), rng.u64(..5), rng.u64(..1000)).unwrap(),
        10 => write!(out, "{{\"level\":\"info\",\"msg\":\"batch flushed\",\"count\":{},\"latency_ms\":{}.{},\"shard\":\"shardId-00000000000{}\"}}", rng.u64(..500), rng.u64(..100), rng.u64(..1000), rng.u64(..10)).unwrap(),
        _ => write!(out, "メール送信キューを処理しました 件数={} 所要時間={}.{:03}秒 バージョン{}.{}.{}", rng.u64(..1000), rng.u64(..10), rng.u64(..1000), rng.u64(..3), rng.u64(..10), rng.u64(..10)).unwrap(),
    }
}

/// A message that carries an address in one of the forms logs really use.
fn pii_message(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.u64(..10) {
        0 => {
            out.extend_from_slice(b"login ok user=");
            email(rng, out);
            out.extend_from_slice(b" ip=");
            ipv4(rng, out);
        }
        1 => {
            out.extend_from_slice(br#"{"level":"info","msg":"mail queued","to":""#);
            let mut e = Vec::new();
            email(rng, &mut e);
            let at = e.iter().position(|&b| b == b'@').unwrap();
            out.extend_from_slice(&e[..at]);
            out.extend_from_slice(br"\u0040");
            out.extend_from_slice(&e[at + 1..]);
            out.extend_from_slice(br#"","attempt":1}"#);
        }
        2 => {
            write!(out, "GET /unsubscribe?list=news&email=").unwrap();
            let mut e = Vec::new();
            email(rng, &mut e);
            for &b in &e {
                match b {
                    b'@' => out.extend_from_slice(b"%40"),
                    b'+' => out.extend_from_slice(b"%2B"),
                    _ => out.push(b),
                }
            }
            write!(out, "&t={} 302 {}ms", rng.u64(..1 << 32), rng.u64(1..=90)).unwrap();
        }
        3 => {
            out.extend_from_slice("会員登録が完了しました: ".as_bytes());
            out.extend_from_slice(rng.pick(JP_NAMES).as_bytes());
            out.extend_from_slice("様 ".as_bytes());
            email(rng, out);
            out.extend_from_slice("に確認メールを送信".as_bytes());
        }
        4 => {
            out.extend_from_slice(b"accepted connection from [");
            ipv6(rng, out);
            write!(out, "]:{} tls=1.3 cipher=TLS_AES_128_GCM_SHA256", rng.u64(1024..=65535)).unwrap();
        }
        5 => {
            out.extend_from_slice(b"upstream ");
            ipv4(rng, out);
            write!(
                out,
                ":{} responded in {}.{:03}s",
                rng.pick(&["8080", "443", "6379"]),
                rng.u64(..5),
                rng.u64(..1000)
            )
            .unwrap();
        }
        6 => {
            out.extend_from_slice(b"bounce for <");
            email(rng, out);
            out.extend_from_slice(b">: 550 5.1.1 mailbox unavailable (remote MTA ");
            ipv4(rng, out);
            out.push(b')');
        }
        7 => {
            out.extend_from_slice("問い合わせ受付 連絡先：".as_bytes());
            let mut e = Vec::new();
            email(rng, &mut e);
            let at = e.iter().position(|&b| b == b'@').unwrap();
            out.extend_from_slice(&e[..at]);
            out.extend_from_slice("＠".as_bytes());
            out.extend_from_slice(&e[at + 1..]);
        }
        8 => {
            out.extend_from_slice(b"rate limit exceeded client_ip=");
            ipv6(rng, out);
            write!(out, " limit={}/min", rng.u64(10..=600)).unwrap();
        }
        _ => {
            out.extend_from_slice(b"password reset requested for ");
            email(rng, out);
            out.extend_from_slice(b" via ");
            ipv4(rng, out);
        }
    }
}

fn app_line(rng: &mut Rng, out: &mut Vec<u8>, pii_percent: u64) {
    if rng.chance(70) {
        iso_time(rng, out);
    } else {
        write!(out, "{:02}:{:02}:{:02}.{:03}", rng.u64(..24), rng.u64(..60), rng.u64(..60), rng.u64(..1000)).unwrap();
    }
    write!(out, " {:5} [{}] {} - ", rng.pick(LEVELS), rng.pick(THREADS), rng.pick(LOGGERS)).unwrap();
    if rng.chance(pii_percent) {
        pii_message(rng, out);
    } else {
        clean_message(rng, out);
    }
    if rng.chance(40) {
        out.extend_from_slice(b" trace_id=");
        rng.hex(out, 32);
    }
}

/// Adversarial corpora: one short unit repeated, with no line break, so every byte sits inside a
/// run that looks like the start of an address. Each is the worst case of one part of the scanner
/// (run expansion, `::` handling, escape decoding, local-part scans) or the densest findings of
/// one kind (the per-finding cost: validation, idempotence rules, rendering) — issue 14's list:
/// runs of `:`, `::1`, `1.`, `%40`, dotted-quad chains, `@` chains, `\u` escapes, and dense
/// findings and disguises. The masker must stay above
/// [`WORST_CASE_TARGET`] on all of them.
pub const ADVERSARIAL: &[(&str, &str)] = &[
    ("colons", ":"),
    ("colon_colon_one", "::1"),
    ("digit_dot", "1."),
    ("percent_40", "%40"),
    ("dotted_quad_chain", "1.2.3.4."),
    ("quad_colon_chain", "1.1.1.1.1:"),
    ("hex_colon", "a:"),
    ("ipv6_groups", "a:a:a:a:a:a:a:a:a-"),
    ("colon_dot", "::1."),
    ("ipv4_dense", "1.2.3.4,"),
    ("ipv6_dense", "fe80::1,"),
    ("email_dense", "a@b.cc,"),
    ("at_chain", "a@"),
    ("email_chain", "a@b.cc."),
    ("ats", "@"),
    ("json_escaped_at", r"\u0040"),
    ("json_escaped_dot", r"1\u002e"),
    ("percent_dot", "1%2e"),
    ("fullwidth_digits", "１．"),
    ("fullwidth_quads", "１．２．３．４ "),
    ("ec2_host", "ip-1-"),
    ("ec2_hosts", "ip-1-2-3-4."),
    ("ec2_then_address", "ip-1-2-3-4-1.2.3.4,"),
    ("json_escape_then_ipv6", r"\u0040::1,"),
    ("json_escape_then_ipv4", r"\u00401.2.3.4,"),
    ("backslashes", "\\"),
    ("local_part", "a."),
    // An address in every unit of a long colon run (each finding made the scan walk the run to
    // its end: quadratic, 0.03 MB/s), and tokens glued to addresses (the views search again).
    ("ipv4_then_ipv6", "10.0.0.1::1"),
    ("quad_double_colon", "1.2.3.4::"),
    ("token_then_ipv4", "<ipv4>10.0.0.1"),
    ("ipv6_into_email", "2001:db8::1bob@example.com "),
    // The densest findings there are: a three-byte address every four bytes (~45 MB/s in
    // session 9; a timing sweep of two-part units found it, not the fuzzer).
    ("ipv6_loopback_dense", "::1 "),
];

/// The worst-case throughput the masker is held to on any input, in bytes per second.
pub const WORST_CASE_TARGET: f64 = 100e6;

/// `unit` repeated to at least `bytes` bytes, without a newline.
pub fn adversarial(unit: &str, bytes: usize) -> Vec<u8> {
    unit.as_bytes().repeat(bytes.div_ceil(unit.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use logmask_mask::Masker;

    fn lines_with_findings(corpus: &[u8]) -> (usize, usize) {
        let masker = Masker::new();
        let lines: Vec<&[u8]> = corpus.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        let with = lines.iter().filter(|l| !masker.find(l).is_empty()).count();
        (with, lines.len())
    }

    #[test]
    fn corpora_are_deterministic_and_sized() {
        for generate in [ses_json, app_logs, clean_logs] {
            let a = generate(100_000);
            assert!(a.len() >= 100_000 && a.len() < 110_000, "len {}", a.len());
            assert_eq!(a, generate(100_000));
            assert!(std::str::from_utf8(&a).is_ok());
        }
    }

    #[test]
    fn ses_json_is_json_and_every_record_has_pii() {
        let corpus = ses_json(200_000);
        for line in corpus.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let value: serde_json::Value = serde_json::from_slice(line).expect("valid JSON line");
            assert!(value["eventType"].is_string());
        }
        let (with, total) = lines_with_findings(&corpus);
        assert_eq!(with, total);
    }

    #[test]
    fn app_logs_have_about_a_fifth_pii_lines_and_clean_logs_none() {
        let (with, total) = lines_with_findings(&app_logs(400_000));
        let share = with as f64 / total as f64;
        assert!((0.15..0.25).contains(&share), "{with} of {total} lines have PII");
        assert_eq!(lines_with_findings(&clean_logs(400_000)).0, 0);
    }
}
