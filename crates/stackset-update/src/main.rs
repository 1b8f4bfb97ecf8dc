use std::process::ExitCode;

use stackset_update::Cli;

fn main() -> ExitCode {
    match findings::cli::parse::<Cli>("HIGH") {
        Ok(cli) => stackset_update::run(cli).into(),
        Err(exit) => exit.into(),
    }
}
