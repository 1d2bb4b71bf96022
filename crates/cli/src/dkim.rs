//! `logmask dkim …`: local DKIM key tools (the same code paths as the DKIM manager Lambda).

use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use logmask_dkim::keys::{PrivateKeyPkcs1, PublicKeySpki, generate_rsa2048};
use logmask_dkim::record::{DnsTxtRecord, dkim_txt_value, quote_character_strings, split_character_strings};
use logmask_dkim::selector::{Domain, Selector, generate_selector};
use logmask_dkim::{DnsStatus, HickoryTxtResolver, check_dns};

#[derive(clap::Subcommand)]
pub enum DkimCommand {
    /// Generate an RSA-2048 key pair: PKCS#1 private key (mode 0600), SPKI public key, TXT record.
    Keygen {
        /// Mail domain, e.g. goo.ne.jp.
        #[arg(long)]
        domain: String,
        /// Selector (one DNS label); default `<separator>-YYYYMMDD-1` (JST date).
        #[arg(long)]
        selector: Option<String>,
        /// Separator for the generated selector (the seed's DKIMSeparator).
        #[arg(long, default_value = "default")]
        separator: String,
        /// Output directory (created if missing); existing files are never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the DKIM TXT value for a public key (PEM `PUBLIC KEY` or base64 SPKI).
    Txt {
        #[arg(long)]
        public_key: PathBuf,
    },
    /// Resolve `<selector>._domainkey.<domain>` and compare `p=` with the expected key.
    /// Exit status 0 only for MATCH.
    CheckDns {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        selector: String,
        /// Public key file (PEM or base64 SPKI) or a private key PEM (its public half is used).
        #[arg(long)]
        expect_key: PathBuf,
        /// Name server to ask instead of the system resolver (repeatable), e.g. 192.0.2.53:53.
        #[arg(long)]
        nameserver: Vec<SocketAddr>,
    },
}

pub fn run(cmd: DkimCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DkimCommand::Keygen { domain, selector, separator, out } => {
            keygen(&domain, selector.as_deref(), &separator, &out)
        }
        DkimCommand::Txt { public_key } => txt(&public_key),
        DkimCommand::CheckDns { domain, selector, expect_key, nameserver } => {
            check(&domain, &selector, &expect_key, &nameserver)
        }
    }
}

fn keygen(domain: &str, selector: Option<&str>, separator: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let domain: Domain = domain.parse()?;
    let selector: Selector = match selector {
        Some(s) => s.parse()?,
        None => generate_selector(separator, jiff::Timestamp::now(), &[])?,
    };
    let key = generate_rsa2048()?;
    let record = DnsTxtRecord::new(&domain, &selector, &key.public);
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let private_path = out.join(format!("{selector}.private_key.pem"));
    let public_path = out.join(format!("{selector}.public_key.pem"));
    let record_path = out.join(format!("{selector}.dns_record.json"));
    write_new(&private_path, key.private.to_pem().as_bytes(), 0o600)?;
    write_new(&public_path, key.public.to_pem().as_bytes(), 0o644)?;
    write_new(&record_path, serde_json::to_string_pretty(&record)?.as_bytes(), 0o644)?;
    println!("private key (PKCS#1, 0600): {}", private_path.display());
    println!("public key (SPKI):          {}", public_path.display());
    println!("fingerprint:                {}", record.public_key_fingerprint);
    println!("record name:                {}", record.name);
    println!("record type:                TXT");
    println!("value:                      {}", record.value);
    println!("value (255-byte strings):   {}", record.quoted);
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` with `mode` from the start (no window where a key is world-readable) and
/// refuses to overwrite an existing file.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file =
        options.open(path).with_context(|| format!("creating {} (refusing to overwrite)", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn read_public_key(path: &Path) -> anyhow::Result<PublicKeySpki> {
    let text =
        zeroize::Zeroizing::new(fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
    if text.contains("PRIVATE KEY-----") {
        let private = PrivateKeyPkcs1::from_pem_converting_pkcs8(&text)
            .with_context(|| format!("parsing private key {}", path.display()))?;
        return Ok(private.public_key()?);
    }
    PublicKeySpki::from_pem_or_base64(&text).with_context(|| format!("parsing public key {}", path.display()))
}

fn txt(public_key: &Path) -> anyhow::Result<ExitCode> {
    let key = read_public_key(public_key)?;
    let value = dkim_txt_value(&key);
    println!("{value}");
    println!("{}", quote_character_strings(&split_character_strings(&value)));
    Ok(ExitCode::SUCCESS)
}

fn check(domain: &str, selector: &str, expect_key: &Path, name_servers: &[SocketAddr]) -> anyhow::Result<ExitCode> {
    let domain: Domain = domain.parse()?;
    let selector: Selector = selector.parse()?;
    let expected = read_public_key(expect_key)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let resolver = if name_servers.is_empty() {
            HickoryTxtResolver::system()?
        } else {
            HickoryTxtResolver::with_name_servers(name_servers)?
        };
        check_dns(&resolver, &domain, &selector, &expected).await
    });
    let check = match result {
        Ok(check) => check,
        Err(e) => bail!(e),
    };
    let status = serde_json::to_value(check.status)?;
    println!("{} {}", check.record_name, status.as_str().unwrap_or_default());
    println!("records: {}; {}", check.records_found, check.detail);
    println!("expected: {}", check.expected_fingerprint);
    if let Some(published) = &check.published_fingerprint {
        println!("published: {published}");
    }
    Ok(if check.status == DnsStatus::Match { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
