//! Which files a scan reads: files and directories given on the command line, CDK cloud
//! assemblies (`cdk.out`) read through their manifest, and `--shard I/N`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use globset::GlobSet;
use serde_json::Value;

/// One file to scan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    /// Path as reported: relative to the working directory where possible, `/`-separated.
    pub display: String,
    pub path: PathBuf,
    /// Given by name on the command line (not found in a directory walk): such a file must
    /// be a template or plan, where a directory may hold other YAML and JSON.
    pub explicit: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DiscoverError {
    pub path: String,
    pub message: String,
}

/// `--shard I/N`: the I-th of N deterministic parts of the discovered files (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard; write I/N with 1 <= I <= N, such as 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Every N-th file of the sorted list, starting at the I-th: the same files for the same
    /// tree on every machine, and shards that differ by at most one file in size.
    pub fn select(self, inputs: Vec<Input>) -> Vec<Input> {
        inputs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index - 1)
            .map(|(_, input)| input)
            .collect()
    }
}

const EXTENSIONS: [&str; 5] = ["yaml", "yml", "json", "template", "jsn"];
const SKIPPED_DIRS: [&str; 3] = ["node_modules", "target", "__pycache__"];

fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

fn is_cdk_assembly(dir: &Path) -> bool {
    let manifest = dir.join("manifest.json");
    manifest.is_file()
        && std::fs::read_to_string(&manifest)
            .map(|t| t.contains("\"artifacts\""))
            .unwrap_or(false)
}

fn read_json(path: &Path) -> Result<Value, DiscoverError> {
    let err = |message: String| DiscoverError {
        path: display(path),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| {
        err(format!(
            "line {}, column {}: not valid JSON: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// Every stack template of a cloud assembly, nested stacks and nested assemblies (CDK
/// stages) included; Lambda code, Docker contexts and other assets are skipped.
fn cdk_templates(dir: &Path, out: &mut Vec<Input>) -> Result<(), DiscoverError> {
    let manifest_path = dir.join("manifest.json");
    let manifest = read_json(&manifest_path)?;
    let artifacts = manifest["artifacts"]
        .as_object()
        .ok_or_else(|| DiscoverError {
            path: display(&manifest_path),
            message: "no `artifacts` object; is this a CDK cloud assembly (cdk.out)?".into(),
        })?;
    fn add(out: &mut Vec<Input>, file: PathBuf) {
        if !out.iter().any(|i| i.path == file) {
            out.push(Input {
                display: display(&file),
                path: file,
                explicit: true,
            });
        }
    }
    for (name, artifact) in artifacts {
        let properties = &artifact["properties"];
        match artifact["type"].as_str() {
            Some("aws:cloudformation:stack") => {
                let template =
                    properties["templateFile"]
                        .as_str()
                        .ok_or_else(|| DiscoverError {
                            path: display(&manifest_path),
                            message: format!(
                                "stack artifact `{name}` has no properties.templateFile"
                            ),
                        })?;
                let file = dir.join(template);
                if !file.is_file() {
                    return Err(DiscoverError {
                        path: display(&file),
                        message: format!("the manifest lists this template for `{name}`, but it does not exist; run `cdk synth` again"),
                    });
                }
                add(out, file);
            }
            Some("cdk:asset-manifest") => {
                let Some(assets_file) = properties["file"].as_str() else {
                    continue;
                };
                let assets = read_json(&dir.join(assets_file))?;
                for asset in assets["files"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(_, a)| a)
                {
                    let source = &asset["source"];
                    let is_template = source["packaging"].as_str() == Some("file")
                        && source["path"]
                            .as_str()
                            .is_some_and(|p| p.ends_with(".template.json"));
                    if let (true, Some(path)) = (is_template, source["path"].as_str()) {
                        let file = dir.join(path);
                        if file.is_file() {
                            add(out, file);
                        }
                    }
                }
            }
            Some("cdk:cloud-assembly") => {
                if let Some(sub) = properties["directoryName"].as_str() {
                    cdk_templates(&dir.join(sub), out)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn walk(dir: &Path, exclude: &GlobSet, out: &mut Vec<Input>) -> Result<(), DiscoverError> {
    let mut it = walkdir::WalkDir::new(dir).sort_by_file_name().into_iter();
    while let Some(entry) = it.next() {
        let entry = entry.map_err(|e| DiscoverError {
            path: display(dir),
            message: format!("cannot read the directory: {e}"),
        })?;
        let path = entry.path();
        let shown = display(path);
        if exclude.is_match(&shown) {
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        if entry.file_type().is_dir() {
            let name = entry.file_name().to_string_lossy();
            if entry.depth() > 0 && (name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_ref()))
            {
                it.skip_current_dir();
            } else if is_cdk_assembly(path) {
                cdk_templates(path, out)?;
                it.skip_current_dir();
            }
            continue;
        }
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if wanted && entry.file_type().is_file() {
            out.push(Input {
                display: shown,
                path: path.to_owned(),
                explicit: false,
            });
        }
    }
    Ok(())
}

/// The files to scan, sorted by reported path and without duplicates.
pub fn discover(paths: &[PathBuf], exclude: &GlobSet) -> Result<Vec<Input>, DiscoverError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| DiscoverError {
            path: display(path),
            message: format!("cannot read: {e}"),
        })?;
        if meta.is_dir() {
            let before = out.len();
            if is_cdk_assembly(path) {
                cdk_templates(path, &mut out)?;
            } else {
                walk(path, exclude, &mut out)?;
            }
            if out.len() == before {
                return Err(DiscoverError {
                    path: display(path),
                    message: "no templates here (looked for .yaml, .yml, .json and .template files, and CDK manifest.json)".into(),
                });
            }
        } else {
            out.push(Input {
                display: display(path),
                path: path.clone(),
                explicit: true,
            });
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

/// The files changed against a git ref (`--changed-since`): tracked files that differ from
/// it in the work tree or the index, and untracked files git does not ignore. Canonical
/// paths, so they compare with discovered inputs however those were named.
pub fn changed_since(
    reference: &str,
) -> Result<std::collections::BTreeSet<PathBuf>, DiscoverError> {
    let git = |args: &[&str]| -> Result<String, DiscoverError> {
        let out = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| DiscoverError {
                path: reference.to_owned(),
                message: format!("--changed-since needs git: {e}"),
            })?;
        if !out.status.success() {
            return Err(DiscoverError {
                path: reference.to_owned(),
                message: format!(
                    "--changed-since: git {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top.trim());
    let mut changed = std::collections::BTreeSet::new();
    let diff = git(&["diff", "--name-only", "--no-renames", reference, "--"])?;
    let untracked = git(&["ls-files", "--others", "--exclude-standard", "--full-name"])?;
    for line in diff.lines().chain(untracked.lines()) {
        if let Ok(path) = top.join(line).canonicalize() {
            changed.insert(path);
        }
    }
    Ok(changed)
}

/// The inputs a change touches: the changed files, and the templates that name one of them
/// (a parent stack whose `TemplateURL` or `AWS::Include` points at a changed nested
/// template), since their result can change with it.
pub fn touched(inputs: Vec<Input>, changed: &std::collections::BTreeSet<PathBuf>) -> Vec<Input> {
    let canonical = |i: &Input| i.path.canonicalize().unwrap_or_else(|_| i.path.clone());
    let names: Vec<String> = changed
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    inputs
        .into_iter()
        .filter(|input| {
            changed.contains(&canonical(input))
                || std::fs::read_to_string(&input.path).is_ok_and(|text| {
                    let dir = canonical(input).parent().map(Path::to_owned);
                    changed.iter().zip(&names).any(|(path, name)| {
                        text.contains(name.as_str())
                            && dir.as_ref().is_some_and(|d| {
                                path.strip_prefix(d)
                                    .is_ok_and(|rel| text.contains(&*rel.to_string_lossy()))
                            })
                    })
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_files() {
        let inputs: Vec<Input> = (0..10)
            .map(|i| Input {
                display: format!("t{i}.yaml"),
                path: PathBuf::from(format!("t{i}.yaml")),
                explicit: true,
            })
            .collect();
        let mut seen = Vec::new();
        for index in 1..=3 {
            let part = Shard { index, count: 3 }.select(inputs.clone());
            assert!((3..=4).contains(&part.len()));
            seen.extend(part);
        }
        seen.sort();
        assert_eq!(seen, inputs);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
    }

    #[test]
    fn reads_a_cloud_assembly_and_skips_assets() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("asset.abc")).unwrap();
        std::fs::write(root.join("asset.abc/handler.json"), "{}").unwrap();
        std::fs::create_dir_all(root.join("assembly-Prod")).unwrap();
        std::fs::write(
            root.join("manifest.json"),
            r#"{"version":"36.0.0","artifacts":{
                "App":{"type":"aws:cloudformation:stack","properties":{"templateFile":"App.template.json"}},
                "App.assets":{"type":"cdk:asset-manifest","properties":{"file":"App.assets.json"}},
                "assembly-Prod":{"type":"cdk:cloud-assembly","properties":{"directoryName":"assembly-Prod"}},
                "Tree":{"type":"cdk:tree","properties":{"file":"tree.json"}}}}"#,
        )
        .unwrap();
        std::fs::write(root.join("App.template.json"), "{}").unwrap();
        std::fs::write(root.join("AppNested.nested.template.json"), "{}").unwrap();
        std::fs::write(
            root.join("App.assets.json"),
            r#"{"files":{"h1":{"source":{"path":"AppNested.nested.template.json","packaging":"file"}},
                         "h2":{"source":{"path":"asset.abc","packaging":"zip"}}}}"#,
        )
        .unwrap();
        std::fs::write(
            root.join("assembly-Prod/manifest.json"),
            r#"{"artifacts":{"Prod":{"type":"aws:cloudformation:stack","properties":{"templateFile":"Prod.template.json"}}}}"#,
        )
        .unwrap();
        std::fs::write(root.join("assembly-Prod/Prod.template.json"), "{}").unwrap();
        let found = discover(&[root.to_owned()], &GlobSet::empty()).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|i| {
                i.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "App.template.json",
                "AppNested.nested.template.json",
                "assembly-Prod/Prod.template.json"
            ]
        );
    }

    #[test]
    fn an_empty_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover(&[dir.path().to_owned()], &GlobSet::empty()).unwrap_err();
        assert!(err.message.contains("no templates here"), "{err}");
    }
}
