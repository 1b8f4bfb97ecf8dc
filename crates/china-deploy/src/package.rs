//! Packaging like `aws cloudformation package`: every property that CloudFormation or SAM
//! reads from S3 and that names a local path in the template is uploaded to the target bucket
//! (directories zipped, deterministically), under a key made of its content's SHA-256, so an
//! unchanged artifact is neither uploaded again nor seen as a change by CloudFormation. The
//! template copy that is deployed then points at the objects.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_io::{api_error, AwsError, StepError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use spanned::Node;

/// How a packaged property points at its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `s3://bucket/key`.
    S3Uri,
    /// `{<bucket field>: bucket, <key field>: key}`.
    Fields(&'static str, &'static str),
    /// `https://s3.<region>.<suffix>/bucket/key`, for templates CloudFormation fetches.
    Url,
}

/// What is uploaded for a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// A directory, or a file that is not a zip already, is zipped (Lambda code, layers).
    Zip,
    /// A file uploaded as it is (API definitions, scripts, schemas).
    File,
    /// A template, packaged itself first (nested stacks, SAM applications).
    Template,
}

/// The properties that name artifacts, by resource type (as `aws cloudformation package`).
const ARTIFACTS: &[(&str, &[&str], Form, Content)] = &[
    (
        "AWS::Serverless::Function",
        &["CodeUri"],
        Form::S3Uri,
        Content::Zip,
    ),
    (
        "AWS::Serverless::LayerVersion",
        &["ContentUri"],
        Form::S3Uri,
        Content::Zip,
    ),
    (
        "AWS::Serverless::Api",
        &["DefinitionUri"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::Serverless::HttpApi",
        &["DefinitionUri"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::Serverless::StateMachine",
        &["DefinitionUri"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::Serverless::GraphQLApi",
        &["SchemaUri"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::Serverless::Application",
        &["Location"],
        Form::Url,
        Content::Template,
    ),
    (
        "AWS::Lambda::Function",
        &["Code"],
        Form::Fields("S3Bucket", "S3Key"),
        Content::Zip,
    ),
    (
        "AWS::Lambda::LayerVersion",
        &["Content"],
        Form::Fields("S3Bucket", "S3Key"),
        Content::Zip,
    ),
    (
        "AWS::ApiGateway::RestApi",
        &["BodyS3Location"],
        Form::Fields("Bucket", "Key"),
        Content::File,
    ),
    (
        "AWS::ApiGatewayV2::Api",
        &["BodyS3Location"],
        Form::Fields("Bucket", "Key"),
        Content::File,
    ),
    (
        "AWS::StepFunctions::StateMachine",
        &["DefinitionS3Location"],
        Form::Fields("Bucket", "Key"),
        Content::File,
    ),
    (
        "AWS::AppSync::GraphQLSchema",
        &["DefinitionS3Location"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::AppSync::Resolver",
        &["RequestMappingTemplateS3Location"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::AppSync::Resolver",
        &["ResponseMappingTemplateS3Location"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::AppSync::FunctionConfiguration",
        &["RequestMappingTemplateS3Location"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::AppSync::FunctionConfiguration",
        &["ResponseMappingTemplateS3Location"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::Glue::Job",
        &["Command", "ScriptLocation"],
        Form::S3Uri,
        Content::File,
    ),
    (
        "AWS::ElasticBeanstalk::ApplicationVersion",
        &["SourceBundle"],
        Form::Fields("S3Bucket", "S3Key"),
        Content::Zip,
    ),
    (
        "AWS::CodeCommit::Repository",
        &["Code", "S3"],
        Form::Fields("Bucket", "Key"),
        Content::Zip,
    ),
    (
        "AWS::CloudFormation::Stack",
        &["TemplateURL"],
        Form::Url,
        Content::Template,
    ),
];

/// Where artifacts go.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    /// Key prefix, without the trailing slash; empty for none.
    pub prefix: String,
    pub region: String,
    pub partition: String,
    /// `aws:kms` with this key, or AES256 when none.
    pub kms_key_id: Option<String>,
}

impl Bucket {
    fn key(&self, digest: &str, extension: &str) -> String {
        if self.prefix.is_empty() {
            format!("{digest}{extension}")
        } else {
            format!("{}/{digest}{extension}", self.prefix)
        }
    }

    /// The HTTPS URL CloudFormation reads a template from.
    pub fn url(&self, key: &str) -> String {
        format!(
            "https://s3.{}.{}/{}/{key}",
            self.region,
            partition::url_suffix(&self.partition),
            self.name
        )
    }
}

/// One uploaded (or already present) artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// `template.yaml:12 Resources.Function.Properties.CodeUri`.
    pub place: String,
    pub local: PathBuf,
    pub key: String,
    /// False when the object was already in the bucket.
    pub uploaded: bool,
}

fn is_local(text: &str) -> bool {
    !(text.is_empty()
        || text.starts_with("s3://")
        || text.starts_with("http://")
        || text.starts_with("https://"))
}

/// Packages the template at `file` (already loaded as `root`), rewriting `json` (its JSON
/// form) to point at the uploaded objects. Nested templates are packaged recursively.
pub async fn package(
    s3: &aws_sdk_s3::Client,
    bucket: &Bucket,
    file: &Path,
    root: &Node,
    json: &mut Json,
    depth: usize,
) -> Result<Vec<Artifact>, StepError> {
    if depth > 10 {
        return Err(StepError::Input(format!(
            "{}: nested stacks go more than 10 levels deep; is a template including itself?",
            file.display()
        )));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let mut artifacts = Vec::new();
    let mut targets: Vec<(Vec<String>, u32, String, Form, Content)> = Vec::new();
    for r in cfn::resources(root) {
        let Some(kind) = r.resource_type else {
            continue;
        };
        for (ty, property, form, content) in ARTIFACTS {
            if *ty != kind {
                continue;
            }
            let mut path = vec![
                "Resources".to_owned(),
                r.logical_id.to_owned(),
                "Properties".to_owned(),
            ];
            path.extend(property.iter().map(|p| (*p).to_owned()));
            if let Some(node) = root.pointer(&path) {
                if let Some(text) = node.as_str().filter(|t| is_local(t)) {
                    targets.push((path, node.pos.line, text.to_owned(), *form, *content));
                }
            }
        }
    }
    includes(root, &mut Vec::new(), &mut targets);
    for (path, line, text, form, content) in targets {
        let place = format!("{}:{line} {}", file.display(), path.join("."));
        let local = base.join(&text);
        if !local.exists() {
            return Err(StepError::Input(format!(
                "{place}: {text} does not exist (paths are relative to the template's directory); fix the path or upload the artifact and give its s3:// location"
            )));
        }
        let (bytes, extension) = match content {
            Content::Template => {
                let child_text = std::fs::read_to_string(&local).map_err(|e| {
                    StepError::Input(format!("{place}: cannot read {}: {e}", local.display()))
                })?;
                let child_file = local.display().to_string();
                let child = cfn::load(&child_file, &child_text, spanned::Limits::default())
                    .map_err(|e| StepError::Input(e.to_string()))?;
                cfn_eval::template_shape::check(&child_file, &child_text, &child)
                    .map_err(|e| StepError::Input(e.to_string()))?;
                let mut child_json = child.to_json();
                let nested = Box::pin(package(
                    s3,
                    bucket,
                    &local,
                    &child,
                    &mut child_json,
                    depth + 1,
                ))
                .await?;
                artifacts.extend(nested);
                let bytes = serde_json::to_vec_pretty(&child_json)
                    .map_err(|e| StepError::Input(format!("{place}: {e}")))?;
                (bytes, ".template".to_owned())
            }
            Content::Zip if local.is_dir() || !has_zip_extension(&local) => (
                zip(&local).map_err(|e| StepError::Input(format!("{place}: {e}")))?,
                ".zip".to_owned(),
            ),
            _ if local.is_dir() => {
                return Err(StepError::Input(format!(
                    "{place}: {text} is a directory; this property takes a file"
                )))
            }
            _ => {
                let bytes = std::fs::read(&local).map_err(|e| {
                    StepError::Input(format!("{place}: cannot read {}: {e}", local.display()))
                })?;
                let extension = local
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()))
                    .unwrap_or_default();
                (bytes, extension)
            }
        };
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = bucket.key(&digest, &extension);
        let uploaded = upload(s3, bucket, &key, bytes).await?;
        let pointer = match form {
            Form::S3Uri => Json::String(format!("s3://{}/{key}", bucket.name)),
            Form::Fields(b, k) => serde_json::json!({ b: bucket.name, k: key }),
            Form::Url => Json::String(bucket.url(&key)),
        };
        if let Some(slot) = cfn::value_at_mut(json, &path) {
            *slot = pointer;
        }
        artifacts.push(Artifact {
            place,
            local,
            key,
            uploaded,
        });
    }
    Ok(artifacts)
}

/// `Fn::Transform: {Name: AWS::Include, Parameters: {Location: ./part.yaml}}` anywhere.
fn includes(
    node: &Node,
    path: &mut Vec<String>,
    targets: &mut Vec<(Vec<String>, u32, String, Form, Content)>,
) {
    if let Some(entries) = node.as_map() {
        if let Some(transform) = node.get("Fn::Transform") {
            if transform.get("Name").and_then(Node::as_str) == Some("AWS::Include") {
                if let Some(location) = transform.pointer(&["Parameters", "Location"]) {
                    if let Some(text) = location.as_str().filter(|t| is_local(t)) {
                        let mut p = path.clone();
                        p.extend(["Fn::Transform", "Parameters", "Location"].map(str::to_owned));
                        targets.push((
                            p,
                            location.pos.line,
                            text.to_owned(),
                            Form::S3Uri,
                            Content::File,
                        ));
                    }
                }
            }
        }
        for e in entries {
            path.push(e.key.clone());
            includes(&e.value, path, targets);
            path.pop();
        }
    } else if let Some(items) = node.as_seq() {
        for (i, item) in items.iter().enumerate() {
            path.push(i.to_string());
            includes(item, path, targets);
            path.pop();
        }
    }
}

fn has_zip_extension(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("zip" | "jar")
    )
}

/// Zips a directory (or one file) deterministically: sorted entries, a fixed timestamp, and
/// only the executable bit kept from the permissions, so the same content gives the same key.
pub fn zip(path: &Path) -> Result<Vec<u8>, String> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let files: Vec<(String, PathBuf)> = if path.is_dir() {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if entry.file_type().is_file() {
                let name = entry
                    .path()
                    .strip_prefix(path)
                    .map_err(|e| e.to_string())?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((name, entry.path().to_owned()));
            }
        }
        files
    } else {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        vec![(name, path.to_owned())]
    };
    if files.is_empty() {
        return Err(format!("{} holds no file to package", path.display()));
    }
    for (name, file) in files {
        let bytes =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let executable = is_executable(&file);
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(if executable { 0o755 } else { 0o644 });
        writer
            .start_file(name, options)
            .and_then(|()| writer.write_all(&bytes).map_err(Into::into))
            .map_err(|e| format!("cannot zip {}: {e}", file.display()))?;
    }
    writer
        .finish()
        .map(std::io::Cursor::into_inner)
        .map_err(|e| format!("cannot zip {}: {e}", path.display()))
}

fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Uploads unless the key is there already (same key, same content); returns whether it
/// uploaded.
async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &Bucket,
    key: &str,
    bytes: Vec<u8>,
) -> Result<bool, AwsError> {
    match s3.head_object().bucket(&bucket.name).key(key).send().await {
        Ok(_) => return Ok(false),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => {
            return Err(api_error(
                "S3 HeadObject",
                &e,
                "s3:GetObject (HeadObject) on the bucket",
            ))
        }
    }
    let mut put = s3
        .put_object()
        .bucket(&bucket.name)
        .key(key)
        .body(ByteStream::from(bytes));
    put = match &bucket.kms_key_id {
        Some(kms) => put
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(kms),
        None => put.server_side_encryption(ServerSideEncryption::Aes256),
    };
    put.send()
        .await
        .map_err(|e| api_error("S3 PutObject", &e, "s3:PutObject on the bucket"))?;
    Ok(true)
}

/// Uploads a template too large for TemplateBody; returns its URL.
pub async fn upload_template(
    s3: &aws_sdk_s3::Client,
    bucket: &Bucket,
    body: &str,
) -> Result<String, AwsError> {
    let digest: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = bucket.key(&digest, ".template");
    upload(s3, bucket, &key, body.as_bytes().to_vec()).await?;
    Ok(bucket.url(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_the_same_for_the_same_content() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("index.py"), "def handler(e, c): return 1\n")
            .expect("write");
        std::fs::write(dir.path().join("lib/util.py"), "X = 1\n").expect("write");
        let first = zip(dir.path()).expect("zip");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("index.py"), "def handler(e, c): return 1\n")
            .expect("touch");
        assert_eq!(
            first,
            zip(dir.path()).expect("zip"),
            "timestamps do not count"
        );
        let archive = zip::ZipArchive::new(std::io::Cursor::new(first)).expect("a zip");
        let names: Vec<&str> = archive.file_names().collect();
        assert!(
            names.contains(&"index.py") && names.contains(&"lib/util.py"),
            "{names:?}"
        );
        let empty = tempfile::tempdir().expect("dir");
        assert!(zip(empty.path()).unwrap_err().contains("holds no file"));
    }

    #[test]
    fn template_urls_use_the_partitions_domain() {
        let bucket = Bucket {
            name: "artifacts".into(),
            prefix: "app".into(),
            region: "cn-north-1".into(),
            partition: "aws-cn".into(),
            kms_key_id: None,
        };
        assert_eq!(
            bucket.url(&bucket.key("ab12", ".template")),
            "https://s3.cn-north-1.amazonaws.com.cn/artifacts/app/ab12.template"
        );
    }
}
