//! The function's deployment artifact: build with cargo-lambda, name by
//! SHA-256, and keep in an encrypted, private bucket the deployer owns.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::aws::explain;
use crate::cli::Architecture;
use crate::output::Progress;

/// Package and binary name of the Lambda function.
pub const FUNCTION_PACKAGE: &str = "webhook-receiver";

/// Name of the executable a `provided.al2023` function runs.
pub const BOOTSTRAP: &str = "bootstrap";

/// Prefix of artifact keys in the bucket.
const KEY_PREFIX: &str = "webhook-receiver";

/// S3's maximum bucket name length.
const MAX_BUCKET_NAME_LEN: usize = 63;

/// DeleteObjects accepts at most this many keys per request.
const DELETE_BATCH: usize = 1000;

const INSTALL_HINT: &str = "install both with `pip install cargo-lambda ziglang` or run scripts/setup.sh \
     (then `source scripts/env.sh`)";

/// A zip ready to upload.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    pub sha256: String,
}

impl Artifact {
    /// Reads and hashes the zip at `path`.
    pub fn from_path(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read artifact {}", path.display()))?;
        check_has_bootstrap(&bytes)
            .with_context(|| format!("invalid artifact {}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }

    /// Object key: the content hash, so each build is stored once.
    pub fn key(&self) -> String {
        format!("{KEY_PREFIX}/{}.zip", self.sha256)
    }
}

/// Checks that `zip` is a zip archive with the `bootstrap` executable that a
/// `provided.al2023` function runs.
fn check_has_bootstrap(zip: &[u8]) -> Result<()> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).context(
        "not a zip file; pass the bootstrap.zip that \
         `cargo lambda build --output-format zip` writes",
    )?;
    let Some(index) = archive.index_for_name(BOOTSTRAP) else {
        bail!(
            "the zip has no {BOOTSTRAP} entry; pass the bootstrap.zip that \
             `cargo lambda build --output-format zip` writes"
        );
    };

    // Lambda runs `bootstrap` with the permissions stored in the zip. A zip
    // made without Unix permissions stores none, and Lambda then runs it.
    let entry = archive.by_index_raw(index).context("invalid zip entry")?;
    if let Some(mode) = entry.unix_mode()
        && mode & 0o111 == 0
    {
        bail!("{BOOTSTRAP} in the zip is not executable (mode {mode:o}); rebuild the zip");
    }
    Ok(())
}

/// Builds the function with cargo-lambda and returns the zip.
pub fn build(architecture: Architecture, progress: &Progress) -> Result<Artifact> {
    let root = workspace_root()?;
    check_build_tools()?;

    let mut command = Command::new("cargo");
    command
        .current_dir(&root)
        .args(["lambda", "build", "--release", "--output-format", "zip"])
        .args(["-p", FUNCTION_PACKAGE]);
    if architecture == Architecture::Arm64 {
        command.arg("--arm64");
    }
    progress.line(format!(
        "Building {FUNCTION_PACKAGE} for {} with cargo-lambda (this takes minutes on a cold cache).",
        architecture.as_lambda_name()
    ));
    progress.status("building the function");
    let status = progress.suspend(|| command.stdin(Stdio::null()).status());
    let status = status.context("failed to run `cargo lambda build`")?;
    if !status.success() {
        bail!(
            "`cargo lambda build` failed ({status}); see its output above, or pass \
             --artifact PATH to deploy a zip built earlier"
        );
    }

    let zip = root
        .join("target/lambda")
        .join(FUNCTION_PACKAGE)
        .join("bootstrap.zip");
    Artifact::from_path(&zip)
}

/// Finds the workspace root with `cargo locate-project --workspace`.
fn workspace_root() -> Result<PathBuf> {
    let output = Command::new("cargo")
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stderr(Stdio::null())
        .output()
        .context("failed to run `cargo locate-project`; is cargo installed?")?;
    if !output.status.success() {
        bail!(
            "building the function needs the project checkout: run the deployer \
             inside it, or pass --artifact PATH"
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    manifest
        .parent()
        .map(Path::to_owned)
        .ok_or_else(|| anyhow!("cargo returned no workspace root"))
}

/// Checks for cargo-lambda and for zig, which cargo-lambda finds on PATH or
/// through the `ziglang` Python package.
fn check_build_tools() -> Result<()> {
    if !runs(Command::new("cargo").args(["lambda", "--version"])) {
        bail!("cargo-lambda is not installed; {INSTALL_HINT}");
    }
    let zig_on_path = runs(Command::new("zig").arg("version"));
    let zig_from_python = runs(Command::new("python3").args(["-m", "ziglang", "version"]));
    if !zig_on_path && !zig_from_python {
        bail!("zig is not installed, and cargo-lambda needs it to link; {INSTALL_HINT}");
    }
    Ok(())
}

fn runs(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Name of the artifact bucket. Bucket names are global, so the account id
/// and region keep it unique.
pub fn bucket_name(prefix: &str, account_id: &str, region: &str) -> Result<String> {
    let name = format!("{prefix}-webhook-artifacts-{account_id}-{region}").to_lowercase();
    if name.len() > MAX_BUCKET_NAME_LEN {
        bail!(
            "artifact bucket name {name} is {} characters, above S3's limit of \
             {MAX_BUCKET_NAME_LEN}; choose a shorter --prefix",
            name.len()
        );
    }
    let valid = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid {
        bail!(
            "artifact bucket name {name} is not a valid S3 bucket name; use only \
             letters, digits and hyphens in --prefix"
        );
    }
    Ok(name)
}

/// Returns whether the bucket exists and belongs to this account.
pub async fn bucket_exists(s3: &Client, bucket: &str) -> Result<bool> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(error) if matches!(error.as_service_error(), Some(HeadBucketError::NotFound(_))) => {
            Ok(false)
        }
        Err(error) => Err(explain(
            error,
            &format!(
                "failed to check artifact bucket {bucket} (a 403 means another account owns \
                 that name; choose another --prefix)"
            ),
        )),
    }
}

/// Creates the bucket with default encryption and all public access blocked,
/// unless it exists already.
pub async fn ensure_bucket(s3: &Client, bucket: &str, region: &str) -> Result<()> {
    if bucket_exists(s3, bucket).await? {
        return Ok(());
    }

    let mut request = s3.create_bucket().bucket(bucket);
    // us-east-1 is the default location and rejects an explicit constraint.
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
        Err(error) => {
            return Err(explain(
                error,
                &format!("failed to create artifact bucket {bucket}"),
            ));
        }
    }

    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()?,
                )
                .build(),
        )
        .build()?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .map_err(|error| explain(error, &format!("failed to turn on encryption for {bucket}")))?;

    let block_all = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block_all)
        .send()
        .await
        .map_err(|error| explain(error, &format!("failed to block public access to {bucket}")))?;
    Ok(())
}

/// Uploads the artifact unless an object with its hash is already there.
/// Returns whether it uploaded.
pub async fn upload(s3: &Client, bucket: &str, artifact: &Artifact) -> Result<bool> {
    let key = artifact.key();
    match s3.head_object().bucket(bucket).key(&key).send().await {
        Ok(_) => return Ok(false),
        Err(error) if matches!(error.as_service_error(), Some(HeadObjectError::NotFound(_))) => {}
        Err(error) => {
            return Err(explain(
                error,
                &format!("failed to check s3://{bucket}/{key}"),
            ));
        }
    }

    let body = ByteStream::from_path(&artifact.path)
        .await
        .with_context(|| format!("failed to read {}", artifact.path.display()))?;
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(body)
        .content_type("application/zip")
        .send()
        .await
        .map_err(|error| explain(error, &format!("failed to upload s3://{bucket}/{key}")))?;
    Ok(true)
}

/// Deletes every object version and delete marker, then the bucket.
/// Returns false when the bucket did not exist.
pub async fn delete_bucket(s3: &Client, bucket: &str) -> Result<bool> {
    if !bucket_exists(s3, bucket).await? {
        return Ok(false);
    }

    let mut objects = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_id_marker: Option<String> = None;
    loop {
        // ListObjectVersions pages by two markers and has no SDK paginator.
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_id_marker.take())
            .send()
            .await
            .map_err(|error| explain(error, &format!("failed to list objects in {bucket}")))?;
        let versions = page
            .versions()
            .iter()
            .map(|version| (version.key(), version.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|marker| (marker.key(), marker.version_id()));
        for (key, version_id) in versions.chain(markers) {
            let Some(key) = key else { continue };
            objects.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version_id.map(str::to_owned))
                    .build()?,
            );
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_id_marker = page.next_version_id_marker().map(str::to_owned);
        if key_marker.is_none() {
            break;
        }
    }

    for batch in objects.chunks(DELETE_BATCH) {
        let delete = Delete::builder()
            .set_objects(Some(batch.to_vec()))
            .quiet(true)
            .build()?;
        let output = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|error| explain(error, &format!("failed to empty bucket {bucket}")))?;
        if let Some(failed) = output.errors().first() {
            bail!(
                "failed to delete s3://{bucket}/{}: {}",
                failed.key().unwrap_or("?"),
                failed.message().unwrap_or("no message")
            );
        }
    }

    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|error| explain(error, &format!("failed to delete bucket {bucket}")))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_name_includes_account_and_region() {
        let name = bucket_name("dev", "123456789012", "eu-west-1").unwrap();

        assert_eq!(name, "dev-webhook-artifacts-123456789012-eu-west-1");
    }

    #[test]
    fn bucket_name_too_long_rejected() {
        let error = bucket_name(&"p".repeat(30), "123456789012", "ap-southeast-2").unwrap_err();

        assert!(error.to_string().contains("shorter --prefix"), "{error}");
    }

    #[test]
    fn artifact_key_is_content_hash() {
        let path = std::env::temp_dir().join(format!("artifact-test-{}.zip", std::process::id()));
        std::fs::write(&path, zip_with_entry(BOOTSTRAP)).unwrap();

        let artifact = Artifact::from_path(&path).unwrap();
        let _ = std::fs::remove_file(&path);

        assert_eq!(artifact.sha256.len(), 64);
        assert_eq!(
            artifact.key(),
            format!("webhook-receiver/{}.zip", artifact.sha256)
        );
    }

    #[test]
    fn artifact_not_zip_rejected() {
        let path = std::env::temp_dir().join(format!("artifact-test-{}.txt", std::process::id()));
        std::fs::write(&path, b"not a zip").unwrap();

        let error = Artifact::from_path(&path).unwrap_err();
        let _ = std::fs::remove_file(&path);

        assert!(format!("{error:#}").contains("not a zip file"), "{error:#}");
    }

    #[test]
    fn artifact_without_bootstrap_rejected() {
        let path = std::env::temp_dir().join(format!("artifact-test-{}-b.zip", std::process::id()));
        std::fs::write(&path, zip_with_entry("main")).unwrap();

        let error = Artifact::from_path(&path).unwrap_err();
        let _ = std::fs::remove_file(&path);

        assert!(
            format!("{error:#}").contains("no bootstrap entry"),
            "{error:#}"
        );
    }

    #[test]
    fn artifact_with_unexecutable_bootstrap_rejected() {
        let path = std::env::temp_dir().join(format!("artifact-test-{}-x.zip", std::process::id()));
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o600);
        writer.start_file(BOOTSTRAP, options).unwrap();
        std::io::Write::write_all(&mut writer, b"#!/bin/sh").unwrap();
        std::fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();

        let error = Artifact::from_path(&path).unwrap_err();
        let _ = std::fs::remove_file(&path);

        assert!(format!("{error:#}").contains("not executable"), "{error:#}");
    }

    fn zip_with_entry(name: &str) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        writer.start_file(name, options).unwrap();
        std::io::Write::write_all(&mut writer, b"binary").unwrap();
        writer.finish().unwrap().into_inner()
    }
}
