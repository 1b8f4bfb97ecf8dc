//! Keys of [`Report::context`](crate::Report::context): where a run happened. `crates/aws-io`
//! fills them from the CodeBuild environment (or git, on a laptop); the writers put them into
//! JUnit properties, the Cucumber feature description, SARIF `versionControlProvenance` and
//! ASFF `ProductFields` and `Resources`.

/// CodePipeline pipeline name (from `CODEBUILD_INITIATOR=codepipeline/<name>`).
pub const PIPELINE: &str = "pipeline";
/// Who started the build: `codepipeline/<name>`, `GitHub-Hookshot/...`, an IAM user.
pub const INITIATOR: &str = "initiator";
pub const BUILD_ID: &str = "build_id";
/// `arn:<partition>:codebuild:<region>:<account>:build/<project>:<id>`.
pub const BUILD_ARN: &str = "build_arn";
pub const COMMIT: &str = "commit";
/// Clone URL of the source repository.
pub const REPOSITORY: &str = "repository";
pub const BRANCH: &str = "branch";
/// Webhook details, when a webhook started the build.
pub const WEBHOOK_EVENT: &str = "webhook_event";
pub const WEBHOOK_TRIGGER: &str = "webhook_trigger";
pub const WEBHOOK_BASE_REF: &str = "webhook_base_ref";
pub const WEBHOOK_ACTOR: &str = "webhook_actor";

/// The CodeBuild project ARN of a build ARN (`.../build/<project>:<id>` -> `.../project/<project>`).
pub fn project_arn(build_arn: &str) -> Option<String> {
    let (prefix, rest) = build_arn.split_once(":build/")?;
    let project = rest.rsplit_once(':').map_or(rest, |(p, _)| p);
    (!project.is_empty()).then(|| format!("{prefix}:project/{project}"))
}

/// A repository URL as a URI: scp-like `git@host:org/repo.git` becomes
/// `ssh://git@host/org/repo.git`; anything without a scheme is not a URI and gives `None`.
pub fn repository_uri(repository: &str) -> Option<String> {
    if repository.contains("://") {
        return Some(repository.to_owned());
    }
    let (user_host, path) = repository.split_once(':')?;
    (user_host.contains('@') && !path.is_empty()).then(|| format!("ssh://{user_host}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_arns_and_repository_uris() {
        assert_eq!(
            project_arn("arn:aws:codebuild:eu-west-1:123456789012:build/scan:0b1c-2d3e").as_deref(),
            Some("arn:aws:codebuild:eu-west-1:123456789012:project/scan")
        );
        assert_eq!(project_arn("not an arn"), None);
        assert_eq!(
            repository_uri("git@github.com:org/app.git").as_deref(),
            Some("ssh://git@github.com/org/app.git")
        );
        assert_eq!(
            repository_uri("https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app")
                .as_deref(),
            Some("https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app")
        );
        assert_eq!(repository_uri("app"), None);
    }
}
