use std::process::ExitCode;

use iam_policy_validate::Cli;

fn main() -> ExitCode {
    match findings::cli::parse::<Cli>("HIGH") {
        Ok(cli) => iam_policy_validate::run(cli).into(),
        Err(exit) => exit.into(),
    }
}
