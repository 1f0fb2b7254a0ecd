//! API keys and what each may read.
//!
//! A key is configured by the SHA-256 of its value (never the value), with the tenants it may
//! read (`*` for all) and a role: `viewer` reads the dashboard and the data API, `admin` adds the
//! ETL status. Configuration comes from `API_KEYS`, a JSON list
//! `[{"sha256": "<hex>", "tenants": ["a", "b"] | "*", "role": "viewer" | "admin", "name": "…"}]`;
//! the older `API_KEY_HASHES` (comma-separated hashes) still works and makes all-tenant admin
//! keys. Errors name a key by its position or name, never by its hash or value.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::auth::ConfigError;

/// SHA-256 of the empty string: a deploy script whose key generation failed stores this.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Shortest plain key accepted (`CVDW_API_KEY`, `cvdw serve --api-key`): 32 characters, that is
/// 128 bits when the key is hex, more otherwise.
pub const MIN_PLAIN_KEY_CHARS: usize = 32;

/// What a key may do besides reading its tenants' data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The dashboard and the data API.
    Viewer,
    /// Also the ETL status.
    Admin,
}

/// The tenants a key may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenants {
    All,
    /// Sorted, without duplicates, never empty.
    Only(Vec<String>),
}

impl Tenants {
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Tenants::All => true,
            Tenants::Only(list) => list.iter().any(|t| t == tenant),
        }
    }
}

/// Who is calling: the key's name, role and tenants (never its value or hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub tenants: Tenants,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// One configured key.
#[derive(Clone)]
pub(crate) struct ApiKey {
    pub hash: [u8; 32],
    pub principal: Principal,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is what the old session scheme was forged from: never printed.
        f.debug_struct("ApiKey")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// Hex SHA-256 of a key: what goes into `API_KEYS` / `API_KEY_HASHES`.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn parse_hash(variable: &'static str, what: &str, h: &str) -> Result<[u8; 32], ConfigError> {
    let h = h.trim();
    if h.eq_ignore_ascii_case(EMPTY_SHA256) {
        return Err(ConfigError {
            variable,
            reason: format!("{what} is the SHA-256 of the empty string (an empty key)"),
        });
    }
    let bytes = hex::decode(h)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| ConfigError {
            variable,
            reason: format!("{what} is not 64 hex characters (a SHA-256)"),
        })?;
    let mut a = [0u8; 32];
    a.copy_from_slice(&bytes);
    Ok(a)
}

/// `API_KEY_HASHES`: comma-separated hashes, each an all-tenant admin key named `key-<n>`.
pub(crate) fn parse_hash_list(
    variable: &'static str,
    list: &str,
) -> Result<Vec<ApiKey>, ConfigError> {
    let mut out = Vec::new();
    for (i, h) in list.split(',').map(str::trim).enumerate() {
        if h.is_empty() {
            return Err(ConfigError {
                variable,
                reason: format!("entry {} is empty", i + 1),
            });
        }
        out.push(ApiKey {
            hash: parse_hash(variable, &format!("entry {}", i + 1), h)?,
            principal: Principal {
                name: format!("key-{}", i + 1),
                role: Role::Admin,
                tenants: Tenants::All,
            },
        });
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    sha256: String,
    tenants: EntryTenants,
    role: Role,
    name: String,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum EntryTenants {
    List(Vec<String>),
    Star(String),
}

/// `API_KEYS`: the JSON list of scoped keys.
pub(crate) fn parse_key_list(
    variable: &'static str,
    json: &str,
) -> Result<Vec<ApiKey>, ConfigError> {
    let err = |reason: String| ConfigError { variable, reason };
    let entries: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
        err(format!(
            "is not a JSON list of keys (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let mut out: Vec<ApiKey> = Vec::new();
    for (i, v) in entries.into_iter().enumerate() {
        let what = format!("entry {}", i + 1);
        let e: Entry = serde_json::from_value(v).map_err(|e| {
            err(format!(
                "{what}: {e}; expected {{\"sha256\", \"tenants\": [..] | \"*\", \"role\": \"viewer\" | \"admin\", \"name\"}}"
            ))
        })?;
        let hash = parse_hash(variable, &what, &e.sha256)?;
        let name = e.name.trim().to_string();
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@ ".contains(c))
        {
            return Err(err(format!(
                "{what}: name must be 1–64 characters of letters, digits, space, '-', '_', '.' or '@'"
            )));
        }
        let tenants = match e.tenants {
            EntryTenants::Star(s) if s == "*" => Tenants::All,
            EntryTenants::Star(_) => {
                return Err(err(format!(
                    "{what} ({name}): tenants must be \"*\" or a list of tenants"
                )))
            }
            EntryTenants::List(mut list) => {
                for t in &list {
                    if crate::analytics::Filters::parse(Some(t), None, None, None).is_err()
                        || t.trim() != t
                        || t.is_empty()
                    {
                        return Err(err(format!(
                            "{what} ({name}): a tenant is not 1–64 characters of letters, digits, '-', '_' or '.'"
                        )));
                    }
                }
                list.sort();
                list.dedup();
                if list.is_empty() {
                    return Err(err(format!(
                        "{what} ({name}): tenants is empty; list the tenants or use \"*\""
                    )));
                }
                Tenants::Only(list)
            }
        };
        if out.iter().any(|k| k.hash == hash) {
            return Err(err(format!(
                "{what} ({name}): the same key is listed twice"
            )));
        }
        if out.iter().any(|k| k.principal.name == name) {
            return Err(err(format!("{what}: the name {name} is used twice")));
        }
        out.push(ApiKey {
            hash,
            principal: Principal {
                name,
                role: e.role,
                tenants,
            },
        });
    }
    if out.is_empty() {
        return Err(err("lists no key".into()));
    }
    Ok(out)
}

/// Plain keys (local use): refused when empty or shorter than [`MIN_PLAIN_KEY_CHARS`]; each is
/// an all-tenant admin key.
pub(crate) fn plain_keys(
    variable: &'static str,
    keys: &[&str],
) -> Result<Vec<ApiKey>, ConfigError> {
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let reason = if k.trim().is_empty() {
            Some("is empty")
        } else if k.chars().count() < MIN_PLAIN_KEY_CHARS {
            Some("is shorter than 32 characters (128 bits as hex); generate one with `openssl rand -hex 24`")
        } else {
            None
        };
        if let Some(r) = reason {
            return Err(ConfigError {
                variable,
                reason: format!("key {} {r}", i + 1),
            });
        }
        out.push(unchecked_plain(i, k));
    }
    if out.is_empty() {
        return Err(ConfigError {
            variable,
            reason: "lists no key".into(),
        });
    }
    Ok(out)
}

/// An all-tenant admin key from its value, without the length rule (tests).
pub(crate) fn unchecked_plain(i: usize, key: &str) -> ApiKey {
    ApiKey {
        hash: Sha256::digest(key.as_bytes()).into(),
        principal: Principal {
            name: format!("key-{}", i + 1),
            role: Role::Admin,
            tenants: Tenants::All,
        },
    }
}

/// Index of the configured key this key is, compared in constant time against every hash (no
/// early exit, so timing tells nothing about which bytes matched).
pub(crate) fn find(keys: &[ApiKey], key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let h: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let mut found: Option<usize> = None;
    for (i, k) in keys.iter().enumerate() {
        if bool::from(k.hash.ct_eq(&h)) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_keys_parse_and_refuse_bad_entries_by_position() {
        let a = hash_key("a-key-of-enough-length-000000000001");
        let json = format!(
            r#"[{{"sha256":"{a}","tenants":["beta","acme","acme"],"role":"viewer","name":"bi"}},
               {{"sha256":"{}","tenants":"*","role":"admin","name":"ops"}}]"#,
            hash_key("another-key-of-enough-length-0000002")
        );
        let keys = parse_key_list("API_KEYS", &json).unwrap();
        assert_eq!(
            keys[0].principal.tenants,
            Tenants::Only(vec!["acme".into(), "beta".into()])
        );
        assert_eq!(keys[1].principal.tenants, Tenants::All);
        assert_eq!(find(&keys, "another-key-of-enough-length-0000002"), Some(1));
        assert_eq!(find(&keys, ""), None);

        let empty = format!(
            r#"[{{"sha256":"{a}","tenants":"*","role":"admin","name":"x"}},{{"sha256":"{EMPTY_SHA256}","tenants":"*","role":"admin","name":"y"}}]"#
        );
        let e = parse_key_list("API_KEYS", &empty).unwrap_err().to_string();
        assert!(e.contains("entry 2") && e.contains("empty string"), "{e}");
        assert!(!e.contains(EMPTY_SHA256), "{e}");
        for bad in [
            format!(r#"[{{"sha256":"{a}","tenants":[],"role":"admin","name":"x"}}]"#),
            format!(r#"[{{"sha256":"{a}","tenants":"all","role":"admin","name":"x"}}]"#),
            format!(r#"[{{"sha256":"{a}","tenants":"*","role":"root","name":"x"}}]"#),
            format!(r#"[{{"sha256":"{a}","tenants":["a b"],"role":"admin","name":"x"}}]"#),
            format!(r#"[{{"sha256":"{a}","tenants":"*","role":"admin","name":""}}]"#),
            r#"[{"sha256":"abc","tenants":"*","role":"admin","name":"x"}]"#.to_string(),
            "[]".to_string(),
            "not json".to_string(),
        ] {
            let e = parse_key_list("API_KEYS", &bad).unwrap_err().to_string();
            assert!(!e.contains(&a), "{e}");
        }
    }

    #[test]
    fn hash_lists_refuse_the_empty_key_and_empty_entries() {
        let e = parse_hash_list(
            "API_KEY_HASHES",
            &format!("{},{EMPTY_SHA256}", hash_key("k")),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("entry 2") && e.contains("empty string"), "{e}");
        assert!(parse_hash_list("API_KEY_HASHES", "").is_err());
        assert!(parse_hash_list("API_KEY_HASHES", "zz").is_err());
    }

    #[test]
    fn plain_keys_refuse_empty_and_short_keys_without_quoting_them() {
        let long = "0123456789abcdef0123456789abcdef";
        assert!(plain_keys("CVDW_API_KEY", &[long]).is_ok());
        let e = plain_keys("CVDW_API_KEY", &[long, ""])
            .unwrap_err()
            .to_string();
        assert!(e.contains("key 2 is empty"), "{e}");
        let e = plain_keys("CVDW_API_KEY", &["short-secret-value"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("key 1 is shorter"), "{e}");
        assert!(!e.contains("short-secret-value"), "{e}");
    }
}
