//! Known-answer vector for the signature, computed outside this crate.

use webhook_receiver::signature::{self, SignatureHeader, WebhookSecret};

const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";
const TIMESTAMP: i64 = 1_764_806_400;
const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

/// Computed with OpenSSL 3, keyed with the whole secret string:
///
/// ```sh
/// printf '%s' '1764806400.{"id":"evt_1","type":"invoice.paid"}' \
///   | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef0123456789abcdef'
/// ```
///
/// and checked with Python's `hmac.new(key, msg, hashlib.sha256).hexdigest()`.
const EXPECTED_V1: &str = "112d2291a367ee0f774835660721686b080e4ea8f3e0a5fc652881dc27c071cf";

#[test]
fn sign_matches_openssl() {
    let secret = WebhookSecret::new(SECRET.to_owned());

    assert_eq!(signature::sign(&secret, TIMESTAMP, BODY), EXPECTED_V1);
}

#[test]
fn header_value_matches_openssl() {
    let secret = WebhookSecret::new(SECRET.to_owned());

    let value = signature::header_value(&secret, TIMESTAMP, BODY);

    assert_eq!(value, format!("t={TIMESTAMP},v1={EXPECTED_V1}"));
}

#[test]
fn openssl_signature_verifies() {
    let secret = WebhookSecret::new(SECRET.to_owned());
    let header = SignatureHeader::parse(&format!("t={TIMESTAMP},v1={EXPECTED_V1}")).unwrap();

    let result = header.verify(BODY, &[secret], TIMESTAMP, 300);

    assert_eq!(result, Ok(()));
}
