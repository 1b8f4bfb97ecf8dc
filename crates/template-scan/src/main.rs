use std::process::ExitCode;

use clap::Parser;
use findings::Exit;
use template_scan::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Input
            } else {
                Exit::Passed
            }
            .into();
        }
    };
    template_scan::run(cli).into()
}
