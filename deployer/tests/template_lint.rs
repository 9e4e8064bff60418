//! Lints every template rendering with cfn-lint, the CloudFormation linter.
//! It finds cfn-lint at `$CFN_LINT`, in the workspace's `.venv` (installed
//! by scripts/setup.sh) or on `PATH`, in that order.

mod template_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use template_support::{VARIANTS, run_synth, temp_dir, workspace_root};

fn cfn_lint_program() -> PathBuf {
    if let Some(path) = std::env::var_os("CFN_LINT") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join(".venv/bin/cfn-lint");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("cfn-lint")
}

/// Renders every variant in YAML and JSON into the fresh directory `dir`
/// and returns the file paths.
fn render_variants(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for variant in VARIANTS {
        for format in ["yaml", "json"] {
            let path = dir.join(format!("{}.{format}", variant.name));
            let path_text = path.to_str().expect("temporary path is UTF-8");
            let mut args = vec!["--format", format, "--out", path_text];
            args.extend_from_slice(variant.args);

            let output = run_synth(&args);

            assert!(
                output.status.success(),
                "deployer synth {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            paths.push(path);
        }
    }
    paths
}

#[test]
fn cfn_lint_accepts_every_variant() {
    let dir = temp_dir("lint");
    let paths = render_variants(&dir);
    let program = cfn_lint_program();

    // `--include-checks I` adds informational findings, so that a clean run
    // means no errors, no warnings and no informational findings.
    let output = Command::new(&program)
        .args(["--include-checks", "I", "--"])
        .args(&paths)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "failed to run {}: {error}; run scripts/setup.sh to install cfn-lint",
                program.display()
            )
        });

    let findings = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cfn-lint exited with {} on {} templates:\n{findings}{stderr}",
        output.status,
        paths.len()
    );
    assert!(findings.trim().is_empty(), "cfn-lint reported:\n{findings}");

    // A failed run keeps the renderings for inspection.
    let _ = std::fs::remove_dir_all(&dir);
}
