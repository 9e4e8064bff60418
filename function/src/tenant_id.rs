//! Tenant id validation, applied before any lookup.

use thiserror::Error;

/// Maximum length of a tenant id, in bytes (equal to characters, since only
/// ASCII is allowed).
pub const MAX_LENGTH: usize = 64;

/// Reason a string is not a valid tenant id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidTenantId {
    #[error("the tenant id is empty")]
    Empty,

    #[error("the tenant id is {length} bytes long; the maximum is {MAX_LENGTH}")]
    TooLong { length: usize },

    #[error(
        "the tenant id contains a character other than A-Z, a-z, 0-9, '_' or '-' at byte {position}"
    )]
    InvalidCharacter { position: usize },
}

/// Checks that `id` is a valid tenant id: 1 to 64 characters, each an ASCII
/// letter, an ASCII digit, `_` or `-`.
///
/// Those rules keep a tenant id safe in a URL path segment without
/// percent-encoding, so `/` and `%` are rejected.
///
/// # Errors
/// [`InvalidTenantId`] naming the first rule that `id` breaks.
pub fn validate(id: &str) -> Result<(), InvalidTenantId> {
    if id.is_empty() {
        return Err(InvalidTenantId::Empty);
    }
    if id.len() > MAX_LENGTH {
        return Err(InvalidTenantId::TooLong { length: id.len() });
    }
    let invalid = id
        .bytes()
        .position(|byte| !(byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'));
    match invalid {
        Some(position) => Err(InvalidTenantId::InvalidCharacter { position }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_allowed_characters() {
        for id in ["acme", "a", "Tenant_01-x", &"z".repeat(MAX_LENGTH)] {
            assert_eq!(validate(id), Ok(()), "{id:?}");
        }
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(validate(""), Err(InvalidTenantId::Empty));
    }

    #[test]
    fn rejects_too_long() {
        let id = "a".repeat(MAX_LENGTH + 1);

        assert_eq!(validate(&id), Err(InvalidTenantId::TooLong { length: 65 }));
    }

    #[test]
    fn rejects_other_characters() {
        for (id, position) in [("a/b", 1), ("a%2Fb", 1), (" a", 0), ("é", 0), ("a.b", 1)] {
            assert_eq!(
                validate(id),
                Err(InvalidTenantId::InvalidCharacter { position }),
                "{id:?}"
            );
        }
    }
}
