//! `logmask dkim …` (placeholder until the DKIM crate lands).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum DkimCommand {}

pub fn run(cmd: DkimCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
