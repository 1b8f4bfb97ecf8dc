use std::process::ExitCode;

use cucumber_report::Cli;

// Reports of tens of thousands of findings are built from many small JSON values; the
// system allocator took about 40% of such a run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match findings::cli::parse::<Cli>("HIGH") {
        Ok(cli) => cucumber_report::run(cli).into(),
        Err(exit) => exit.into(),
    }
}
