//! One report with every status, used by the snapshot test of each writer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};

use crate::model::*;

fn rule(id: &str, severity: Severity, title: &str) -> Rule {
    Rule {
        id: id.into(),
        severity,
        title: title.into(),
        description: format!("{title}. Checks every resource of the type."),
        remediation: "Set the property as shown in the rule's documentation.".into(),
        remediation_url: Some(format!("https://example.com/rules/{id}")),
        compliance: vec![
            Control::new(Framework::Nist80053, "SC-28"),
            Control::new(Framework::PciDss, "3.5.1"),
            Control::new(Framework::Fsbp, "S3.4"),
        ],
        sensitive: false,
    }
}

fn finding(
    rule: &Rule,
    status: Status,
    file: &str,
    line: u32,
    resource: &str,
    message: &str,
) -> Finding {
    let location = Location {
        file: file.into(),
        line: Some(line),
        column: Some(5),
        resource: Some(resource.into()),
        resource_type: Some("AWS::S3::Bucket".into()),
        property_path: Some(format!("/Resources/{resource}/Properties")),
    };
    Finding {
        id: Finding::stable_id("template-scan", &rule.id, &location),
        rule_id: rule.id.clone(),
        severity: rule.severity,
        status,
        message: message.into(),
        location,
        target: None,
        suppression: None,
    }
}

pub(crate) fn sample() -> Report {
    let mut report = Report::new(
        Tool {
            name: "template-scan".into(),
            version: "0.1.0".into(),
            information_uri: "https://example.com/template-scan".into(),
        },
        DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
    );
    report.duration_ms = 1234;
    report.context = BTreeMap::from([
        ("commit".into(), "0123456789abcdef".into()),
        ("build_id".into(), "scan:1".into()),
        (
            "build_arn".into(),
            "arn:aws:codebuild:eu-west-1:123456789012:build/scan:1".into(),
        ),
        (
            "repository".into(),
            "https://github.com/example/app.git".into(),
        ),
        ("branch".into(), "main".into()),
        ("pipeline".into(), "app-pipeline".into()),
    ]);
    let encryption = rule(
        "S3_BUCKET_SSE",
        Severity::High,
        "S3 bucket without default encryption <&>",
    );
    let logging = rule(
        "S3_BUCKET_LOGGING",
        Severity::Medium,
        "S3 bucket without access logging",
    );
    report
        .rules
        .insert(encryption.id.clone(), encryption.clone());
    report.rules.insert(logging.id.clone(), logging.clone());
    report.sources.insert(
        "templates/app.yaml".into(),
        "Resources:\n  Data:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: data\n  Logs:\n    Type: AWS::S3::Bucket\n    Properties: {}\n".into(),
    );
    report.push(finding(
        &encryption,
        Status::Failed,
        "templates/app.yaml",
        4,
        "Data",
        "BucketEncryption is missing",
    ));
    report.push(finding(
        &logging,
        Status::Passed,
        "templates/app.yaml",
        4,
        "Data",
        "LoggingConfiguration is set",
    ));
    let mut suppressed = finding(
        &logging,
        Status::Suppressed,
        "templates/app.yaml",
        8,
        "Logs",
        "LoggingConfiguration is missing",
    );
    suppressed.suppression = Some(Suppression::Exception {
        reason: "This bucket receives the access logs".into(),
        approved_by: "security@example.com".into(),
        expires: NaiveDate::from_ymd_opt(2027, 1, 31).unwrap_or_default(),
    });
    report.push(suppressed);
    let mut inline = finding(
        &encryption,
        Status::Suppressed,
        "templates/app.yaml",
        8,
        "Logs",
        "BucketEncryption is missing",
    );
    inline.suppression = Some(Suppression::Inline {
        kind: "guard".into(),
        reason: "encrypted by the bucket policy of the log account".into(),
    });
    report.push(inline);
    report.push(Finding {
        id: Finding::stable_id(
            "template-scan",
            "PARSE",
            &Location {
                file: "templates/broken.yaml".into(),
                ..Location::default()
            },
        ),
        rule_id: "PARSE".into(),
        severity: Severity::High,
        status: Status::Error,
        message: "line 3, column 7: mapping values are not allowed here".into(),
        location: Location {
            file: "templates/broken.yaml".into(),
            line: Some(3),
            column: Some(7),
            ..Location::default()
        },
        target: None,
        suppression: None,
    });
    report.notices.push(
        "Fn::ForEach::Topics at line 12: its collection depends on parameter Names, which has no value; its resources were checked once, with `Name` standing for every item".into(),
    );
    report.expired_exceptions.push(ExpiredException {
        rule: "S3_BUCKET_SSE".into(),
        reason: "migration".into(),
        approved_by: "lead@example.com".into(),
        expires: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default(),
        file: "exceptions.yaml".into(),
        line: 9,
    });
    report.sort();
    report
}
