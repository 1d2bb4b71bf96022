//! `logmask query`: the data-masking Lambda's handler on an event file, locally.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context as _;
use logmask_keys::{AwsKeyStore, KeyError, KeySource, KeyStore, SecretBytes};
use logmask_query::{AwsIam, AwsS3, Config, FetchError, GroupDirectory, Handler, ObjectStore};

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// Event (JSON) as the Lambda receives it: a direct-invoke payload or a function URL request.
    #[arg(long, value_name = "EVENT.json")]
    event: PathBuf,
    /// IP restriction [default: $ENABLE_IP_RESTRICTION, else on].
    #[arg(long, value_enum, value_name = "on|off")]
    ip_restriction: Option<OnOff>,
    /// Admin source network (repeatable) [default: $ADMIN_IP_RANGES].
    #[arg(long, value_name = "CIDR")]
    admin_cidr: Vec<String>,
    /// Operator source network (repeatable) [default: $OPERATOR_IP_RANGES].
    #[arg(long, value_name = "CIDR")]
    operator_cidr: Vec<String>,
    /// Token key file (raw bytes or rotation JSON, as in Secrets Manager) instead of
    /// $TOKEN_KEY_SECRET_ID / $TOKEN_KEY_SSM_PARAMETER.
    #[arg(long, value_name = "FILE")]
    token_key_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

/// Prints the response JSON on stdout (a Lambda-style `errorType`/`errorMessage` object and exit
/// status 1 for a refused direct invoke) and the audit line on stderr. IAM, S3 and the token key
/// use the normal AWS SDK configuration (`AWS_ENDPOINT_URL` honoured), loaded only when needed.
pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read(&args.event).with_context(|| format!("reading {}", args.event.display()))?;
    let event: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("{}: not JSON (line {} column {})", args.event.display(), e.line(), e.column()))?;
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("logmask: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(flag) = args.ip_restriction {
        config.access.ip_restriction = matches!(flag, OnOff::On);
    }
    if !args.admin_cidr.is_empty() || !args.operator_cidr.is_empty() {
        let env = &config.access.ips;
        let keep = |flags: &[String], current: &[logmask_access::IpNet]| -> Vec<String> {
            if flags.is_empty() { current.iter().map(ToString::to_string).collect() } else { flags.to_vec() }
        };
        let admin = keep(&args.admin_cidr, env.admin());
        let operator = keep(&args.operator_cidr, env.operator());
        config.access.ips = match logmask_access::IpTable::from_lists(&admin, &operator) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("logmask: {e}");
                return Ok(ExitCode::from(2));
            }
        };
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (result, audit) = runtime.block_on(async {
        let aws = LazyAws::default();
        let maskers = match &args.token_key_file {
            Some(path) => {
                let keys = logmask_keys::read_key_file(path)?;
                keys.maskers(&config.policy()?)?
            }
            None => config.build_maskers(&aws).await?,
        };
        let handler = Handler::new(config, maskers, aws.clone_handle(), aws);
        anyhow::Ok(handler.respond(&event, "local").await)
    })?;
    eprintln!("{}", audit.to_json());
    match result {
        Ok(response) => {
            println!("{}", serde_json::to_string(&response)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", serde_json::json!({"errorType": e.kind(), "errorMessage": e.to_string()}));
            Ok(ExitCode::from(1))
        }
    }
}

/// The AWS SDK configuration, loaded on first use and shared.
#[derive(Default, Clone)]
struct LazyAws {
    sdk: std::sync::Arc<Mutex<Option<aws_config::SdkConfig>>>,
}

impl LazyAws {
    async fn sdk(&self) -> aws_config::SdkConfig {
        if let Some(sdk) = self.sdk.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return sdk;
        }
        let sdk = aws_config::load_from_env().await;
        *self.sdk.lock().unwrap_or_else(|e| e.into_inner()) = Some(sdk.clone());
        sdk
    }

    fn clone_handle(&self) -> LazyAws {
        self.clone()
    }
}

impl KeyStore for LazyAws {
    async fn fetch(&self, source: &KeySource) -> Result<SecretBytes, KeyError> {
        AwsKeyStore::new(&self.sdk().await).fetch(source).await
    }
}

impl GroupDirectory for LazyAws {
    async fn groups_for_user(&self, user: &str) -> Result<Vec<String>, String> {
        AwsIam(aws_sdk_iam::Client::new(&self.sdk().await)).groups_for_user(user).await
    }
}

impl ObjectStore for LazyAws {
    async fn get(&self, bucket: &str, key: &str, max: u64) -> Result<Vec<u8>, FetchError> {
        let sdk = self.sdk().await;
        let client =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        AwsS3(client).get(bucket, key, max).await
    }
}
