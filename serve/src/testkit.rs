//! Test-only helpers shared by the unit tests and the integration tests
//! (which include this file by path): tokens signed with the committed
//! test-only key pair in `tests/data/`.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// The test-only JWKS (key id `sluice-test-only`).
pub fn jwks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/test_only_jwks.json")
}

/// The claims the tests put in a token.
#[derive(Debug, Clone, Serialize)]
pub struct Claims {
    /// Audience.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Not before, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A token with `claims`, signed (RS256) by the test-only key, naming `kid`.
pub fn token(claims: &Claims, kid: &str) -> String {
    use base64::Engine;
    let pem = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/test_only_rsa_private_key.pem"),
    )
    .expect("the test-only key is committed");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM body is base64");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    encode(&header, claims, &EncodingKey::from_rsa_der(&der)).expect("signs")
}
