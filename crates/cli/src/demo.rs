//! `logmask demo`: the product's main job in one screen, without AWS. A bundled Firehose batch
//! (SES events, CloudWatch Logs gzip documents, a control message, a corrupt record) goes through
//! the Lambda's transformation; the same records are shown as each role sees them.

use std::process::ExitCode;

use logmask_firehose::{Config, NoReingest, RecordKind, RecordResult, SES_METRICS, Transformer, demo};
use logmask_mask::{Masker, Role};

#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

const WIDTH: usize = 96;

pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    let event = demo::demo_event();
    let config = Config::default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let views = Role::ALL.map(|role| {
        let transformer = Transformer::new(Masker::new(), &Config { role, ..config.clone() }, NoReingest);
        (role, runtime.block_on(transformer.process(event.clone())))
    });
    let written = &views.iter().find(|(r, _)| *r == config.role).expect("every role is rendered").1;
    let finder = Masker::new();

    println!(
        "logmask demo: one Firehose batch of {} records (SES events, CloudWatch Logs, a control message, a corrupt gzip)",
        event.records.len()
    );
    println!(
        "The Lambda writes the {} view to S3; Firehose's source backup keeps the raw data for admins.\n",
        config.role
    );
    for (i, record) in written.response.records.iter().enumerate() {
        let kind = written.kinds[i];
        let keys = record.metadata.as_ref().map(|m| &m.partition_keys);
        let partition = keys.map_or(String::new(), |k| {
            format!("  → {}/{}/{}/{}/{}", &k["eventType"], &k["year"], &k["month"], &k["day"], &k["hour"])
        });
        println!("#{:<2} {:<22} {:<16}{partition}", i + 1, kind.as_str(), record.result.as_str());
        if record.result != RecordResult::Ok {
            continue;
        }
        let texts: Vec<String> = views
            .iter()
            .map(|(_, out)| {
                let data = out.response.records[i].decoded_data().unwrap_or_default();
                String::from_utf8_lossy(&data).lines().next().unwrap_or("").to_owned()
            })
            .collect();
        // Show each view from just before the first address, so the difference is on screen.
        let admin = &texts[0];
        let first = finder.find(admin.as_bytes()).first().map_or(0, |f| f.start);
        let mut start = first.saturating_sub(if kind == RecordKind::SesEvent { 24 } else { 40 });
        while !admin.is_char_boundary(start) {
            start -= 1;
        }
        for ((role, _), text) in views.iter().zip(&texts) {
            let tail = text.get(start..).unwrap_or(text);
            let shown: String = tail.chars().take(WIDTH - 14).collect();
            let more = if tail.chars().count() > WIDTH - 14 { "…" } else { "" };
            println!("    {:<9}…{shown}{more}", role.as_str());
        }
    }

    println!("\nSES metrics (CloudWatch EMF, namespace {}):", config.namespace);
    for ((configuration_set, domain), counts) in &written.metrics.ses {
        let nonzero: Vec<String> = SES_METRICS
            .iter()
            .zip(counts)
            .filter(|(name, n)| **n > 0 && **name != "Events")
            .map(|(name, n)| format!("{name}={n}"))
            .collect();
        println!("  ConfigurationSet={configuration_set:<11} SendingDomain={domain:<17} {}", nonzero.join(" "));
    }
    let m = &written.metrics.masked;
    println!(
        "  masked: {} e-mail, {} IPv4, {} IPv6 · alarms use bounce rate = (BouncePermanent − BouncePermanentSuppressed) / Send",
        m.emails, m.ipv4, m.ipv6
    );
    println!("\nsummary: {}", serde_json::to_string(&written.summary)?);
    println!(
        "Try: logmask firehose --event functions/firehose-transform/events/ses-batch.json --role operator --emf metrics.ndjson"
    );
    Ok(ExitCode::SUCCESS)
}
