//! The AWS-backed subcommands in a build without the `aws` feature: they stay listed in `--help`
//! and answer with how to get them, instead of an "unrecognized subcommand" error.

use std::ffi::OsString;
use std::process::ExitCode;

/// A subcommand this build leaves out.
pub trait Missing {
    const NAME: &'static str;
}

macro_rules! missing {
    ($ty:ident, $name:literal) => {
        /// Accepts any arguments: the answer is the same whatever they are.
        #[derive(clap::Args, Debug)]
        #[command(disable_help_flag = true)]
        pub struct $ty {
            #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
            _args: Vec<OsString>,
        }
        impl Missing for $ty {
            const NAME: &'static str = $name;
        }
    };
}

missing!(DkimCommand, "dkim");
missing!(BackfillArgs, "backfill");
missing!(QueryArgs, "query");
missing!(MonitorArgs, "monitor");

pub fn run<T: Missing>(_args: T) -> anyhow::Result<ExitCode> {
    eprintln!(
        "logmask: `logmask {name}` needs the AWS SDK, which this build leaves out (the lean default).\n\
         Build with the `aws` feature: cargo run --release -p logmask-cli --features aws -- {name} …\n\
         or: cargo install --path crates/cli --features aws",
        name = T::NAME
    );
    Ok(ExitCode::from(2))
}
