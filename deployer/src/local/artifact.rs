//! The function's `bootstrap` binary taken out of the deployed zip, so that
//! `serve` runs exactly what the stack deployed.

use std::io::{Cursor, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::artifact::BOOTSTRAP;

/// Largest binary accepted from a zip: Lambda's limit for unzipped code, 250 MB.
const MAX_BOOTSTRAP_BYTES: u64 = 250 * 1024 * 1024;

/// Writes the `bootstrap` of `zip` to `cache_dir/<sha256 of zip>/bootstrap`,
/// unless it is there already, and returns its path.
pub fn unpack_bootstrap(zip: &[u8], cache_dir: &Path) -> Result<PathBuf> {
    let digest = hex::encode(Sha256::digest(zip));
    let directory = cache_dir.join(&digest[..16]);
    let path = directory.join(BOOTSTRAP);
    if path.is_file() {
        return Ok(path);
    }

    let binary = extract(zip, BOOTSTRAP)?;
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("failed to create {}", directory.display()))?;

    // Write under another name and rename, so that a half-written file is
    // never run and no write handle is open when the binary starts.
    let partial = directory.join(format!("{BOOTSTRAP}.partial"));
    std::fs::write(&partial, &binary)
        .with_context(|| format!("failed to write {}", partial.display()))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("failed to make {} executable", partial.display()))?;
    std::fs::rename(&partial, &path)
        .with_context(|| format!("failed to move the binary to {}", path.display()))?;
    Ok(path)
}

/// Returns the contents of the entry `name` of a zip archive, checking its
/// CRC-32 as it is read.
pub fn extract(zip: &[u8], name: &str) -> Result<Vec<u8>> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).context("invalid zip archive")?;
    let entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(ZipError::FileNotFound) => bail!(
            "the artifact zip has no {name} entry; build it with \
             `cargo lambda build --release --output-format zip`"
        ),
        Err(error) => return Err(error).context("invalid zip archive"),
    };
    if entry.size() > MAX_BOOTSTRAP_BYTES {
        bail!(
            "zip entry {name} of {} bytes is over the {MAX_BOOTSTRAP_BYTES}-byte limit",
            entry.size()
        );
    }

    let mut contents = Vec::new();
    entry
        .take(MAX_BOOTSTRAP_BYTES)
        .read_to_end(&mut contents)
        .with_context(|| format!("failed to read {name} from the zip archive"))?;
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::CompressionMethod;
    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;

    /// Builds a one-entry zip archive with the given compression method.
    fn zip_with(name: &str, contents: &[u8], method: CompressionMethod) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(method);
        writer.start_file(name, options).unwrap();
        writer.write_all(contents).unwrap();
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn extract_deflated_entry() {
        let contents = b"#!/bin/sh\necho bootstrap\n".repeat(40);
        let zip = zip_with("bootstrap", &contents, CompressionMethod::Deflated);
        assert_eq!(extract(&zip, "bootstrap").unwrap(), contents);
    }

    #[test]
    fn extract_stored_entry() {
        let zip = zip_with("bootstrap", b"binary", CompressionMethod::Stored);
        assert_eq!(extract(&zip, "bootstrap").unwrap(), b"binary");
    }

    #[test]
    fn extract_missing_entry_fails() {
        let zip = zip_with("other", b"binary", CompressionMethod::Stored);
        let error = extract(&zip, "bootstrap").unwrap_err();
        assert!(error.to_string().contains("no bootstrap entry"), "{error}");
    }

    #[test]
    fn extract_rejects_bad_crc() {
        let mut zip = zip_with("bootstrap", b"binary", CompressionMethod::Stored);
        let data_offset = zip
            .windows(b"binary".len())
            .position(|window| window == b"binary")
            .unwrap();
        zip[data_offset] ^= 0xff;
        let error = extract(&zip, "bootstrap").unwrap_err();
        assert!(
            error.to_string().contains("failed to read bootstrap"),
            "{error:#}"
        );
    }

    #[test]
    fn extract_rejects_non_zip() {
        assert!(extract(b"not a zip at all, just some bytes", "bootstrap").is_err());
        assert!(extract(b"", "bootstrap").is_err());
    }

    #[test]
    fn unpack_writes_executable_once() {
        let directory =
            std::env::temp_dir().join(format!("deployer-unpack-{}", std::process::id()));
        let zip = zip_with("bootstrap", b"binary", CompressionMethod::Deflated);

        let path = unpack_bootstrap(&zip, &directory).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"binary");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(unpack_bootstrap(&zip, &directory).unwrap(), path);

        std::fs::remove_dir_all(&directory).unwrap();
    }
}
