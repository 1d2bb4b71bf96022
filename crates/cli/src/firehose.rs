//! `logmask firehose`: the Lambda's transformation on an event file, locally.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
#[cfg(feature = "aws")]
use std::sync::Mutex;

use anyhow::Context as _;
#[cfg(feature = "aws")]
use logmask_firehose::{AwsKeyStore, FirehoseReingest};
use logmask_firehose::{Config, FirehoseEvent, KeySource, KeyStore, Reingest, ReingestError, SecretBytes, Transformer};
use logmask_mask::Role;

#[derive(clap::Args, Debug)]
pub struct FirehoseArgs {
    /// Firehose transformation event (JSON), as the Lambda receives it.
    #[arg(long, value_name = "EVENT.json")]
    event: PathBuf,
    /// View written to the output: admin, operator or readonly [default: $MASK_ROLE, else readonly].
    #[arg(long, value_name = "ROLE")]
    role: Option<Role>,
    /// Write the EMF metric documents (one JSON object per line) to this file.
    #[arg(long, value_name = "FILE")]
    emf: Option<PathBuf>,
}

/// Prints the response JSON on stdout and the one-line summary on stderr. Re-ingestion and the
/// token key use the normal AWS SDK configuration (`AWS_ENDPOINT_URL` honoured), loaded only when
/// first needed so that runs without AWS stay fast.
pub fn run(args: FirehoseArgs) -> anyhow::Result<ExitCode> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let text = fs::read(&args.event).with_context(|| format!("reading {}", args.event.display()))?;
    let event: FirehoseEvent = serde_json::from_slice(&text).map_err(|e| {
        anyhow::anyhow!("{}: not a Firehose event (line {} column {})", args.event.display(), e.line(), e.column())
    })?;
    drop(text);
    let mut config = Config::from_env()?;
    if let Some(role) = args.role {
        config.role = role;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = runtime.block_on(async {
        let aws = LazyAws::default();
        let masker = config.build_masker(&aws).await?;
        let transformer = Transformer::new(masker, &config, aws);
        anyhow::Ok(transformer.process(event).await)
    })?;
    if let Some(error) = &output.refused {
        // What the Lambda does too: no response at all rather than one over the limit.
        eprintln!("error: {error}");
        return Ok(ExitCode::FAILURE);
    }

    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &output.response)?;
    writeln!(stdout)?;
    stdout.flush()?;
    if let Some(path) = &args.emf {
        let mut text = output.emf.join("\n");
        text.push('\n');
        fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("{}", serde_json::to_string(&output.summary)?);
    Ok(ExitCode::SUCCESS)
}

/// AWS clients built on first use.
#[cfg(feature = "aws")]
#[derive(Default)]
struct LazyAws {
    sdk: Mutex<Option<aws_config::SdkConfig>>,
}

/// A build without the `aws` feature: a token key from AWS or a re-ingestion is an error that says
/// how to get it (records that needed re-ingestion fail, as with `NoReingest`, never lost).
#[cfg(not(feature = "aws"))]
#[derive(Default)]
struct LazyAws {}

#[cfg(not(feature = "aws"))]
const WITHOUT_AWS: &str =
    "this logmask was built without the `aws` feature (cargo run --release -p logmask-cli --features aws)";

#[cfg(not(feature = "aws"))]
impl KeyStore for LazyAws {
    async fn fetch(&self, source: &KeySource) -> Result<SecretBytes, logmask_keys::KeyError> {
        Err(logmask_keys::KeyError::Fetch { source_name: source.to_string(), message: WITHOUT_AWS.to_owned() })
    }
}

#[cfg(not(feature = "aws"))]
impl Reingest for LazyAws {
    async fn put_record_batch(
        &self,
        _stream: &str,
        _records: &[Vec<u8>],
    ) -> Result<Vec<Option<String>>, ReingestError> {
        Err(ReingestError::Request { message: format!("re-ingestion: {WITHOUT_AWS}"), retryable: false })
    }
}

#[cfg(feature = "aws")]
impl LazyAws {
    async fn sdk(&self) -> aws_config::SdkConfig {
        if let Some(sdk) = self.sdk.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return sdk;
        }
        let sdk = aws_config::load_from_env().await;
        *self.sdk.lock().unwrap_or_else(|e| e.into_inner()) = Some(sdk.clone());
        sdk
    }
}

#[cfg(feature = "aws")]
impl KeyStore for LazyAws {
    async fn fetch(&self, source: &KeySource) -> Result<SecretBytes, logmask_keys::KeyError> {
        AwsKeyStore::new(&self.sdk().await).fetch(source).await
    }
}

#[cfg(feature = "aws")]
impl Reingest for LazyAws {
    async fn put_record_batch(&self, stream: &str, records: &[Vec<u8>]) -> Result<Vec<Option<String>>, ReingestError> {
        let client = aws_sdk_firehose::Client::new(&self.sdk().await);
        FirehoseReingest::new(client).put_record_batch(stream, records).await
    }
}
