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
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let selector: Selector = match selector {
        Some(s) => s.parse()?,
        // The next free `-N` of today's date: a second run the same day is a new key, not an error.
        None => generate_selector(separator, jiff::Timestamp::now(), &selectors_in(out)?)?,
    };
    let paths = KeyFiles::new(out, &selector);
    // Refuse before generating anything: a rerun must never leave a private key that matches
    // neither the public key left behind nor DNS.
    if let Some(existing) = paths.all().into_iter().find(|p| p.exists()) {
        bail!("{} already exists: refusing to overwrite any of the key's files", existing.display());
    }
    let key = generate_rsa2048()?;
    let record = DnsTxtRecord::new(&domain, &selector, &key.public);
    let private_pem = key.private.to_pem();
    let record_json = serde_json::to_string_pretty(&record)?;
    write_all_or_nothing(&[
        (&paths.private, private_pem.as_bytes(), 0o600),
        (&paths.public, key.public.to_pem().as_bytes(), 0o644),
        (&paths.record, record_json.as_bytes(), 0o644),
    ])?;
    println!("private key (PKCS#1, 0600): {}", paths.private.display());
    println!("public key (SPKI):          {}", paths.public.display());
    println!("fingerprint:                {}", record.public_key_fingerprint);
    println!("record name:                {}", record.name);
    println!("record type:                TXT");
    println!("value:                      {}", record.value);
    println!("value (255-byte strings):   {}", record.quoted);
    Ok(ExitCode::SUCCESS)
}

/// The three files `keygen` writes for one selector.
struct KeyFiles {
    private: PathBuf,
    public: PathBuf,
    record: PathBuf,
}

const KEY_FILE_SUFFIXES: [&str; 3] = [".private_key.pem", ".public_key.pem", ".dns_record.json"];

impl KeyFiles {
    fn new(out: &Path, selector: &Selector) -> KeyFiles {
        let [private, public, record] = KEY_FILE_SUFFIXES.map(|suffix| out.join(format!("{selector}{suffix}")));
        KeyFiles { private, public, record }
    }
    fn all(&self) -> [&PathBuf; 3] {
        [&self.private, &self.public, &self.record]
    }
}

/// Selectors that already have any key file in `out` (a lone public key counts: its selector is taken).
fn selectors_in(out: &Path) -> anyhow::Result<Vec<Selector>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(out).with_context(|| format!("listing {}", out.display()))? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(selector) = KEY_FILE_SUFFIXES.iter().find_map(|suffix| name.strip_suffix(suffix)) {
            found.extend(selector.parse::<Selector>().ok());
        }
    }
    Ok(found)
}

/// Writes every file or none: each goes to a temporary file created with its final mode (no
/// window where a key is world-readable), then all are linked into place with no-clobber
/// semantics; a failure at any step removes what this call created.
fn write_all_or_nothing(files: &[(&PathBuf, &[u8], u32)]) -> anyhow::Result<()> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let mut placed: Vec<&PathBuf> = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for (path, bytes, mode) in files {
            let temp = temp_path(path);
            temps.push(temp.clone());
            write_new(&temp, bytes, *mode)?;
        }
        for ((path, _, _), temp) in files.iter().zip(&temps) {
            fs::hard_link(temp, path)
                .with_context(|| format!("creating {} (refusing to overwrite)", path.display()))?;
            placed.push(path);
        }
        Ok(())
    })();
    for temp in &temps {
        let _ = fs::remove_file(temp);
    }
    if result.is_err() {
        for path in placed {
            let _ = fs::remove_file(path);
        }
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Creates `path` with `mode` from the start and refuses to overwrite an existing file.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all().with_context(|| format!("writing {}", path.display()))?;
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
