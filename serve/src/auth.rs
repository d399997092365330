//! Who may open a call. The platform signs a JWT (RS256) and sends it in
//! `Authorization: Bearer` on the WebSocket upgrade; its issuer is
//! [`PLATFORM_ISSUER`], its audience the resource's id, and its keys are
//! published as a JWKS. The server checks signature, `aud`, `iss`, `exp`
//! and `nbf` (with [`DEFAULT_LEEWAY_S`] of leeway) before any graph is
//! built.
//!
//! The JWKS comes from a file that operations keep fresh; it is read again
//! when its modification time changes ([`Auth::refresh`]).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use sluice_nodes::acs::ids::echo;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

/// The issuer of the platform's tokens.
pub const PLATFORM_ISSUER: &str = "https://acscallautomation.communication.azure.com";

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_S: u64 = 30;

/// What a token must say.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The JWKS file.
    pub jwks: PathBuf,
    /// The expected `aud` (the resource's id).
    pub audience: String,
    /// The expected `iss`.
    pub issuer: String,
    /// Seconds of leeway on `exp` and `nbf`.
    pub leeway_s: u64,
}

impl AuthConfig {
    /// A configuration with the platform's issuer and the default leeway.
    pub fn new(jwks: impl Into<PathBuf>, audience: impl Into<String>) -> AuthConfig {
        AuthConfig {
            jwks: jwks.into(),
            audience: audience.into(),
            issuer: PLATFORM_ISSUER.into(),
            leeway_s: DEFAULT_LEEWAY_S,
        }
    }
}

/// Why a token was refused (said in the HTTP 401 body and the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    Missing,
    /// The header or token is not readable.
    Malformed(String),
    /// The token names a key the JWKS does not have.
    UnknownKey(String),
    /// The signature or a claim is wrong (expired, not yet valid, wrong
    /// audience or issuer).
    Invalid(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => f.write_str("no `Authorization: Bearer` token"),
            AuthError::Malformed(e) => write!(f, "unreadable token: {e}"),
            AuthError::UnknownKey(k) => write!(f, "token signed with unknown key {k:?}"),
            AuthError::Invalid(e) => write!(f, "token refused: {e}"),
        }
    }
}

/// The keys of one JWKS file, by key id.
struct Keys {
    keys: Vec<(Option<String>, DecodingKey)>,
    modified: Option<SystemTime>,
}

/// A token checker over a JWKS file.
pub struct Auth {
    cfg: AuthConfig,
    keys: RwLock<Arc<Keys>>,
    validation: Validation,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("cfg", &self.cfg).finish()
    }
}

impl Auth {
    /// Reads the JWKS; an unreadable file or one without an RSA key is an
    /// error that says which.
    pub fn load(cfg: AuthConfig) -> Result<Auth, String> {
        let keys = read_keys(&cfg.jwks)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&cfg.audience]);
        validation.set_issuer(&[&cfg.issuer]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        validation.validate_nbf = true;
        validation.leeway = cfg.leeway_s;
        Ok(Auth {
            cfg,
            keys: RwLock::new(Arc::new(keys)),
            validation,
        })
    }

    /// Reads the JWKS again if the file changed. A bad new file is
    /// reported and the previous keys stay.
    pub fn refresh(&self) -> Result<bool, String> {
        let modified = std::fs::metadata(&self.cfg.jwks)
            .and_then(|m| m.modified())
            .ok();
        let current = self.current();
        if modified.is_some() && modified == current.modified {
            return Ok(false);
        }
        let keys = read_keys(&self.cfg.jwks)?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(true)
    }

    /// The JWKS file.
    pub fn jwks_path(&self) -> &Path {
        &self.cfg.jwks
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let head = decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let keys = self.current();
        let candidates: Vec<&DecodingKey> = match &head.kid {
            Some(kid) => keys
                .keys
                .iter()
                .filter(|(k, _)| k.as_deref() == Some(kid.as_str()))
                .map(|(_, key)| key)
                .collect(),
            None => keys.keys.iter().map(|(_, key)| key).collect(),
        };
        if candidates.is_empty() {
            return Err(AuthError::UnknownKey(echo(
                head.kid.as_deref().unwrap_or(""),
            )));
        }
        let mut last = None;
        for key in candidates {
            match decode::<serde_json::Value>(token, key, &self.validation) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(AuthError::Invalid(
            last.map_or_else(String::new, |e| echo(&e.to_string())),
        ))
    }

    fn current(&self) -> Arc<Keys> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn read_keys(path: &Path) -> Result<Keys, String> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the JWKS {}: {e}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JWKS: {}", path.display(), echo(&e.to_string())))?;
    let keys: Vec<(Option<String>, DecodingKey)> = set
        .keys
        .iter()
        .filter_map(|jwk| {
            let key = DecodingKey::from_jwk(jwk).ok()?;
            matches!(
                jwk.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_)
            )
            .then(|| (jwk.common.key_id.clone(), key))
        })
        .collect();
    if keys.is_empty() {
        return Err(format!(
            "{} has no RSA key (the platform signs with RS256)",
            path.display()
        ));
    }
    Ok(Keys { keys, modified })
}
