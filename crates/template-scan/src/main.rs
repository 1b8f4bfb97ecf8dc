use std::process::ExitCode;

use template_scan::Cli;

// cfn-guard's evaluation clones documents and values at a high rate; with the system
// allocator, a scan of 50 templates spent about half its time in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match findings::cli::parse::<Cli>("HIGH") {
        Ok(cli) => template_scan::run(cli).into(),
        Err(exit) => exit.into(),
    }
}
