//! `logmask`: the workspace's library code paths, run locally.
//!
//! Every subcommand is a thin shell over a library crate; see `logmask --help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[cfg(feature = "aws")]
mod backfill;
mod demo;
#[cfg(feature = "aws")]
mod dkim;
mod firehose;
mod mask;
#[cfg(feature = "aws")]
mod monitor;
#[cfg(feature = "aws")]
mod query;
#[cfg(not(feature = "aws"))]
mod without_aws;
#[cfg(not(feature = "aws"))]
use without_aws as backfill;
#[cfg(not(feature = "aws"))]
use without_aws as dkim;
#[cfg(not(feature = "aws"))]
use without_aws as monitor;
#[cfg(not(feature = "aws"))]
use without_aws as query;

#[derive(Parser)]
#[command(name = "logmask", version, about = "Mask PII in SES operations logs; DKIM tools; local Lambda runs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mask e-mail and IP addresses in files (or stdin) for a reader role.
    Mask(mask::MaskArgs),
    /// DKIM key tools (BYODKIM): keygen, TXT record, DNS check.
    #[cfg_attr(feature = "aws", command(subcommand))]
    Dkim(dkim::DkimCommand),
    /// Run the Firehose transformation Lambda's handler on an event file (response JSON on stdout).
    Firehose(firehose::FirehoseArgs),
    /// Re-mask a raw archive (directory or s3://bucket/prefix) after a policy or key change.
    Backfill(Box<backfill::BackfillArgs>),
    /// Run the data-masking Lambda's handler on an event file (response JSON on stdout, audit line on stderr).
    Query(query::QueryArgs),
    /// The monitor Lambda's checks, run locally (`--dry-run`): findings and the notifications it would send.
    Monitor(monitor::MonitorArgs),
    /// The product's main job in one screen: a bundled Firehose batch as admin, operator and readonly see it.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mask(args) => mask::run(args),
        Command::Dkim(cmd) => dkim::run(cmd),
        Command::Firehose(args) => firehose::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Backfill(args) => backfill::run(*args),
        Command::Query(args) => query::run(args),
        Command::Monitor(args) => monitor::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("logmask: {err:#}");
            ExitCode::from(1)
        }
    }
}
