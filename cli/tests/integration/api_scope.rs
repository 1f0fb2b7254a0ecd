//! Per-tenant scope and session forgery (issue #20), over real HTTP on a database with two
//! tenants (`acme`, `beta`).
//!
//! - **Scope, generated from the OpenAPI document**: for every protected `/api/*` operation, a
//!   viewer key scoped to `beta` gets 403 for `?tenant=acme`, and its unfiltered answer (JSON
//!   and CSV) is byte-for-byte the all-tenant admin's answer for `?tenant=beta`; the ETL status
//!   is 403 for viewers and scoped for admins; a key of both tenants gets both; `/health` lists
//!   only the caller's tenants and none without a key; a session carries its key's scope.
//! - **Sessions**: a cookie forged the old way (HMAC keyed from the stored key hash), one with a
//!   far-future `exp` (correctly signed), one from before an epoch bump, and one for a removed
//!   key are all 401.

use crate::api_support;

use std::net::SocketAddr;

use api_support::{loaded_db, serve};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::api::{hash_key, ApiConfig};

const ADMIN: &str = "admin-key-0000000000000000000000000000";
const VIEWER_BETA: &str = "viewer-beta-key-00000000000000000000000";
const ADMIN_BETA: &str = "admin-beta-key-000000000000000000000000";
const VIEWER_BOTH: &str = "viewer-both-key-00000000000000000000000";
const SESSION_SECRET: &str = "a-fixed-session-secret-for-this-test-000000";

fn keys_json() -> String {
    serde_json::json!([
        {"sha256": hash_key(ADMIN), "tenants": "*", "role": "admin", "name": "ops"},
        {"sha256": hash_key(VIEWER_BETA), "tenants": ["beta"], "role": "viewer", "name": "bi-beta"},
        {"sha256": hash_key(ADMIN_BETA), "tenants": ["beta"], "role": "admin", "name": "ops-beta"},
        {"sha256": hash_key(VIEWER_BOTH), "tenants": ["acme", "beta"], "role": "viewer", "name": "bi-both"},
    ])
    .to_string()
}

fn config(epoch: &str) -> ApiConfig {
    let keys = keys_json();
    ApiConfig::from_lookup(|k| match k {
        "API_KEYS" => Some(keys.clone()),
        "SESSION_SECRET" => Some(SESSION_SECRET.into()),
        "SESSION_EPOCH" => Some(epoch.into()),
        _ => None,
    })
    .unwrap()
}

struct Api {
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str, auth: Auth<'_>) -> (u16, String) {
        let mut req = self.http.get(format!("http://{}{path}", self.addr));
        req = match auth {
            Auth::Key(k) => req.bearer_auth(k),
            Auth::Cookie(c) => req.header("cookie", format!("cvdw_session={c}")),
            Auth::None => req,
        };
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Key(&'a str),
    Cookie(&'a str),
    None,
}

/// The rows (and total) of a JSON answer, without the echoed filters.
fn rows(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    serde_json::json!({"rows": v["rows"], "total": v.get("total")})
}

fn with(path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}{sep}{query}")
    }
}

#[tokio::test]
async fn every_endpoint_honours_the_key_scope() {
    let (db, _a, _b) = loaded_db("api_scope").await;
    let (addr, _h) = serve(&db, config("0")).await;
    shared::store::install_crypto_provider();
    let api = Api {
        addr,
        http: reqwest::Client::new(),
    };
    let (s, doc) = api.get("/openapi.json", Auth::Key(VIEWER_BETA)).await;
    assert_eq!(s, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let op = &item["get"];
        if !path.starts_with("/api/") || op.is_null() || op["security"] == serde_json::json!([]) {
            continue;
        }
        assert!(
            op["responses"].get("403").is_some(),
            "{path} documents its 403"
        );
        let paged = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "per_page");
        let base = if paged {
            format!("{path}?per_page=500")
        } else {
            path.clone()
        };
        let etl = path == "/api/etl/status";

        // Another tenant: 403, for viewers and scoped admins, in JSON and CSV.
        for key in [VIEWER_BETA, ADMIN_BETA] {
            for fmt in ["", "format=csv"] {
                let (s, body) = api
                    .get(&with(&with(&base, "tenant=acme"), fmt), Auth::Key(key))
                    .await;
                assert_eq!(s, 403, "{path} tenant=acme {fmt}: {body}");
                assert!(!body.contains("\"rows\""), "{path}: {body}");
            }
        }
        if etl {
            // Viewers never see the ETL status; a scoped admin sees its tenants only.
            let (s, _) = api.get(&base, Auth::Key(VIEWER_BETA)).await;
            assert_eq!(s, 403, "{path} for a viewer");
            let (s, scoped) = api.get(&base, Auth::Key(ADMIN_BETA)).await;
            assert_eq!(s, 200);
            let (_, reference) = api.get(&with(&base, "tenant=beta"), Auth::Key(ADMIN)).await;
            assert_eq!(rows(&scoped), rows(&reference), "{path}");
            checked += 1;
            continue;
        }

        // Unfiltered: exactly the admin's answer for the key's one tenant, JSON and CSV.
        for fmt in ["", "format=csv"] {
            let (s, scoped) = api.get(&with(&base, fmt), Auth::Key(VIEWER_BETA)).await;
            assert_eq!(s, 200, "{path} {fmt}: {scoped}");
            let (s, reference) = api
                .get(&with(&with(&base, "tenant=beta"), fmt), Auth::Key(ADMIN))
                .await;
            assert_eq!(s, 200);
            if fmt.is_empty() {
                assert_eq!(rows(&scoped), rows(&reference), "{path}");
                assert!(!scoped.contains("\"acme\""), "{path} leaks acme");
            } else {
                assert_eq!(scoped, reference, "{path} csv");
                assert!(!scoped.contains("acme"), "{path} csv leaks acme");
            }
        }
        // Its own tenant, asked for: allowed.
        let (s, _) = api
            .get(&with(&base, "tenant=beta"), Auth::Key(VIEWER_BETA))
            .await;
        assert_eq!(s, 200, "{path} tenant=beta");

        // A key of both tenants: both, unfiltered. A paged answer is one tenant's rows after the
        // other's, cut into pages: every page of a small size, across the boundary, is the
        // slice of that sequence, and the total is the sum.
        let (s, both) = api.get(&base, Auth::Key(VIEWER_BOTH)).await;
        if paged {
            assert_eq!(s, 200, "{path}: {both}");
            let mut sequence: Vec<Value> = Vec::new();
            let mut total = 0;
            for tenant in ["acme", "beta"] {
                let (_, one) = api
                    .get(
                        &format!("{path}?tenant={tenant}&per_page=500"),
                        Auth::Key(ADMIN),
                    )
                    .await;
                let v: Value = serde_json::from_str(&one).unwrap();
                sequence.extend(v["rows"].as_array().unwrap().iter().cloned());
                let n = v["total"].as_i64().unwrap();
                assert!(n > 0, "{path}: the fixture has rows of {tenant}");
                total += n;
            }
            assert_eq!(
                sequence.len() as i64,
                total,
                "{path}: the fixture fits one page"
            );
            let size = (total / 3).max(1) as usize;
            for page in 1..=(total as usize).div_ceil(size) + 1 {
                let (s, body) = api
                    .get(
                        &format!("{path}?page={page}&per_page={size}"),
                        Auth::Key(VIEWER_BOTH),
                    )
                    .await;
                assert_eq!(s, 200, "{path} page {page}: {body}");
                let v: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["total"].as_i64(), Some(total), "{path} page {page}");
                let want: Vec<Value> = sequence
                    .iter()
                    .skip((page - 1) * size)
                    .take(size)
                    .cloned()
                    .collect();
                assert_eq!(v["rows"].as_array().unwrap(), &want, "{path} page {page}");
            }
        } else {
            assert_eq!(s, 200, "{path}: {both}");
            assert!(
                both.contains("\"acme\"") && both.contains("\"beta\""),
                "{path}"
            );
            let (_, all) = api.get(&base, Auth::Key(ADMIN)).await;
            assert_eq!(rows(&both), rows(&all), "{path}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} operations walked");

    // /health: nothing about tenants without a key; only the key's tenants with one.
    let (s, body) = api.get("/health", Auth::None).await;
    assert_eq!(s, 200);
    assert!(!body.contains("tenants") && !body.contains("acme") && !body.contains("beta"));
    let (_, body) = api.get("/health", Auth::Key(VIEWER_BETA)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = v["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["beta"]);

    // A session carries its key's scope.
    let r = api
        .http
        .post(format!("http://{addr}/login"))
        .json(&serde_json::json!({"key": VIEWER_BETA}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("cvdw_session=")
        .to_string();
    assert!(!cookie.contains(&hash_key(VIEWER_BETA)) && !cookie.contains(VIEWER_BETA));
    let (s, _) = api
        .get("/api/kpis?tenant=acme", Auth::Cookie(&cookie))
        .await;
    assert_eq!(s, 403);
    let (s, body) = api.get("/api/empreendimentos", Auth::Cookie(&cookie)).await;
    assert_eq!(s, 200);
    assert!(body.contains("\"beta\"") && !body.contains("\"acme\""));
    let (s, _) = api.get("/api/etl/status", Auth::Cookie(&cookie)).await;
    assert_eq!(s, 403);
    db.drop().await;
}

/// The cookie of the old scheme: `v1.<exp>.<HMAC(SHA-256("cvdw-session" ‖ hash ‖ ""), "v1.<exp>")>`,
/// computable by anyone who could read the key-hash secret.
fn old_way_cookie(key_hash_hex: &str, exp: i64) -> String {
    let hash = hex::decode(key_hash_hex).unwrap();
    let k = Sha256::new()
        .chain_update(b"cvdw-session")
        .chain_update(&hash)
        .chain_update(b"")
        .finalize();
    let msg = format!("v1.{exp}");
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&k).unwrap();
    m.update(msg.as_bytes());
    format!("{msg}.{}", hex::encode(m.finalize().into_bytes()))
}

/// The new format, but keyed from the hash instead of the session secret.
fn v2_keyed_by_hash(key_hash_hex: &str, exp: i64) -> String {
    let hash = hex::decode(key_hash_hex).unwrap();
    let mut kid = <Hmac<Sha256> as Mac>::new_from_slice(&hash).unwrap();
    kid.update(b"cvdw-key-id");
    kid.update(&hash);
    let kid = hex::encode(&kid.finalize().into_bytes()[..8]);
    let msg = format!("v2.{kid}.0.{exp}");
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&hash).unwrap();
    m.update(b"cvdw-session");
    m.update(msg.as_bytes());
    format!("{msg}.{}", hex::encode(m.finalize().into_bytes()))
}

#[tokio::test]
async fn forged_far_future_revoked_and_orphaned_sessions_are_401() {
    let (db, _a, _b) = loaded_db("api_forge").await;
    // The server runs at epoch 1; the same secret at epoch 0 signs "earlier" sessions.
    let server = config("1");
    let before_bump = config("0");
    let (addr, _h) = serve(&db, server.clone()).await;
    shared::store::install_crypto_provider();
    let api = Api {
        addr,
        http: reqwest::Client::new(),
    };
    let now = chrono::Utc::now().timestamp();
    let admin = server.check_key(ADMIN).unwrap();

    // A genuine session works (the control).
    let good = server.session_value(admin, now);
    assert_eq!(api.get("/api/kpis", Auth::Cookie(&good)).await.0, 200);

    let far = now + 10 * 365 * 86_400;
    let forged = [
        (
            "old way, from the key hash",
            old_way_cookie(&hash_key(ADMIN), far),
        ),
        (
            "old way, 2286",
            old_way_cookie(&hash_key(ADMIN), 9_999_999_999),
        ),
        (
            "new format keyed by the hash",
            v2_keyed_by_hash(&hash_key(ADMIN), now + 60),
        ),
        (
            "far-future exp, correctly signed",
            server.session_value_until(admin, far),
        ),
        (
            "issued before the epoch bump",
            before_bump.session_value(admin, now),
        ),
        ("expired", server.session_value_until(admin, now - 1)),
    ];
    for (what, cookie) in &forged {
        for path in ["/api/kpis", "/api/empreendimentos", "/openapi.json"] {
            let (s, body) = api.get(path, Auth::Cookie(cookie)).await;
            assert_eq!(s, 401, "{what} on {path}: {body}");
        }
    }
    // A key removed from the configuration takes its sessions with it.
    let others = serde_json::json!([
        {"sha256": hash_key(VIEWER_BETA), "tenants": ["beta"], "role": "viewer", "name": "bi-beta"},
    ])
    .to_string();
    let without_admin = ApiConfig::from_lookup(|k| match k {
        "API_KEYS" => Some(others.clone()),
        "SESSION_SECRET" => Some(SESSION_SECRET.into()),
        "SESSION_EPOCH" => Some("1".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(without_admin.check_session(&good, now), None);
    db.drop().await;
}
