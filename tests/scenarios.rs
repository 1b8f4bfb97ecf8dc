//! The seed scenarios of `fixtures/scenarios/` (see its README): a governance portfolio that
//! passes both gates, its variant with an administrator CI/CD role that fails both, and a
//! portfolio-sharing function whose `organizations:*` on every resource blocks the pipeline at
//! the statement's line.

mod support;

use support::{run, stderr, stdout};

fn iam_validate(template: &str) -> std::process::Output {
    run(
        "iam-policy-validate",
        &[
            "validate",
            "--offline",
            "--template-path",
            template,
            "--region",
            "eu-west-1",
            "--account-id",
            "111122223333",
            "--parameters",
            "Team=orders",
            "--output",
            "compact",
        ],
    )
}

#[test]
fn the_governance_portfolio_and_its_products_pass_both_gates() {
    let out = run("template-scan", &["fixtures/scenarios/service-catalog"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let summary = stdout(&out);
    assert!(summary.contains("3 files"), "{summary}");
    assert!(summary.contains(" 0 failed"), "{summary}");
    for template in [
        "fixtures/scenarios/service-catalog/portfolio.yaml",
        "fixtures/scenarios/service-catalog/products/bucket.yaml",
        "fixtures/scenarios/service-catalog/products/queue.yaml",
    ] {
        let out = iam_validate(template);
        assert_eq!(out.status.code(), Some(0), "{template}: {}", stderr(&out));
        // --output compact: one line per finding, none here.
        assert!(
            stdout(&out).trim().is_empty(),
            "{template}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn a_ci_cd_role_with_administrator_access_fails_both_gates() {
    let template = "fixtures/scenarios/service-catalog-admin/portfolio.yaml";
    let out = run("template-scan", &[template, "--output", "compact"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("HIGH IAM_NO_ADMINISTRATOR_ACCESS_POLICY"),
        "{}",
        stdout(&out)
    );
    let out = iam_validate(template);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("CRITICAL IAM_ALLOW_ALL_ACTIONS"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn organizations_star_on_every_resource_is_caught_at_its_statement() {
    let template = "fixtures/scenarios/portfolio-sharing/template.yaml";
    let text = std::fs::read_to_string(support::root().join(template)).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.trim() == "Action: organizations:*")
        .expect("the fixture's organizations:* statement");
    let out = iam_validate(template);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let expected = format!("{template}:{line}:");
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with(&expected) && l.contains("HIGH IAM_SERVICE_ADMIN_ACCESS")),
        "{expected}: {}",
        stdout(&out)
    );
}

/// The scenarios are CloudFormation that deploys: cfn-lint (PyPI) finds no error in them.
#[test]
fn the_scenarios_pass_cfn_lint() {
    let cfn_lint = support::python_tool("cfn-lint-venv", "cfn-lint==1.58.0", "cfn-lint");
    let out = std::process::Command::new(cfn_lint)
        .args([
            "fixtures/scenarios/service-catalog/portfolio.yaml",
            "fixtures/scenarios/service-catalog/products/bucket.yaml",
            "fixtures/scenarios/service-catalog/products/queue.yaml",
            "fixtures/scenarios/service-catalog-admin/portfolio.yaml",
            "fixtures/scenarios/portfolio-sharing/template.yaml",
        ])
        .current_dir(support::root())
        .output()
        .expect("cfn-lint runs");
    assert!(out.status.success(), "{}", stdout(&out));
}
