use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use cucumber_report::Cli;
use findings::Exit;

// Reports of tens of thousands of findings are built from many small JSON values; the
// system allocator took about 40% of such a run.
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
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Input
            } else {
                Exit::Passed
            }
            .into();
        }
    };
    cucumber_report::run(cli).into()
}
