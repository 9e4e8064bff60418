//! Stripe-style webhook signatures: parsing the `Stripe-Signature` header,
//! signing and verifying a delivery against one or more secrets.
//!
//! The signed payload is `"<t>." + body`, where `t` is the header's Unix
//! timestamp in seconds and `body` is the raw request body exactly as
//! received. The MAC is HMAC-SHA256 keyed with the whole secret string,
//! `whsec_` prefix included, as Stripe's SDKs do.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

/// Name of the HTTP header that carries the signature (matched
/// case-insensitively, as every HTTP header name is).
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// Default maximum difference, in seconds, between the header's timestamp
/// and the receiver's clock, in either direction (Stripe's SDKs use 300).
pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;

/// Signature scheme that this receiver verifies. Other schemes, such as
/// Stripe's `v0` test signatures, are ignored.
pub const SCHEME_V1: &str = "v1";

const TIMESTAMP_KEY: &str = "t";

/// Length in bytes of an HMAC-SHA256 tag.
const TAG_LENGTH: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// A webhook signing secret (`whsec_...`). Its `Debug` output is redacted so
/// that it cannot reach a log through `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret string, `whsec_` prefix included.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// Returns the secret string, for signing and for writing it to storage.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns the secret string; the same as [`WebhookSecret::expose`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.as_bytes()).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("WebhookSecret(<redacted>)")
    }
}

/// Reason a delivery's signature was rejected. Each variant has a stable
/// snake_case code, returned to the sender by [`SignatureError::code`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("the {SIGNATURE_HEADER} header is missing")]
    MissingHeader,

    #[error("the {SIGNATURE_HEADER} header is malformed: {0}")]
    MalformedHeader(MalformedHeader),

    #[error("the {SIGNATURE_HEADER} header contains no v1 signature")]
    NoV1Signature,

    #[error("no v1 signature matches the payload for any active secret of this tenant")]
    SignatureMismatch,

    #[error(
        "the timestamp {timestamp} differs from the receiver's clock ({now}) by more than \
         {tolerance_seconds} seconds"
    )]
    TimestampOutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance_seconds: u32,
    },
}

impl SignatureError {
    /// Stable snake_case code for API responses and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_signature_header",
            Self::MalformedHeader(_) => "malformed_signature_header",
            Self::NoV1Signature => "no_v1_signature",
            Self::SignatureMismatch => "signature_mismatch",
            Self::TimestampOutsideTolerance { .. } => "timestamp_outside_tolerance",
        }
    }
}

/// The way in which a `Stripe-Signature` header value is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MalformedHeader {
    #[error("the value contains characters other than visible ASCII")]
    NotVisibleAscii,

    #[error("element {position} is not a key=value pair")]
    NotKeyValuePair { position: usize },

    #[error("the timestamp element t is missing")]
    MissingTimestamp,

    #[error("the timestamp element t appears more than once")]
    DuplicateTimestamp,

    #[error("the timestamp is not a non-negative integer number of Unix seconds")]
    InvalidTimestamp,
}

impl MalformedHeader {
    /// Stable snake_case reason code, returned beside the error code.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotVisibleAscii => "not_visible_ascii",
            Self::NotKeyValuePair { .. } => "not_key_value_pair",
            Self::MissingTimestamp => "missing_timestamp",
            Self::DuplicateTimestamp => "duplicate_timestamp",
            Self::InvalidTimestamp => "invalid_timestamp",
        }
    }
}

impl From<MalformedHeader> for SignatureError {
    fn from(malformed: MalformedHeader) -> Self {
        Self::MalformedHeader(malformed)
    }
}

/// A parsed `Stripe-Signature` header: its timestamp and every `v1`
/// signature in it, still as the hex strings the sender wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    timestamp: i64,
    v1_signatures: Vec<String>,
}

impl SignatureHeader {
    /// Parses a header value of comma-separated `key=value` elements.
    ///
    /// `t` must appear exactly once. Every `v1` value is kept as a candidate,
    /// and elements with other keys (`v0`, unknown keys) are ignored.
    /// Whitespace around an element is ignored.
    ///
    /// # Errors
    /// [`SignatureError::MalformedHeader`] when an element has no `=` or the
    /// timestamp is missing, repeated or not a number;
    /// [`SignatureError::NoV1Signature`] when no `v1` element is present.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut v1_signatures = Vec::new();

        for (position, element) in value.split(',').enumerate() {
            let Some((key, element_value)) = element.trim().split_once('=') else {
                return Err(MalformedHeader::NotKeyValuePair { position }.into());
            };
            match key {
                TIMESTAMP_KEY if timestamp.is_some() => {
                    return Err(MalformedHeader::DuplicateTimestamp.into());
                }
                TIMESTAMP_KEY => timestamp = Some(parse_timestamp(element_value)?),
                SCHEME_V1 => v1_signatures.push(element_value.to_owned()),
                _ => {}
            }
        }

        let timestamp = timestamp.ok_or(MalformedHeader::MissingTimestamp)?;
        if v1_signatures.is_empty() {
            return Err(SignatureError::NoV1Signature);
        }
        Ok(Self {
            timestamp,
            v1_signatures,
        })
    }

    /// Parses the raw bytes of a header value, which must be visible ASCII.
    ///
    /// # Errors
    /// As [`SignatureHeader::parse`], plus
    /// [`MalformedHeader::NotVisibleAscii`].
    pub fn parse_bytes(value: &[u8]) -> Result<Self, SignatureError> {
        let visible = value
            .iter()
            .all(|byte| matches!(byte, b' ' | b'\t' | 0x21..=0x7e));
        if !visible {
            return Err(MalformedHeader::NotVisibleAscii.into());
        }
        let text = std::str::from_utf8(value).map_err(|_| MalformedHeader::NotVisibleAscii)?;
        Self::parse(text)
    }

    /// Unix timestamp in seconds that the sender signed.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Number of `v1` signatures in the header.
    pub fn v1_count(&self) -> usize {
        self.v1_signatures.len()
    }

    /// Checks that some `v1` signature matches `body` under some secret, then
    /// that the timestamp is within `tolerance_seconds` of `now` (Unix
    /// seconds) in either direction.
    ///
    /// The signature is checked first, as Stripe's SDKs do, so that a
    /// timestamp error is only reported for a delivery that is otherwise
    /// authentic. Each secret hashes the body once, and each candidate is
    /// compared in constant time.
    ///
    /// # Errors
    /// [`SignatureError::SignatureMismatch`] or
    /// [`SignatureError::TimestampOutsideTolerance`].
    pub fn verify(
        &self,
        body: &[u8],
        secrets: &[WebhookSecret],
        now: i64,
        tolerance_seconds: u32,
    ) -> Result<(), SignatureError> {
        let candidates = self.decoded_candidates();
        let matched = secrets.iter().any(|secret| {
            let mac = signed_payload_mac(secret, self.timestamp, body);
            candidates
                .iter()
                .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
        });
        if !matched {
            return Err(SignatureError::SignatureMismatch);
        }

        check_timestamp(self.timestamp, now, tolerance_seconds)
    }

    /// Decodes the `v1` candidates. A value that is not 64 hex digits cannot
    /// match any secret, so it is dropped here, as a mismatch.
    fn decoded_candidates(&self) -> Vec<[u8; TAG_LENGTH]> {
        self.v1_signatures
            .iter()
            .filter_map(|signature| {
                let mut tag = [0u8; TAG_LENGTH];
                hex::decode_to_slice(signature, &mut tag).ok()?;
                Some(tag)
            })
            .collect()
    }
}

/// Computes the hex `v1` signature of `body` signed at `timestamp`.
pub fn sign(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    let tag = signed_payload_mac(secret, timestamp, body)
        .finalize()
        .into_bytes();
    hex::encode(tag)
}

/// Builds a complete `Stripe-Signature` header value, `t=<timestamp>,v1=<hex>`.
pub fn header_value(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    format!(
        "{TIMESTAMP_KEY}={timestamp},{SCHEME_V1}={}",
        sign(secret, timestamp, body)
    )
}

/// Feeds `"<timestamp>." + body` into a MAC keyed with `secret`, without
/// copying the body.
fn signed_payload_mac(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = secret.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn parse_timestamp(value: &str) -> Result<i64, MalformedHeader> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(MalformedHeader::InvalidTimestamp);
    }
    value.parse().map_err(|_| MalformedHeader::InvalidTimestamp)
}

fn check_timestamp(timestamp: i64, now: i64, tolerance_seconds: u32) -> Result<(), SignatureError> {
    let difference = now.saturating_sub(timestamp);
    if difference.unsigned_abs() > u64::from(tolerance_seconds) {
        return Err(SignatureError::TimestampOutsideTolerance {
            timestamp,
            now,
            tolerance_seconds,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_806_400;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    fn secret() -> WebhookSecret {
        WebhookSecret::new("whsec_0123456789abcdef0123456789abcdef".to_owned())
    }

    fn verify(header: &str, body: &[u8]) -> Result<(), SignatureError> {
        SignatureHeader::parse(header)?.verify(body, &[secret()], NOW, DEFAULT_TOLERANCE_SECONDS)
    }

    #[test]
    fn debug_redacts_secret() {
        let rendered = format!("{:?}", secret());

        assert_eq!(rendered, "WebhookSecret(<redacted>)");
    }

    #[test]
    fn header_value_has_t_and_v1() {
        let value = header_value(&secret(), NOW, BODY);

        assert!(value.starts_with(&format!("t={NOW},v1=")));
        assert_eq!(value.len(), format!("t={NOW},v1=").len() + 64);
    }

    #[test]
    fn signed_header_verifies() {
        let value = header_value(&secret(), NOW, BODY);

        assert_eq!(verify(&value, BODY), Ok(()));
    }

    #[test]
    fn v0_and_unknown_keys_are_ignored() {
        let v1 = sign(&secret(), NOW, BODY);
        let value = format!("t={NOW},v0=deadbeef,scheme=x, v1={v1} ,extra=1");

        assert_eq!(verify(&value, BODY), Ok(()));
    }

    #[test]
    fn any_v1_candidate_may_match() {
        let v1 = sign(&secret(), NOW, BODY);
        let value = format!("t={NOW},v1={},v1=not-hex,v1={v1}", "00".repeat(32));

        assert_eq!(verify(&value, BODY), Ok(()));
    }

    #[test]
    fn uppercase_hex_signature_verifies() {
        let v1 = sign(&secret(), NOW, BODY).to_uppercase();

        assert_eq!(verify(&format!("t={NOW},v1={v1}"), BODY), Ok(()));
    }

    #[test]
    fn any_secret_may_match() {
        let other = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());
        let header = SignatureHeader::parse(&header_value(&secret(), NOW, BODY)).unwrap();

        let result = header.verify(BODY, &[other, secret()], NOW, DEFAULT_TOLERANCE_SECONDS);

        assert_eq!(result, Ok(()));
    }

    #[test]
    fn no_secrets_is_mismatch() {
        let header = SignatureHeader::parse(&header_value(&secret(), NOW, BODY)).unwrap();

        let result = header.verify(BODY, &[], NOW, DEFAULT_TOLERANCE_SECONDS);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn wrong_secret_is_mismatch() {
        let other = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());

        let result = verify(&header_value(&other, NOW, BODY), BODY);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn changed_body_is_mismatch() {
        let value = header_value(&secret(), NOW, BODY);

        let result = verify(&value, br#"{"id":"evt_2","type":"invoice.paid"}"#);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn changed_timestamp_is_mismatch() {
        let v1 = sign(&secret(), NOW, BODY);

        let result = verify(&format!("t={},v1={v1}", NOW - 1), BODY);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn secret_without_prefix_is_mismatch() {
        let bare = WebhookSecret::new("0123456789abcdef0123456789abcdef".to_owned());

        let result = verify(&header_value(&bare, NOW, BODY), BODY);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn truncated_signature_is_mismatch() {
        let v1 = sign(&secret(), NOW, BODY);

        let result = verify(&format!("t={NOW},v1={}", &v1[..62]), BODY);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn missing_v1_is_reported() {
        let result = verify(&format!("t={NOW},v0=abcdef"), BODY);

        assert_eq!(result, Err(SignatureError::NoV1Signature));
    }

    #[test]
    fn missing_timestamp_is_malformed() {
        let v1 = sign(&secret(), NOW, BODY);

        let result = verify(&format!("v1={v1}"), BODY);

        assert_eq!(result, Err(MalformedHeader::MissingTimestamp.into()));
    }

    #[test]
    fn duplicate_timestamp_is_malformed() {
        let v1 = sign(&secret(), NOW, BODY);

        let result = verify(&format!("t={NOW},t={NOW},v1={v1}"), BODY);

        assert_eq!(result, Err(MalformedHeader::DuplicateTimestamp.into()));
    }

    #[test]
    fn invalid_timestamps_are_malformed() {
        for timestamp in ["", "abc", "-5", "+5", "1.5", " 1", "99999999999999999999"] {
            let result = verify(&format!("t={timestamp},v1=00"), BODY);

            assert_eq!(
                result,
                Err(MalformedHeader::InvalidTimestamp.into()),
                "t={timestamp:?}"
            );
        }
    }

    #[test]
    fn element_without_equals_is_malformed() {
        for value in ["", "garbage", "t=1,v1=00,", "t=1,,v1=00"] {
            let result = SignatureHeader::parse(value);

            assert!(
                matches!(
                    result,
                    Err(SignatureError::MalformedHeader(
                        MalformedHeader::NotKeyValuePair { .. }
                    ))
                ),
                "{value:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn non_ascii_bytes_are_malformed() {
        let result = SignatureHeader::parse_bytes("t=1,v1=\u{e9}".as_bytes());

        assert_eq!(result, Err(MalformedHeader::NotVisibleAscii.into()));
    }

    #[test]
    fn control_bytes_are_malformed() {
        let result = SignatureHeader::parse_bytes(b"t=1,\x01v1=00");

        assert_eq!(result, Err(MalformedHeader::NotVisibleAscii.into()));
    }

    #[test]
    fn tolerance_is_inclusive_both_ways() {
        for offset in [-300, 0, 300] {
            let timestamp = NOW + offset;
            let value = header_value(&secret(), timestamp, BODY);

            assert_eq!(verify(&value, BODY), Ok(()), "offset {offset}");
        }
    }

    #[test]
    fn old_timestamp_is_rejected() {
        let value = header_value(&secret(), NOW - 301, BODY);

        let result = verify(&value, BODY);

        assert_eq!(
            result,
            Err(SignatureError::TimestampOutsideTolerance {
                timestamp: NOW - 301,
                now: NOW,
                tolerance_seconds: 300,
            })
        );
    }

    #[test]
    fn future_timestamp_is_rejected() {
        let value = header_value(&secret(), NOW + 301, BODY);

        let result = verify(&value, BODY);

        assert_eq!(result.unwrap_err().code(), "timestamp_outside_tolerance");
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        assert!(check_timestamp(i64::MAX, i64::MIN, 300).is_err());
        assert!(check_timestamp(i64::MIN, i64::MAX, u32::MAX).is_err());
        assert!(check_timestamp(0, i64::MAX, 300).is_err());
    }

    #[test]
    fn mismatch_is_reported_before_tolerance() {
        let other = WebhookSecret::new("whsec_ffffffffffffffffffffffffffffffff".to_owned());

        let result = verify(&header_value(&other, NOW - 10_000, BODY), BODY);

        assert_eq!(result, Err(SignatureError::SignatureMismatch));
    }

    #[test]
    fn non_utf8_body_verifies() {
        let body = [0xff, 0xfe, 0x00, 0x80, b'{'];
        let value = header_value(&secret(), NOW, &body);

        assert_eq!(verify(&value, &body), Ok(()));
    }
}
