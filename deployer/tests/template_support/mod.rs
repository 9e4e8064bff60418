//! Shared helpers of the template tests: render a variant with the built
//! `deployer` binary and read the result as data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_yaml::Value;

/// A template rendering and the `synth` options that produced it.
pub struct Variant {
    pub name: &'static str,
    pub args: &'static [&'static str],
}

/// Every variant the tests render: defaults, and one per optional feature.
pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "defaults",
        args: &[],
    },
    Variant {
        name: "existing-table",
        args: &["--table-name", "SharedTenantApiKeys"],
    },
    Variant {
        name: "no-index",
        args: &["--index-name", ""],
    },
    Variant {
        name: "existing-table-no-index",
        args: &["--table-name", "SharedTenantApiKeys", "--index-name", ""],
    },
    Variant {
        name: "custom-domain",
        args: &[
            "--domain-name",
            "hooks.example.com",
            "--certificate-arn",
            "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "--hosted-zone-id",
            "Z0123456789ABCDEFGHIJ",
        ],
    },
    Variant {
        name: "arm64",
        args: &["--architecture", "arm64", "--memory", "512"],
    },
];

/// Returns the workspace root, the parent of this package's directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("package directory has a parent")
        .to_path_buf()
}

/// Creates an empty directory under the system's temporary directory, unique
/// to this process and call.
pub fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("deployer-{label}-{}-{count}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("failed to create a temporary directory");
    dir
}

/// Runs `deployer --prefix dev synth ARGS`, isolated from any `deployer.toml`
/// and `DEPLOYER_*` variables of the environment the tests run in.
pub fn run_synth(args: &[&str]) -> Output {
    run_synth_with_prefix("dev", args)
}

/// Runs `deployer --prefix PREFIX synth ARGS`, isolated like `run_synth`:
/// `--config` names an empty settings file, because an explicit settings
/// file must exist.
pub fn run_synth_with_prefix(prefix: &str, args: &[&str]) -> Output {
    let empty_config = std::env::temp_dir().join("deployer-tests-empty-config.toml");
    std::fs::write(&empty_config, "").expect("failed to write an empty settings file");
    Command::new(env!("CARGO_BIN_EXE_deployer"))
        .arg("--config")
        .arg(&empty_config)
        .args(["--prefix", prefix, "synth"])
        .args(args)
        .env_remove("DEPLOYER_PREFIX")
        .env_remove("DEPLOYER_STACK_NAME")
        .env_remove("DEPLOYER_OUTPUT")
        .output()
        .expect("failed to run the deployer binary")
}

/// Renders the template with `args` and returns its text.
pub fn synth_text(args: &[&str]) -> String {
    synth_text_with_prefix("dev", args)
}

/// Renders the template for `prefix` with `args` and returns its text.
pub fn synth_text_with_prefix(prefix: &str, args: &[&str]) -> String {
    let output = run_synth_with_prefix(prefix, args);
    assert!(
        output.status.success(),
        "deployer synth {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("template is UTF-8")
}

/// Renders the template with `args` and parses it.
pub fn synth(args: &[&str]) -> Value {
    serde_yaml::from_str(&synth_text(args)).expect("template is valid YAML")
}

/// Returns the logical ids of a template section, for example `Resources`.
pub fn section_keys(template: &Value, section: &str) -> Vec<String> {
    let Some(mapping) = template[section].as_mapping() else {
        return Vec::new();
    };
    mapping
        .keys()
        .map(|key| key.as_str().expect("logical ids are strings").to_owned())
        .collect()
}

/// Returns the logical ids of the resources of `resource_type`.
pub fn resources_of_type(template: &Value, resource_type: &str) -> Vec<String> {
    section_keys(template, "Resources")
        .into_iter()
        .filter(|id| template["Resources"][id.as_str()]["Type"].as_str() == Some(resource_type))
        .collect()
}
