//! Compiles the built-in rule pack into the binary: every `rules/**/*.guard` file, in path
//! order, as `BUILTIN_RULES: &[(path, content)]`.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "guard") {
            out.push(path);
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut code = String::from("/// The built-in rules: path under `rules/` and content.\npub static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .expect("under rules/")
            .to_string_lossy()
            .replace('\\', "/");
        code.push_str(&format!(
            "    ({relative:?}, include_str!({:?})),\n",
            file.display().to_string()
        ));
    }
    code.push_str("];\n");
    // Each rule's fixtures, for `template-scan rules ID` and the rule reference.
    code.push_str("/// The built-in rules' fixtures: rule path, fail fixture, pass fixture.\npub static BUILTIN_FIXTURES: &[(&str, &str, &str)] = &[\n");
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .expect("under rules/")
            .to_string_lossy()
            .replace('\\', "/");
        let stem = file.display().to_string();
        let stem = stem.trim_end_matches(".guard");
        let ext = if Path::new(&format!("{stem}.fail.json")).is_file() {
            "json"
        } else {
            "yaml"
        };
        let fail = format!("{stem}.fail.{ext}");
        let pass = format!("{stem}.pass.{ext}");
        if Path::new(&fail).is_file() && Path::new(&pass).is_file() {
            println!("cargo:rerun-if-changed={fail}");
            println!("cargo:rerun-if-changed={pass}");
            code.push_str(&format!(
                "    ({relative:?}, include_str!({fail:?}), include_str!({pass:?})),\n"
            ));
        }
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("builtin_rules.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
