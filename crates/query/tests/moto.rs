//! Against moto_server (MOTO_ENDPOINT, started by ./scripts/test): IAM users and groups behind
//! function URL requests, raw objects in S3 (plain, gzip, one large enough to page), and the
//! token key from Secrets Manager — through the real AWS clients of `aws_handler`.

use std::io::Write as _;

use logmask_mask::Role;
use logmask_query::{Config, RESPONSE_LIMIT, aws_handler};
use logmask_test_support::moto::{create_bucket, object, put_secret, s3, sdk_config};
use logmask_test_support::unique;
use serde_json::{Value, json};

const KEY_DOC: &str = "query-moto-token-key-0123456789\n";

struct World {
    sdk: aws_config::SdkConfig,
    project: String,
    bucket: String,
    secret: String,
}

/// A project code of its own (so groups do not collide across runs), two users, a raw bucket,
/// a token key secret.
async fn world() -> World {
    let sdk = sdk_config().await;
    let project = unique("lm");
    let iam = aws_sdk_iam::Client::new(&sdk);
    for (user, group) in [("alice", "admin"), ("olga", "operator"), ("rita", "readonly")] {
        let user = format!("{project}-{user}");
        let group = format!("{project}-production-{group}");
        iam.create_user().user_name(&user).send().await.unwrap();
        iam.create_group().group_name(&group).send().await.unwrap();
        iam.add_user_to_group().user_name(&user).group_name(&group).send().await.unwrap();
    }
    let s3 = s3(&sdk);
    let bucket = unique("raw-logs");
    create_bucket(&s3, &bucket).await;
    let secret = put_secret(&sdk, "logmask/query-key", KEY_DOC).await;
    World { sdk, project, bucket, secret }
}

impl World {
    fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut settings = vec![
            ("PROJECT_CODE", self.project.as_str()),
            ("ENVIRONMENT", "production"),
            ("ADMIN_IP_RANGES", "10.0.0.0/8"),
            ("OPERATOR_IP_RANGES", "192.168.100.0/24"),
            ("RAW_BUCKET", self.bucket.as_str()),
            ("RAW_PREFIX", "firehose/"),
            ("TOKEN_KEY_SECRET_ID", self.secret.as_str()),
        ];
        settings.extend_from_slice(extra);
        Config::from_lookup(|k| settings.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
    }

    fn user_event(&self, user: &str, ip: &str, body: Value) -> Value {
        json!({
            "version": "2.0",
            "requestContext": {
                "accountId": "123456789012",
                "authorizer": {"iam": {"userArn": format!("arn:aws:iam::123456789012:user/{}-{user}", self.project)}},
                "http": {"method": "POST", "path": "/", "sourceIp": ip}
            },
            "body": body.to_string(),
            "isBase64Encoded": false
        })
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) {
        s3(&self.sdk).put_object().bucket(&self.bucket).key(key).body(bytes.into()).send().await.unwrap();
    }
}

fn body(response: &Value) -> Value {
    assert_eq!(response["statusCode"], 200, "{response}");
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn iam_groups_and_the_request_address_decide_the_view() {
    let w = world().await;
    let handler = aws_handler(w.config(&[("DIRECT_INVOKE_MAX_ROLE", "readonly")]), &w.sdk).await.unwrap();
    let claim = json!({"logData": "to taro@example.co.jp via 203.0.113.45", "userGroups": [format!("{}-production-admin", w.project)]});
    let cases = [
        ("alice", "10.1.2.3", "admin", "to taro@example.co.jp via 203.0.113.45"),
        ("alice", "::ffff:192.168.100.9", "operator", "to t***@example.co.jp via 203.0.113.*"),
        ("olga", "10.1.2.3", "operator", "to t***@example.co.jp via 203.0.113.*"),
        ("olga", "198.51.100.1", "readonly", ""),
        ("rita", "10.1.2.3", "readonly", ""),
        ("nobody", "10.1.2.3", "readonly", ""),
    ];
    for (user, ip, role, view) in cases {
        let (out, audit) = handler.respond(&w.user_event(user, ip, claim.clone()), "req").await;
        let b = body(&out.unwrap());
        assert_eq!(b["role"], role, "{user} from {ip}: {b}");
        let data = b["maskedData"].as_str().unwrap();
        if role == "readonly" {
            assert!(data.starts_with("to <email:k1:") && data.contains("via <ipv4:k1:"), "{data}");
        } else {
            assert_eq!(data, view);
        }
        assert_eq!(audit.ignored_claims, ["userGroups"]);
    }
    // The direct invoke of the same claim is capped.
    let out = handler.respond(&claim, "req").await.0.unwrap();
    assert_eq!((out["role"].as_str(), out["groupRole"].as_str()), (Some("readonly"), Some("admin")));
}

#[tokio::test]
async fn raw_objects_are_masked_like_the_archive_and_paged_under_the_limit() {
    let w = world().await;
    let handler = aws_handler(w.config(&[]), &w.sdk).await.unwrap();
    let masker =
        logmask_keys::TokenKeys::parse(KEY_DOC.as_bytes(), "t").unwrap().builder(Default::default()).build().unwrap();

    let cwl = concat!(
        r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"app","logStream":"s","subscriptionFilters":[],"#,
        r#""logEvents":[{"id":"1","timestamp":1714555800000,"message":"login bob@example.com from 10.9.8.7"}]}"#,
    );
    w.put("firehose/2026/12/01/cwl.gz", gzip(&gzip(cwl.as_bytes()))).await;
    w.put("firehose/2026/12/01/plain.log", b"plain line for eve@example.net\n".to_vec()).await;
    for key in ["firehose/2026/12/01/cwl.gz", "firehose/2026/12/01/plain.log"] {
        let event = w.user_event("alice", "192.168.100.7", json!({"s3": {"bucket": w.bucket, "key": key}}));
        let b = body(&handler.respond(&event, "req").await.0.unwrap());
        assert_eq!(b["role"], "operator");
        let raw = object(&s3(&w.sdk), &w.bucket, key).await;
        let mut expected = Vec::new();
        let object = logmask_archive::RawObject::open(std::io::Cursor::new(raw)).unwrap();
        let gz = object.compression() == logmask_archive::Compression::Gzip;
        object.mask_into(&masker, Role::Operator, &mut expected).unwrap();
        if gz {
            let mut plain = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&expected[..]), &mut plain).unwrap();
            expected = plain.into_bytes();
        }
        assert_eq!(b["maskedData"].as_str().unwrap().as_bytes(), &expected[..], "{key}");
        assert!(b["nextOffset"].is_null());
    }

    // About 3 MB gzip-compressible text whose readonly view is over 6 MB: pages of whole lines.
    let line = "delivered to a@b.cc from 1.2.3.4 and c@d.ee\n";
    let big = line.repeat(3 * 1024 * 1024 / line.len());
    w.put("firehose/2026/12/01/big.gz", gzip(big.as_bytes())).await;
    let mut offset = 0u64;
    let mut joined = String::new();
    let mut pages = 0;
    loop {
        let request = json!({"s3": {"bucket": w.bucket, "key": "firehose/2026/12/01/big.gz"}, "offset": offset});
        let out = handler.respond(&w.user_event("rita", "10.0.0.1", request), "req").await.0.unwrap();
        assert!(serde_json::to_vec(&out).unwrap().len() <= RESPONSE_LIMIT);
        let b = body(&out);
        let data = b["maskedData"].as_str().unwrap();
        assert!(data.ends_with('\n'), "a page ends with a whole line");
        assert_eq!(b["counts"]["emails"].as_u64().unwrap(), 2 * (big.len() / line.len()) as u64, "whole-object counts");
        joined.push_str(data);
        pages += 1;
        match b["nextOffset"].as_u64() {
            Some(next) => offset = next,
            None => break,
        }
    }
    assert!(pages >= 2, "{pages} pages");
    assert!(joined == masker.mask_str(Role::Readonly, &big).0, "the pages join to the whole readonly view");
}

#[tokio::test]
async fn the_function_reads_nothing_outside_its_raw_bucket_prefix_and_size() {
    let w = world().await;
    let other = unique("other-bucket");
    create_bucket(&s3(&w.sdk), &other).await;
    s3(&w.sdk)
        .put_object()
        .bucket(&other)
        .key("firehose/x.log")
        .body(b"secret@example.com\n".to_vec().into())
        .send()
        .await
        .unwrap();
    w.put("dkim-certificates/private_key.pem", b"-----BEGIN RSA PRIVATE KEY-----\n".to_vec()).await;
    w.put("firehose/large.log", vec![b'a'; 5000]).await;
    let handler = aws_handler(w.config(&[("MAX_OBJECT_BYTES", "4096")]), &w.sdk).await.unwrap();
    for (bucket, key, status) in [
        (other.as_str(), "firehose/x.log", 403),
        (w.bucket.as_str(), "dkim-certificates/private_key.pem", 403),
        (w.bucket.as_str(), "firehose/large.log", 403),
        (w.bucket.as_str(), "firehose/missing.log", 404),
    ] {
        let event = w.user_event("alice", "10.0.0.1", json!({"s3": {"bucket": bucket, "key": key}}));
        let out = handler.respond(&event, "req").await.0.unwrap();
        assert_eq!(out["statusCode"], status, "{bucket}/{key}: {out}");
        assert!(!out.to_string().contains("secret@") && !out.to_string().contains("BEGIN RSA"));
    }
}

#[tokio::test]
async fn the_token_key_from_secrets_manager_follows_the_one_key_rule_and_a_missing_one_stops_the_start() {
    let w = world().await;
    let handler = aws_handler(w.config(&[]), &w.sdk).await.unwrap();
    let out = handler.respond(&json!({"logData": "bob@example.com"}), "req").await.0.unwrap();
    // The same bytes in a key file (with its trailing newline) give the same pseudonym.
    let dir = std::env::temp_dir().join(unique("logmask-query-key"));
    std::fs::write(&dir, KEY_DOC).unwrap();
    let from_file = logmask_keys::read_key_file(&dir).unwrap().builder(Default::default()).build().unwrap();
    std::fs::remove_file(&dir).unwrap();
    assert_eq!(out["maskedData"].as_str().unwrap(), from_file.mask_str(Role::Readonly, "bob@example.com").0);
    assert_eq!(out["tokenKeyId"], "k1");

    let missing = w.config(&[("TOKEN_KEY_SECRET_ID", "no/such/secret")]);
    let err = aws_handler(missing, &w.sdk).await.err().expect("a missing key is a startup error");
    assert!(err.to_string().contains("secretsmanager:no/such/secret"), "{err}");
}
