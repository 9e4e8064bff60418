//! The function's `bootstrap` binary taken out of the deployed zip, so that
//! `serve` runs exactly what the stack deployed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Name of the executable a `provided.al2023` function runs.
const BOOTSTRAP: &str = "bootstrap";

/// Largest binary accepted from a zip: Lambda's limit for unzipped code, 250 MB.
const MAX_BOOTSTRAP_BYTES: usize = 250 * 1024 * 1024;

const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const CENTRAL_DIRECTORY_HEADER: u32 = 0x0201_4b50;
const LOCAL_FILE_HEADER: u32 = 0x0403_4b50;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;

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

/// Returns the contents of the entry `name` of a zip archive. Supports the
/// stored and deflate methods and checks the CRC-32.
pub fn extract(zip: &[u8], name: &str) -> Result<Vec<u8>> {
    let end = find_end_of_central_directory(zip)?;
    let entries = read_u16(zip, end + 10)? as usize;
    let mut offset = read_u32(zip, end + 16)? as usize;

    for _ in 0..entries {
        if read_u32(zip, offset)? != CENTRAL_DIRECTORY_HEADER {
            bail!("invalid zip: bad central directory header at byte {offset}");
        }
        let method = read_u16(zip, offset + 10)?;
        let crc = read_u32(zip, offset + 16)?;
        let compressed_size = read_u32(zip, offset + 20)? as usize;
        let size = read_u32(zip, offset + 24)? as usize;
        let name_length = read_u16(zip, offset + 28)? as usize;
        let extra_length = read_u16(zip, offset + 30)? as usize;
        let comment_length = read_u16(zip, offset + 32)? as usize;
        let local_offset = read_u32(zip, offset + 42)? as usize;
        let entry_name = slice(zip, offset + 46, name_length)?;

        if entry_name == name.as_bytes() {
            let data = local_data(zip, local_offset, compressed_size)?;
            let contents = decompress(data, method, size)?;
            if crc32fast::hash(&contents) != crc {
                bail!("invalid zip: the CRC-32 of {name} does not match");
            }
            return Ok(contents);
        }
        offset += 46 + name_length + extra_length + comment_length;
    }
    bail!(
        "the artifact zip has no {name} entry; build it with `cargo lambda build --release --output-format zip`"
    )
}

fn find_end_of_central_directory(zip: &[u8]) -> Result<usize> {
    // The record is 22 bytes plus a comment of at most 65535 bytes.
    let earliest = zip.len().saturating_sub(22 + usize::from(u16::MAX));
    (earliest..=zip.len().saturating_sub(22))
        .rev()
        .find(|&offset| read_u32(zip, offset).ok() == Some(END_OF_CENTRAL_DIRECTORY))
        .context("invalid zip: no end of central directory record")
}

fn local_data(zip: &[u8], offset: usize, compressed_size: usize) -> Result<&[u8]> {
    if read_u32(zip, offset)? != LOCAL_FILE_HEADER {
        bail!("invalid zip: bad local file header at byte {offset}");
    }
    let name_length = read_u16(zip, offset + 26)? as usize;
    let extra_length = read_u16(zip, offset + 28)? as usize;
    slice(
        zip,
        offset + 30 + name_length + extra_length,
        compressed_size,
    )
}

fn decompress(data: &[u8], method: u16, size: usize) -> Result<Vec<u8>> {
    if size > MAX_BOOTSTRAP_BYTES {
        bail!("zip entry of {size} bytes is over the {MAX_BOOTSTRAP_BYTES}-byte limit");
    }
    match method {
        METHOD_STORED => Ok(data.to_vec()),
        METHOD_DEFLATE => miniz_oxide::inflate::decompress_to_vec_with_limit(data, size)
            .map_err(|error| anyhow::anyhow!("invalid zip: failed to inflate: {error:?}")),
        other => bail!("zip compression method {other} is not supported (only stored and deflate)"),
    }
}

fn slice(zip: &[u8], offset: usize, length: usize) -> Result<&[u8]> {
    offset
        .checked_add(length)
        .and_then(|end| zip.get(offset..end))
        .with_context(|| format!("invalid zip: truncated at byte {offset}"))
}

fn read_u16(zip: &[u8], offset: usize) -> Result<u16> {
    let bytes = slice(zip, offset, 2)?;
    Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
}

fn read_u32(zip: &[u8], offset: usize) -> Result<u32> {
    let bytes = slice(zip, offset, 4)?;
    Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a one-entry zip archive.
    fn zip_with(name: &str, contents: &[u8], method: u16) -> Vec<u8> {
        let data = match method {
            METHOD_DEFLATE => miniz_oxide::deflate::compress_to_vec(contents, 6),
            _ => contents.to_vec(),
        };
        let crc = crc32fast::hash(contents);
        let mut zip = Vec::new();

        zip.extend_from_slice(&LOCAL_FILE_HEADER.to_le_bytes());
        zip.extend_from_slice(&[20, 0, 0, 0]);
        zip.extend_from_slice(&method.to_le_bytes());
        zip.extend_from_slice(&[0; 4]);
        zip.extend_from_slice(&crc.to_le_bytes());
        zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(contents.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(&data);

        let central = zip.len();
        zip.extend_from_slice(&CENTRAL_DIRECTORY_HEADER.to_le_bytes());
        zip.extend_from_slice(&[20, 3, 20, 0, 0, 0]);
        zip.extend_from_slice(&method.to_le_bytes());
        zip.extend_from_slice(&[0; 4]);
        zip.extend_from_slice(&crc.to_le_bytes());
        zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(contents.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&[0; 12]);
        zip.extend_from_slice(&0u32.to_le_bytes());
        zip.extend_from_slice(name.as_bytes());
        let central_size = zip.len() - central;

        zip.extend_from_slice(&END_OF_CENTRAL_DIRECTORY.to_le_bytes());
        zip.extend_from_slice(&[0; 4]);
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&1u16.to_le_bytes());
        zip.extend_from_slice(&(central_size as u32).to_le_bytes());
        zip.extend_from_slice(&(central as u32).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip
    }

    #[test]
    fn extract_deflated_entry() {
        let contents = b"#!/bin/sh\necho bootstrap\n".repeat(40);
        let zip = zip_with("bootstrap", &contents, METHOD_DEFLATE);
        assert_eq!(extract(&zip, "bootstrap").unwrap(), contents);
    }

    #[test]
    fn extract_stored_entry() {
        let zip = zip_with("bootstrap", b"binary", METHOD_STORED);
        assert_eq!(extract(&zip, "bootstrap").unwrap(), b"binary");
    }

    #[test]
    fn extract_missing_entry_fails() {
        let zip = zip_with("other", b"binary", METHOD_STORED);
        let error = extract(&zip, "bootstrap").unwrap_err();
        assert!(error.to_string().contains("no bootstrap entry"), "{error}");
    }

    #[test]
    fn extract_rejects_bad_crc() {
        let mut zip = zip_with("bootstrap", b"binary", METHOD_STORED);
        let data_offset = 30 + "bootstrap".len();
        zip[data_offset] ^= 0xff;
        let error = extract(&zip, "bootstrap").unwrap_err();
        assert!(error.to_string().contains("CRC-32"), "{error}");
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
        let zip = zip_with("bootstrap", b"binary", METHOD_DEFLATE);

        let path = unpack_bootstrap(&zip, &directory).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"binary");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(unpack_bootstrap(&zip, &directory).unwrap(), path);

        std::fs::remove_dir_all(&directory).unwrap();
    }
}
