//! Where a run happens: the CodeBuild / CodePipeline environment, or git on a laptop.

use std::collections::BTreeMap;
use std::process::Command;

use findings::context::*;

/// Reads the pipeline context. `env` and `git` are passed in so tests can give their own.
pub fn detect(
    env: impl Fn(&str) -> Option<String>,
    git: impl Fn(&[&str]) -> Option<String>,
) -> BTreeMap<String, String> {
    let env = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut out = BTreeMap::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            out.insert(key.to_owned(), value);
        }
    };
    let initiator = env("CODEBUILD_INITIATOR");
    put(
        PIPELINE,
        initiator
            .as_deref()
            .and_then(|i| i.strip_prefix("codepipeline/"))
            .map(str::to_owned),
    );
    put(INITIATOR, initiator);
    put(BUILD_ID, env("CODEBUILD_BUILD_ID"));
    put(BUILD_ARN, env("CODEBUILD_BUILD_ARN"));
    put(
        COMMIT,
        env("CODEBUILD_RESOLVED_SOURCE_VERSION").or_else(|| git(&["rev-parse", "HEAD"])),
    );
    put(
        REPOSITORY,
        env("CODEBUILD_SOURCE_REPO_URL")
            .or_else(|| git(&["config", "--get", "remote.origin.url"]))
            .map(|url| strip_credentials(&url)),
    );
    let head_ref = env("CODEBUILD_WEBHOOK_HEAD_REF");
    put(
        BRANCH,
        head_ref
            .map(|r| {
                r.strip_prefix("refs/heads/")
                    .map_or(r.clone(), str::to_owned)
            })
            .or_else(|| git(&["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD")),
    );
    put(WEBHOOK_EVENT, env("CODEBUILD_WEBHOOK_EVENT"));
    put(WEBHOOK_TRIGGER, env("CODEBUILD_WEBHOOK_TRIGGER"));
    put(WEBHOOK_BASE_REF, env("CODEBUILD_WEBHOOK_BASE_REF"));
    put(WEBHOOK_ACTOR, env("CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID"));
    out
}

/// A clone URL may carry a token (`https://user:token@host/...`); it never goes into reports.
/// Userinfo is everything up to the last `@`: a secret may itself hold `/` (AWS secret keys
/// do), so the authority cannot be found by looking for the first `/`.
fn strip_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') || !userinfo.contains('/') => {
                format!("{scheme}://{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The context of this process: its environment, and git in the working directory.
pub fn from_environment() -> BTreeMap<String, String> {
    detect(
        |name| std::env::var(name).ok(),
        |args| {
            let out = Command::new("git").args(args).output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
                .filter(|s| !s.is_empty())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebuild_environment() {
        let vars = BTreeMap::from([
            ("CODEBUILD_INITIATOR", "codepipeline/orders-pipeline"),
            ("CODEBUILD_BUILD_ID", "scan:1234"),
            (
                "CODEBUILD_BUILD_ARN",
                "arn:aws:codebuild:eu-west-1:123456789012:build/scan:1234",
            ),
            ("CODEBUILD_RESOLVED_SOURCE_VERSION", "0123abcd"),
            (
                "CODEBUILD_SOURCE_REPO_URL",
                "https://x-token:s3cr3t@github.com/org/orders.git",
            ),
            ("CODEBUILD_WEBHOOK_HEAD_REF", "refs/heads/feature/x"),
            ("CODEBUILD_WEBHOOK_TRIGGER", "pr/42"),
        ]);
        let context = detect(
            |name| vars.get(name).map(|v| (*v).to_owned()),
            |_| panic!("git is not asked when CodeBuild says it all"),
        );
        assert_eq!(context[PIPELINE], "orders-pipeline");
        assert_eq!(context[INITIATOR], "codepipeline/orders-pipeline");
        assert_eq!(context[BUILD_ID], "scan:1234");
        assert_eq!(context[COMMIT], "0123abcd");
        assert_eq!(context[REPOSITORY], "https://github.com/org/orders.git");
        assert_eq!(context[BRANCH], "feature/x");
        assert_eq!(context[WEBHOOK_TRIGGER], "pr/42");
        assert!(!context.values().any(|v| v.contains("s3cr3t")));
        assert_eq!(
            strip_credentials("https://AKIA:wJalr/K7MDENG/bPxR@host.example/org/repo.git"),
            "https://host.example/org/repo.git"
        );
        assert_eq!(
            strip_credentials("https://host.example/org/repo@v1.git"),
            "https://host.example/org/repo@v1.git"
        );
    }

    #[test]
    fn git_on_a_laptop() {
        let context = detect(
            |_| None,
            |args| match args {
                ["rev-parse", "HEAD"] => Some("feedbeef".into()),
                ["config", "--get", "remote.origin.url"] => {
                    Some("git@github.com:org/orders.git".into())
                }
                ["rev-parse", "--abbrev-ref", "HEAD"] => Some("main".into()),
                _ => None,
            },
        );
        assert_eq!(context[COMMIT], "feedbeef");
        assert_eq!(context[REPOSITORY], "git@github.com:org/orders.git");
        assert_eq!(context[BRANCH], "main");
        assert!(!context.contains_key(PIPELINE));
    }
}
