//! `logmask backfill`: re-mask a raw archive (local tree or S3 prefix) into a masked one, or plan
//! the same as an S3 Batch Operations job.

use std::fs;
use std::io::{self, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use logmask_archive::{
    AwsS3, Dest, Entry, LocalDest, LocalSource, Options, Outcome, S3Dest, S3Source, Source, Summary, build_masker,
    encode_key, parse_s3_url, run_entries, select,
};
use logmask_mask::{Masker, Policy, Role};

#[derive(clap::Args, Debug)]
pub struct BackfillArgs {
    /// Raw objects: a directory or s3://bucket/prefix.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    from: String,
    /// Masked objects go here under the same relative keys: a directory or s3://bucket/prefix.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    to: String,
    /// The view written: admin, operator or readonly.
    #[arg(long, value_name = "ROLE")]
    role: Role,
    /// Policy file (TOML).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Token key file (the one key rule: rotation JSON or raw bytes); never printed.
    #[arg(long, value_name = "FILE")]
    token_key_file: Option<PathBuf>,
    /// Only objects modified on or after this UTC date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    since: Option<jiff::civil::Date>,
    /// List and compare fingerprints; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rewrite objects even when they carry the current fingerprint.
    #[arg(long)]
    force: bool,
    /// Objects masked at once (threads; also the bound on concurrent S3 requests) [default: CPUs].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// SSE-KMS key (id, ARN or alias) for objects written to S3.
    #[arg(long, value_name = "KEY")]
    kms_key_id: Option<String>,
    /// `batch`: write an S3 Batch Operations CSV manifest and print the job commands instead.
    #[arg(long, value_name = "batch")]
    plan: Option<PlanKind>,
    /// Where --plan writes the manifest.
    #[arg(long, value_name = "FILE", default_value = "backfill-manifest.csv")]
    manifest: PathBuf,
    /// Where the manifest will be uploaded; the job's report goes to the same bucket under
    /// `batch-operations/reports/` [default: s3://<to-bucket>/batch-operations/manifests/manifest.csv].
    #[arg(long, value_name = "s3://BUCKET/KEY")]
    manifest_uri: Option<String>,
    /// The deployed backfill function (for the printed command).
    #[arg(long, value_name = "ARN", default_value = "arn:aws:lambda:REGION:ACCOUNT:function:backfill")]
    function_arn: String,
    /// The IAM role S3 Batch Operations assumes (for the printed command).
    #[arg(long, value_name = "ARN", default_value = "arn:aws:iam::ACCOUNT:role/backfill-batch-operations")]
    batch_role_arn: String,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum PlanKind {
    Batch,
}

enum Place {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

fn place(text: &str) -> anyhow::Result<Place> {
    if text.starts_with("s3://") {
        let (bucket, prefix) = parse_s3_url(text).with_context(|| format!("{text}: not an s3://bucket/prefix URL"))?;
        if !prefix.is_empty() && !prefix.ends_with('/') {
            bail!("{text}: the prefix must end with '/' (keys are taken relative to it)");
        }
        Ok(Place::S3 { bucket, prefix })
    } else {
        Ok(Place::Dir(PathBuf::from(text)))
    }
}

pub fn run(args: BackfillArgs) -> anyhow::Result<ExitCode> {
    match prepare(&args) {
        Ok(code) => code,
        Err(err) => {
            // Configuration errors are usage errors: exit 2 before anything is read or written.
            eprintln!("logmask: {err:#}");
            Ok(ExitCode::from(2))
        }
    }
}

fn prepare(args: &BackfillArgs) -> anyhow::Result<anyhow::Result<ExitCode>> {
    // Outer error: usage (exit 2). Inner: the run itself.
    let from = place(&args.from)?;
    let to = place(&args.to)?;
    let policy = match &args.policy {
        Some(path) => {
            // The policy's terms files are read relative to it.
            Policy::from_file(path).with_context(|| format!("policy {}", path.display()))?
        }
        None => Policy::default(),
    };
    let keys = args.token_key_file.as_deref().map(logmask_keys::read_key_file).transpose()?;
    let (masker, fingerprint) = build_masker(policy, keys.as_ref(), args.role)?;
    drop(keys);
    let since = match args.since {
        Some(date) => Some(date.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp().as_second()),
        None => None,
    };
    let options = Options { role: args.role, fingerprint, since, dry_run: args.dry_run, force: args.force };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
    check_overlap(&from, &to)?;

    let needs_s3 = matches!(from, Place::S3 { .. }) || matches!(to, Place::S3 { .. });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let client = if needs_s3 { Some(Arc::new(AwsS3::new(runtime.block_on(s3_client())))) } else { None };
    let handle = runtime.handle().clone();

    if args.plan.is_some() {
        let (Place::S3 { bucket, prefix }, Some(client)) = (&from, &client) else {
            bail!("--plan batch needs --from s3://…");
        };
        let Place::S3 { bucket: to_bucket, prefix: to_prefix } = &to else { bail!("--plan batch needs --to s3://…") };
        let source = S3Source::new(client.clone(), bucket.clone(), prefix.clone(), handle);
        return Ok(plan(args, &source, bucket, prefix, to_bucket, to_prefix, &options));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let result = match (&from, &to, &client) {
        (Place::Dir(a), Place::Dir(b), _) => {
            pool.install(|| go(&LocalSource::new(a), &LocalDest::new(b), &masker, &options))
        }
        (Place::S3 { bucket, prefix }, Place::Dir(b), Some(c)) => pool.install(|| {
            go(
                &S3Source::new(c.clone(), bucket.clone(), prefix.clone(), handle.clone()),
                &LocalDest::new(b),
                &masker,
                &options,
            )
        }),
        (Place::Dir(a), Place::S3 { bucket, prefix }, Some(c)) => pool.install(|| {
            let dest = S3Dest::new(
                c.clone(),
                bucket.clone(),
                prefix.clone(),
                args.kms_key_id.clone(),
                args.role,
                handle.clone(),
            );
            go(&LocalSource::new(a), &dest, &masker, &options)
        }),
        (Place::S3 { bucket: fb, prefix: fp }, Place::S3 { bucket, prefix }, Some(c)) => pool.install(|| {
            let source = S3Source::new(c.clone(), fb.clone(), fp.clone(), handle.clone());
            let dest = S3Dest::new(
                c.clone(),
                bucket.clone(),
                prefix.clone(),
                args.kms_key_id.clone(),
                args.role,
                handle.clone(),
            );
            go(&source, &dest, &masker, &options)
        }),
        _ => unreachable!("an S3 client exists whenever a side is S3"),
    };
    Ok(result)
}

async fn s3_client() -> aws_sdk_s3::Client {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // A local endpoint (moto_server, MinIO) does not resolve bucket subdomains.
    let local = std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(local).build())
}

fn check_overlap(from: &Place, to: &Place) -> anyhow::Result<()> {
    match (from, to) {
        (Place::Dir(a), Place::Dir(b)) => {
            fs::create_dir_all(b).with_context(|| format!("cannot create {}", b.display()))?;
            let a = a.canonicalize().with_context(|| format!("cannot read {}", a.display()))?;
            let b = b.canonicalize()?;
            if a.starts_with(&b) || b.starts_with(&a) {
                bail!("--from and --to overlap: masked files would land among raw ones");
            }
        }
        (Place::S3 { bucket: a, prefix: pa }, Place::S3 { bucket: b, prefix: pb })
            if a == b && (pa.starts_with(pb.as_str()) || pb.starts_with(pa.as_str())) =>
        {
            bail!("--from and --to overlap: masked objects would land among raw ones");
        }
        _ => {}
    }
    Ok(())
}

fn go<S: Source, D: Dest>(source: &S, dest: &D, masker: &Masker, options: &Options) -> anyhow::Result<ExitCode> {
    let entries = select(source.list()?, options.since);
    let bar = progress(entries.len() as u64);
    let summary = run_entries(source, dest, masker, options, &entries, |entry: &Entry, outcome: &Outcome| {
        if let Some(bar) = &bar {
            bar.inc(1);
            if let Outcome::Written(s) = outcome {
                bar.set_message(format_bytes(s.bytes_in));
            }
        }
        if let Outcome::Failed { reason, .. } = outcome {
            let line = format!("failed {}: {reason}", entry.key);
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(finish(&summary))
}

fn format_bytes(n: u64) -> String {
    format!("last object {:.1} MB", n as f64 / 1e6)
}

fn finish(summary: &Summary) -> ExitCode {
    eprintln!("{}", summary.line());
    if summary.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn progress(total: u64) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    Some(
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} objects {per_sec} eta {eta} {msg}")
                .expect("static template"),
        ),
    )
}

#[allow(clippy::too_many_arguments)]
fn plan<S: Source>(
    args: &BackfillArgs,
    source: &S,
    bucket: &str,
    prefix: &str,
    to_bucket: &str,
    to_prefix: &str,
    options: &Options,
) -> anyhow::Result<ExitCode> {
    let entries = select(source.list()?, options.since);
    let mut csv = io::BufWriter::new(
        fs::File::create(&args.manifest).with_context(|| format!("cannot create {}", args.manifest.display()))?,
    );
    for entry in &entries {
        writeln!(csv, "{bucket},{}", encode_key(&format!("{prefix}{}", entry.key)))?;
    }
    csv.flush()?;
    let uri = args
        .manifest_uri
        .clone()
        .unwrap_or_else(|| format!("s3://{to_bucket}/batch-operations/manifests/manifest.csv"));
    let Some((m_bucket, m_key)) = parse_s3_url(&uri).filter(|(_, k)| !k.is_empty()) else {
        bail!("--manifest-uri {uri}: not an s3://bucket/key URL");
    };
    let manifest = display(&args.manifest);
    let operation =
        format!(r#"{{"LambdaInvoke":{{"FunctionArn":"{}","InvocationSchemaVersion":"2.0"}}}}"#, args.function_arn);
    let report = format!(
        r#"{{"Bucket":"arn:aws:s3:::{m_bucket}","Prefix":"batch-operations/reports","Format":"Report_CSV_20180820","Enabled":true,"ReportScope":"FailedTasksOnly"}}"#
    );
    println!("# {} objects listed into {manifest}", entries.len());
    println!(
        "# the function must run with SOURCE_BUCKET={bucket} SOURCE_PREFIX={prefix} DEST_BUCKET={to_bucket} DEST_PREFIX={to_prefix} MASK_ROLE={}",
        options.role
    );
    println!("aws s3 cp {manifest} {uri}");
    println!("ETAG=$(aws s3api head-object --bucket {m_bucket} --key {m_key} --query ETag --output text | tr -d '\"')");
    println!(
        "aws s3control create-job --account-id ACCOUNT --no-confirmation-required --priority 10 \\\n  --role-arn {} \\\n  --operation '{operation}' \\\n  --manifest '{{\"Spec\":{{\"Format\":\"S3BatchOperations_CSV_20180820\",\"Fields\":[\"Bucket\",\"Key\"]}},\"Location\":{{\"ObjectArn\":\"arn:aws:s3:::{m_bucket}/{m_key}\",\"ETag\":\"'\"$ETAG\"'\"}}}}' \\\n  --report '{report}'",
        args.batch_role_arn
    );
    eprintln!("plan: {} objects", entries.len());
    Ok(ExitCode::SUCCESS)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
