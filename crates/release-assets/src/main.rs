//! `release-assets OUT_DIR`: the shell completions (bash, zsh, fish) and man pages of every
//! binary, generated from the same clap definitions the binaries parse, so they cannot drift.
//! The release script puts them into each archive (`completions/`, `man/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn commands() -> Vec<clap::Command> {
    vec![
        template_scan::Cli::command(),
        iam_policy_validate::Cli::command(),
        cucumber_report::Cli::command(),
        stackset_update::Cli::command(),
        china_deploy::Cli::command(),
        fis_trigger::Cli::command(),
    ]
}

fn write(out: &Path) -> std::io::Result<()> {
    let completions = out.join("completions");
    let man = out.join("man").join("man1");
    std::fs::create_dir_all(&completions)?;
    std::fs::create_dir_all(&man)?;
    for mut command in commands() {
        let name = command.get_name().to_owned();
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            clap_complete::generate_to(shell, &mut command, &name, &completions)?;
        }
        command.build();
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone()).render(&mut page)?;
        std::fs::write(man.join(format!("{name}.1")), page)?;
        for sub in command.get_subcommands() {
            // clap takes names as &'static str: this runs once per subcommand and exits.
            let sub_name: &'static str =
                Box::leak(format!("{name}-{}", sub.get_name()).into_boxed_str());
            let mut page = Vec::new();
            clap_mangen::Man::new(sub.clone().name(sub_name)).render(&mut page)?;
            std::fs::write(man.join(format!("{sub_name}.1")), page)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: release-assets OUT_DIR");
        return ExitCode::from(2);
    };
    match write(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("release-assets: cannot write into {}: {e}", out.display());
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_binary_gets_completions_and_man_pages() {
        let dir = std::env::temp_dir().join(format!("release-assets-{}", std::process::id()));
        super::write(&dir).unwrap();
        for name in [
            "template-scan",
            "iam-policy-validate",
            "cucumber-report",
            "stackset-update",
            "china-deploy",
            "fis-trigger",
        ] {
            assert!(
                dir.join("completions")
                    .join(format!("{name}.bash"))
                    .is_file(),
                "{name}"
            );
            assert!(
                dir.join("completions").join(format!("_{name}")).is_file(),
                "{name}"
            );
            let man =
                std::fs::read_to_string(dir.join("man/man1").join(format!("{name}.1"))).unwrap();
            assert!(man.contains(".TH"), "{name}");
        }
        assert!(dir
            .join("man/man1/iam-policy-validate-validate.1")
            .is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
