//! End-to-end runs of the `deployer` binary against a moto server started
//! for each test: `up`, `diff`, `seed`, `status` and `down`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_s3::config::{Credentials, Region};
use serde_json::Value;
use webhook_receiver::testing::MotoServer;

/// A scratch directory and a moto server for one test.
struct Fixture {
    server: MotoServer,
    dir: PathBuf,
    prefix: String,
}

impl Fixture {
    fn start(prefix: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("deployer-test-{prefix}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        Self {
            server: MotoServer::start(),
            dir,
            prefix: prefix.to_owned(),
        }
    }

    /// Writes a small zip whose content differs per `label`, so each label
    /// gets its own hash.
    fn artifact(&self, label: &str) -> PathBuf {
        let path = self.dir.join(format!("{label}.zip"));
        std::fs::write(&path, stored_zip("bootstrap", label.as_bytes())).expect("write zip");
        path
    }

    /// Runs the deployer with `--output json` in the scratch directory, so
    /// no deployer.toml from elsewhere is read.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_deployer"))
            .args(["--prefix", &self.prefix, "--output", "json"])
            .args(args)
            .envs(self.server.env())
            .env_remove("AWS_PROFILE")
            .env_remove("DEPLOYER_STACK_NAME")
            .env_remove("DEPLOYER_PREFIX")
            .env_remove("DEPLOYER_OUTPUT")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run deployer")
    }

    /// Runs the deployer, expects exit code 0 and returns stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "deployer {args:?} failed with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "deployer {args:?} printed invalid JSON ({error}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.server.endpoint_url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .load()
            .await
    }

    async fn bucket_exists(&self, bucket: &str) -> bool {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        s3.head_bucket().bucket(bucket).send().await.is_ok()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Returns a zip archive with one uncompressed, executable file.
fn stored_zip(name: &str, content: &[u8]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    writer.start_file(name, options).expect("start zip entry");
    std::io::Write::write_all(&mut writer, content).expect("write zip entry");
    writer.finish().expect("finish zip").into_inner()
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {value}"))
}

fn rows_of<'a>(rows: &'a Value, tenant_id: &str) -> Vec<&'a Value> {
    rows.as_array()
        .expect("seed prints an array")
        .iter()
        .filter(|row| row["tenantId"] == tenant_id)
        .collect()
}

fn is_lower_hex(text: &str, length: usize) -> bool {
    text.len() == length
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

const TARGET_BASE: &str = "http://127.0.0.1:3000/prod";

#[tokio::test]
async fn stack_lifecycle() {
    let fixture = Fixture::start("life");
    let artifact = fixture.artifact("one");
    let artifact = artifact.to_str().unwrap();
    let bucket = "life-webhook-artifacts-123456789012-us-east-1";

    // A diff of a stack that does not exist yet leaves nothing behind.
    let diff = fixture.json(&["diff", "--artifact", artifact]);
    assert_eq!(diff["dryRun"], true);
    assert!(!diff["changes"].as_array().unwrap().is_empty(), "{diff}");
    let status = fixture.json(&["status"]);
    assert_eq!(status["exists"], false, "diff left a stack: {status}");

    let first = fixture.json(&["up", "--artifact", artifact]);
    assert_eq!(text(&first, "stackName"), "life-webhook-receiver");
    assert_eq!(text(&first, "status"), "CREATE_COMPLETE");
    assert_eq!(first["changed"], true);
    assert_eq!(first["artifact"]["uploaded"], true);
    assert_eq!(text(&first["artifact"], "bucket"), bucket);
    assert!(first["outputs"].is_object(), "{first}");
    assert!(fixture.bucket_exists(bucket).await);

    let second = fixture.json(&["up", "--artifact", artifact]);
    assert_eq!(second["changed"], false, "{second}");
    assert_eq!(second["artifact"]["uploaded"], false, "{second}");
    assert_eq!(text(&second, "status"), "CREATE_COMPLETE");

    let diff = fixture.json(&["diff", "--artifact", artifact]);
    assert_eq!(diff["changes"].as_array().map(Vec::len), Some(0), "{diff}");

    // NOTE: moto 5.2 builds a change set from the template's resources alone
    // and ignores parameter values, so the new ArtifactKey shows no changes
    // there. On AWS it updates the function. Only the upload is asserted.
    let two = fixture.artifact("two");
    let newer = fixture.json(&["up", "--artifact", two.to_str().unwrap()]);
    assert_eq!(newer["artifact"]["uploaded"], true, "{newer}");

    let seeded = fixture.json(&["seed", "--target-base", TARGET_BASE]);
    assert_eq!(seeded.as_array().map(Vec::len), Some(3), "{seeded}");
    for tenant_id in ["test-tenant", "acme", "globex"] {
        let rows = rows_of(&seeded, tenant_id);
        assert_eq!(rows.len(), 1, "{tenant_id}: {seeded}");
        let row = rows[0];
        assert_eq!(text(row, "action"), "created");
        assert_eq!(row["isActive"], true);
        let secret = text(row, "webhookSecret");
        assert!(
            is_lower_hex(secret.trim_start_matches("whsec_"), 32),
            "{secret}"
        );
        let key = text(row, "apiKey");
        let suffix = key
            .strip_prefix(&format!("tenant_{tenant_id}_live_"))
            .unwrap_or_else(|| panic!("unexpected API key {key}"));
        assert!(is_lower_hex(suffix, 12), "{key}");
        assert_eq!(
            text(row, "targetUrl"),
            format!("{TARGET_BASE}/v1/receiver/{tenant_id}/webhook")
        );
    }

    let again = fixture.json(&["seed", "--target-base", TARGET_BASE]);
    assert_eq!(again.as_array().map(Vec::len), Some(3), "{again}");
    for tenant_id in ["test-tenant", "acme", "globex"] {
        let before = rows_of(&seeded, tenant_id)[0];
        let after = rows_of(&again, tenant_id);
        assert_eq!(after.len(), 1, "{again}");
        assert_eq!(text(after[0], "action"), "existing");
        assert_eq!(after[0]["apiKey"], before["apiKey"]);
        assert_eq!(after[0]["webhookSecret"], before["webhookSecret"]);
    }

    let rotated = fixture.json(&[
        "seed",
        "--target-base",
        TARGET_BASE,
        "--rotate",
        "--tenant",
        "acme",
    ]);
    let acme = rows_of(&rotated, "acme");
    assert_eq!(acme.len(), 2, "{rotated}");
    assert!(acme.iter().all(|row| row["isActive"] == true), "{rotated}");
    assert_ne!(acme[0]["webhookSecret"], acme[1]["webhookSecret"]);
    assert!(
        acme.iter().any(|row| row["action"] == "rotated"),
        "{rotated}"
    );

    let refused = fixture.run(&["down"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(fixture.json(&["status"])["exists"], true);

    let down = fixture.json(&["down", "--yes"]);
    assert_eq!(down["stackDeleted"], true, "{down}");
    assert_eq!(down["bucketDeleted"], bucket, "{down}");
    assert_eq!(down["tableDeleted"], "life-TenantApiKeys", "{down}");
    assert_eq!(down["tableRows"], 4, "{down}");
    assert!(!fixture.bucket_exists(bucket).await);
    assert_eq!(fixture.json(&["status"])["exists"], false);

    let nothing = fixture.json(&["down", "--yes"]);
    assert_eq!(nothing["stackDeleted"], false, "{nothing}");
    assert_eq!(nothing["bucketDeleted"], Value::Null, "{nothing}");
}

#[tokio::test]
async fn existing_table_is_kept() {
    let fixture = Fixture::start("keep");
    let table = "keep-existing-tenants";
    let dynamodb = aws_sdk_dynamodb::Client::new(&fixture.sdk_config().await);
    create_table(&dynamodb, table).await;
    dynamodb
        .put_item()
        .table_name(table)
        .item(
            "apiKey",
            AttributeValue::S("tenant_real_live_000000000000".into()),
        )
        .item("tenantId", AttributeValue::S("real".into()))
        .item("isActive", AttributeValue::Bool(true))
        .send()
        .await
        .expect("write a tenant row that seed did not write");
    let artifact = fixture.artifact("one");
    let artifact = artifact.to_str().unwrap();

    let missing = fixture.run(&["up", "--artifact", artifact, "--table-name", "keep-missing"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("keep-missing does not exist"), "{stderr}");

    let no_index = fixture.run(&["up", "--artifact", artifact, "--table-name", table]);
    assert_eq!(no_index.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&no_index.stderr);
    assert!(stderr.contains("no global secondary index"), "{stderr}");

    let up = fixture.json(&[
        "up",
        "--artifact",
        artifact,
        "--table-name",
        table,
        "--index-name",
        "",
    ]);
    assert_eq!(text(&up, "status"), "CREATE_COMPLETE");
    let seeded = fixture.json(&[
        "seed",
        "--table-name",
        table,
        "--target-base",
        TARGET_BASE,
        "--tenant",
        "acme",
    ]);
    assert_eq!(rows_of(&seeded, "acme").len(), 1, "{seeded}");

    let down = fixture.json(&["down", "--yes", "--purge-seeded", "--table-name", table]);
    assert_eq!(down["stackDeleted"], true, "{down}");
    assert_eq!(down["tableDeleted"], Value::Null, "{down}");
    assert_eq!(down["purgedRows"], 1, "{down}");

    let left = dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("the existing table still exists");
    let keys: Vec<_> = left
        .items()
        .iter()
        .filter_map(|item| item.get("apiKey")?.as_s().ok())
        .collect();
    assert_eq!(keys, ["tenant_real_live_000000000000"]);
}

async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, name: &str) {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let key = KeySchemaElement::builder()
        .attribute_name("apiKey")
        .key_type(KeyType::Hash)
        .build()
        .expect("key schema");
    dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute("apiKey"))
        .key_schema(key)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the existing table");
}

#[test]
fn unreachable_endpoint_named() {
    let dir = std::env::temp_dir();
    // Nothing listens on port 1 of the loopback address.
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(["status", "--endpoint-url", "http://127.0.0.1:1"])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .current_dir(&dir)
        .output()
        .expect("run deployer");

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not connect to http://127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn json_error_printed_on_stdout() {
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args([
            "status",
            "--output",
            "json",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run deployer");

    assert_eq!(output.status.code(), Some(1));
    let stdout: Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
    let error = stdout["error"].as_str().expect("error is a string");
    assert!(error.contains("could not connect"), "{error}");
}

#[test]
fn missing_credentials_named() {
    let home = std::env::temp_dir().join(format!("deployer-test-nocreds-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(["status", "--endpoint-url", "http://127.0.0.1:1"])
        .env("HOME", &home)
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .current_dir(&home)
        .output()
        .expect("run deployer");
    let _ = std::fs::remove_dir_all(&home);

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    assert!(stderr.contains("AWS_ACCESS_KEY_ID=testing"), "{stderr}");
    let errors: Vec<_> = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        stderr.trim_end().ends_with("AWS_SECRET_ACCESS_KEY=testing"),
        "{stderr}"
    );
}

#[test]
fn missing_region_named() {
    let home = std::env::temp_dir().join(format!("deployer-test-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(["status", "--endpoint-url", "http://127.0.0.1:1"])
        .env("HOME", &home)
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .current_dir(&home)
        .output()
        .expect("run deployer");
    let _ = std::fs::remove_dir_all(&home);

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no AWS region is set; pass --region"),
        "{stderr}"
    );
}

#[test]
fn unknown_profile_named() {
    let home = std::env::temp_dir().join(format!("deployer-test-profile-{}", std::process::id()));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/config"),
        "[profile dev]\nregion = us-east-1\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args([
            "status",
            "--profile",
            "nosuch",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ])
        .env("HOME", &home)
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(&home)
        .output()
        .expect("run deployer");
    let _ = std::fs::remove_dir_all(&home);

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AWS profile \"nosuch\" not found"),
        "{stderr}"
    );
}
