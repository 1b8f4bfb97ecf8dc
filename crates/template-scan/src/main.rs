use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use findings::Exit;
use template_scan::Cli;

// cfn-guard's evaluation clones documents and values at a high rate; with the system
// allocator, a scan of 50 templates spent about half its time in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The shared --fail-on flag has no default of its own; --help shows this binary's.
    let command = Cli::command().mut_arg("fail_on", |arg| arg.default_value("HIGH"));
    let parsed = command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
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
