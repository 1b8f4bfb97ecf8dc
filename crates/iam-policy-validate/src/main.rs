use std::process::ExitCode;

use clap::Parser;
use iam_policy_validate::Cli;

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => iam_policy_validate::run(cli).into(),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                findings::Exit::Input.into()
            } else {
                findings::Exit::Passed.into()
            }
        }
    }
}
