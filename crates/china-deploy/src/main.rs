use std::process::ExitCode;

use china_deploy::Cli;

fn main() -> ExitCode {
    match findings::cli::parse::<Cli>("HIGH") {
        Ok(cli) => china_deploy::run(cli).into(),
        Err(exit) => exit.into(),
    }
}
