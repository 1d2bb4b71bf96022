//! Backfill against a real S3 API (moto_server, started by `./scripts/test`): buckets and
//! prefixes, SSE-KMS, metadata fingerprints, a multipart object, an interrupted run resumed, a
//! corrupt object, a second run that writes nothing, and the Batch Operations handler.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use logmask_archive::{
    AwsS3, BatchConfig, BatchEvent, BatchHandler, BatchTask, Compression, Dest, Fingerprint, META_FINGERPRINT, Options,
    PART_BYTES, ResultCode, S3Dest, S3Source, S3Writer, Stamp, Summary, build_masker, encode_key, run,
};
use logmask_mask::{Masker, Policy, Role};
use logmask_test_support::moto::{create_bucket, sdk_config};
use logmask_test_support::{moto, unique};
use tokio::runtime::Runtime;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

struct World {
    rt: Runtime,
    s3: aws_sdk_s3::Client,
    raw: String,
    masked: String,
    kms_key: String,
}

const BIG_KEY: &str = "raw/2024/05/03/00/big.log";

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (s3, kms_key) = rt.block_on(async {
        let sdk = sdk_config().await;
        let s3 = moto::s3(&sdk);
        let key = aws_sdk_kms::Client::new(&sdk).create_key().description("backfill test").send().await.unwrap();
        (s3, key.key_metadata().unwrap().arn().unwrap().to_owned())
    });
    let (raw, masked) = (unique("raw"), unique("masked"));
    rt.block_on(async {
        for bucket in [&raw, &masked] {
            create_bucket(&s3, bucket).await;
        }
        let mut corrupt = gzip(&b"x@example.com\n".repeat(1000));
        corrupt.truncate(corrupt.len() / 2);
        // Larger than one part once masked: written as a multipart upload.
        let mut big = Vec::with_capacity(PART_BYTES + 2_000_000);
        let mut i = 0u64;
        while big.len() < PART_BYTES + 4_000_000 {
            big.extend_from_slice(
                format!("{i} user{i}@example.com from 198.51.100.{} GET /index.html 200 0.013 Mozilla/5.0 (X11; Linux x86_64)\n", i % 250)
                    .as_bytes(),
            );
            i += 1;
        }
        let objects: Vec<(&str, Vec<u8>)> = vec![
            ("raw/2024/05/01/09/ses.gz", gzip(b"{\"eventType\":\"Send\",\"mail\":{\"source\":\"b@example.com\"}}\n")),
            ("raw/2024/05/01/09/app.log", b"login a@example.com from 192.0.2.1\n".to_vec()),
            ("raw/2024/05/02/00/corrupt.gz", corrupt),
            (BIG_KEY, big),
            ("raw/", Vec::new()),
            ("other/not-selected.log", b"c@example.com\n".to_vec()),
        ];
        for (key, body) in objects {
            s3.put_object().bucket(&raw).key(key).body(ByteStream::from(body)).send().await.unwrap();
        }
    });
    World { rt, s3, raw, masked, kms_key }
}

impl World {
    fn client(&self) -> Arc<AwsS3> {
        Arc::new(AwsS3::new(self.s3.clone()))
    }
    fn dest(&self) -> S3Dest<AwsS3> {
        S3Dest::new(
            self.client(),
            &self.masked,
            "masked/",
            Some(self.kms_key.clone()),
            Role::Readonly,
            self.rt.handle().clone(),
        )
    }
    fn backfill<D: Dest>(&self, dest: &D) -> Summary {
        let source = S3Source::new(self.client(), &self.raw, "raw/", self.rt.handle().clone());
        let options = Options {
            role: Role::Readonly,
            fingerprint: Fingerprint::new(&Policy::default(), Role::Readonly, None),
            since: None,
            dry_run: false,
            force: false,
        };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| run(&source, dest, &Masker::new(), &options, |_, _| {})).unwrap()
    }
    fn get(&self, key: &str) -> Option<aws_sdk_s3::operation::get_object::GetObjectOutput> {
        self.rt.block_on(self.s3.get_object().bucket(&self.masked).key(key).send()).ok()
    }
    fn masked_keys(&self) -> Vec<String> {
        let out = self.rt.block_on(self.s3.list_objects_v2().bucket(&self.masked).send()).unwrap();
        let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        keys.sort();
        keys
    }
}

/// A destination whose process "dies" while committing the big object: its multipart upload
/// is neither completed nor aborted, as after a kill.
struct KilledDuringBig {
    inner: S3Dest<AwsS3>,
    killed: AtomicBool,
}

impl Dest for KilledDuringBig {
    type Writer = S3Writer<AwsS3>;
    fn stamp(&self, key: &str) -> io::Result<Option<Stamp>> {
        self.inner.stamp(key)
    }
    fn create(&self, key: &str, c: Compression, stamp: &Stamp) -> io::Result<Self::Writer> {
        self.inner.create(key, c, stamp)
    }
    fn commit(&self, writer: Self::Writer) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            std::mem::forget(writer);
            return Err(io::Error::other("killed"));
        }
        self.inner.commit(writer)
    }
    fn abort(&self, writer: Self::Writer) {
        self.inner.abort(writer)
    }
}

#[test]
fn s3_backfill_resumes_skips_and_reports_bad_objects() {
    let w = world();
    // First run dies before any commit (the big object had its first part uploaded already).
    let killed = KilledDuringBig { inner: w.dest(), killed: AtomicBool::new(true) };
    let first = w.backfill(&killed);
    assert_eq!((first.objects, first.written, first.failed), (4, 0, 4), "{}", first.line());
    assert!(w.masked_keys().is_empty(), "an interrupted run leaves no object: {:?}", w.masked_keys());

    let resumed = w.backfill(&w.dest());
    assert_eq!(
        (resumed.objects, resumed.written, resumed.skipped, resumed.failed),
        (4, 3, 0, 1),
        "{:?}",
        resumed.failures
    );
    assert_eq!(resumed.failures[0].0, "2024/05/02/00/corrupt.gz");
    assert_eq!(
        w.masked_keys(),
        ["masked/2024/05/01/09/app.log", "masked/2024/05/01/09/ses.gz", "masked/2024/05/03/00/big.log"]
    );

    let ses = w.get("masked/2024/05/01/09/ses.gz").unwrap();
    assert_eq!(ses.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms));
    assert_eq!(ses.ssekms_key_id(), Some(w.kms_key.as_str()));
    assert_eq!(
        ses.metadata().unwrap()[META_FINGERPRINT],
        Fingerprint::new(&Policy::default(), Role::Readonly, None).as_str()
    );
    assert_eq!(ses.content_type(), Some("application/gzip"));
    let body = w.rt.block_on(ses.body.collect()).unwrap().into_bytes();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
    assert_eq!(text, "{\"eventType\":\"Send\",\"mail\":{\"source\":\"<email>\"}}\n");

    let big = w.get("masked/2024/05/03/00/big.log").unwrap();
    assert!(big.metadata().unwrap().contains_key(META_FINGERPRINT), "multipart uploads carry the metadata too");
    assert_eq!(big.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms));
    let big = w.rt.block_on(big.body.collect()).unwrap().into_bytes();
    assert!(big.len() > PART_BYTES);
    assert!(big.starts_with(b"0 <email> from <ipv4> GET /index.html"));
    assert!(!big.windows(12).any(|w| w == b"@example.com"));

    let again = w.backfill(&w.dest());
    assert_eq!((again.written, again.skipped, again.failed), (0, 3, 1), "a second run writes nothing");
}

#[test]
fn batch_operations_task_against_s3() {
    let w = world();
    let config = BatchConfig::from_lookup(|name| match name {
        "SOURCE_BUCKET" => Some(w.raw.clone()),
        "SOURCE_PREFIX" => Some("raw/".into()),
        "DEST_BUCKET" => Some(w.masked.clone()),
        "DEST_PREFIX" => Some("masked/".into()),
        "DEST_KMS_KEY_ID" => Some(w.kms_key.clone()),
        _ => None,
    })
    .unwrap();
    let (masker, fingerprint) = build_masker(Policy::default(), None, Role::Readonly).unwrap();
    let handler = BatchHandler::new(w.client(), masker, fingerprint, config);
    let task = |id: &str, key: &str| BatchTask {
        task_id: id.into(),
        s3_key: encode_key(key),
        s3_bucket: Some(w.raw.clone()),
        ..BatchTask::default()
    };
    let event = BatchEvent {
        invocation_schema_version: "2.0".into(),
        invocation_id: "inv".into(),
        tasks: vec![
            task("ok", "raw/2024/05/01/09/app.log"),
            task("bad", "raw/2024/05/02/00/corrupt.gz"),
            task("gone", "raw/nope"),
        ],
        ..BatchEvent::default()
    };
    let response = w.rt.block_on(handler.handle(event));
    let codes: Vec<ResultCode> = response.results.iter().map(|r| r.result_code).collect();
    assert_eq!(codes, [ResultCode::Succeeded, ResultCode::PermanentFailure, ResultCode::PermanentFailure]);
    let app = w.get("masked/2024/05/01/09/app.log").unwrap();
    let body = w.rt.block_on(app.body.collect()).unwrap().into_bytes();
    assert_eq!(&body[..], b"login <email> from <ipv4>\n");
}
