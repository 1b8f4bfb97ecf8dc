use std::process::ExitCode;

use fis_trigger::Cli;

fn main() -> ExitCode {
    match findings::cli::parse::<Cli>("HIGH") {
        Ok(cli) => fis_trigger::run(cli).into(),
        Err(exit) => exit.into(),
    }
}
