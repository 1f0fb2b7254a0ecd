//! The OpenAPI 3 document, generated from [`METRICS`] and [`ROUTES`] — the same tables the
//! router is built from — so it cannot drift from the routes.

use serde_json::{json, Map, Value};

use super::{ROUTES, VERSION};
use crate::analytics::{ColType, Filter, Metric, Source, MAX_PER_PAGE, METRICS};

fn schema_of(ty: ColType) -> Value {
    match ty {
        ColType::Text => json!({"type": "string", "nullable": true}),
        ColType::Int => json!({"type": "integer", "format": "int64", "nullable": true}),
        ColType::Money => json!({"type": "number", "nullable": true, "description": "R$"}),
        ColType::Decimal => json!({"type": "number", "nullable": true}),
        ColType::Date => json!({"type": "string", "format": "date", "nullable": true}),
        ColType::Timestamp => json!({"type": "string", "format": "date-time", "nullable": true}),
    }
}

fn row_schema(m: &Metric) -> Value {
    let mut props = Map::new();
    for c in m.columns {
        let mut s = schema_of(c.ty);
        s["description"] = json!(c.description);
        props.insert(c.name.to_string(), s);
    }
    json!({"type": "object", "properties": props})
}

fn schema_name(m: &Metric) -> String {
    let mut out = String::new();
    let mut up = true;
    for ch in m.path.chars() {
        if ch == '-' || ch == '/' {
            up = true;
        } else if up {
            out.extend(ch.to_uppercase());
            up = false;
        } else {
            out.push(ch);
        }
    }
    out + "Row"
}

/// The highest `page` `analytics::Page::parse` accepts (checked by a test below).
const MAX_PAGE: i64 = 1_000_000;

/// `YYYY-MM-DD` or `YYYY-MM`; the calendar check (no 30th of February) is the server's.
const PERIOD_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$";

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// The parameters an endpoint accepts (mirrors `parse_params`).
pub fn parameters(m: Option<&Metric>) -> Vec<Value> {
    // Patterns say exactly what `parse_params` accepts, so that a client (and the fuzzer in
    // scripts/schemathesis.sh) knows a 400 in advance.
    let mut p = vec![param(
        "tenant",
        "Only this tenant",
        json!({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}),
    )];
    let takes: &[Filter] = m.map_or(&[Filter::Tenant], |m| m.filters);
    let id = json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX});
    for filter in takes {
        match filter {
            Filter::Tenant => {}
            Filter::De => p.push(param(
                "de",
                "Period start, inclusive (YYYY-MM-DD, or YYYY-MM for the month's first day)",
                json!({"type": "string", "pattern": PERIOD_PATTERN, "example": "2025-01-01"}),
            )),
            Filter::Ate => p.push(param(
                "ate",
                if takes.contains(&Filter::De) {
                    "Period end, inclusive (YYYY-MM-DD, or YYYY-MM for the month's last day); not before `de` (400)"
                } else {
                    "The day the metric is taken on (YYYY-MM-DD, or YYYY-MM for the month's last day); see the columns"
                },
                json!({"type": "string", "pattern": PERIOD_PATTERN, "example": "2025-12-31"}),
            )),
            Filter::Empreendimento => p.push(param(
                "empreendimento",
                "Only this development (idempreendimento)",
                id.clone(),
            )),
            Filter::Corretor => p.push(param("corretor", "Only this broker (idcorretor)", id.clone())),
            Filter::Time => p.push(param("time", "Only this sales team (idtime)", id.clone())),
            Filter::Imobiliaria => p.push(param(
                "imobiliaria",
                "Only this agency (idimobiliaria)",
                id.clone(),
            )),
            Filter::Dias => p.push(param(
                "dias",
                "An item over this many days in its stage is stuck",
                json!({"type": "integer", "minimum": 1, "maximum": 3650, "default": crate::analytics::DEFAULT_DIAS}),
            )),
        }
    }
    if m.is_some_and(|m| m.source == Source::Paged) {
        p.push(param(
            "page",
            "Page number",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
        ));
        p.push(param(
            "per_page",
            "Rows per page",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 100}),
        ));
    }
    p.push(param(
        "format",
        "json (default) or csv (also chosen by `Accept: text/csv`): UTF-8 with BOM, `;` separator, `,` decimal, dd/mm/aaaa dates, CRLF",
        json!({"type": "string", "enum": ["json", "csv"]}),
    ));
    p
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let errors = json!({
        "400": {"description": "Invalid parameter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "401": {"description": "Missing or invalid API key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "403": {"description": "The key may not read this tenant (or, for the ETL status, is not an admin key)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "503": {"description": "Database unavailable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"},
            "parameter": {"type": "string", "description": "The offending query parameter"},
            "reason": {"type": "string"}}}),
    );
    for m in METRICS {
        let name = schema_name(m);
        schemas.insert(name.clone(), row_schema(m));
        let mut props = json!({
            "metric": {"type": "string"},
            "filters": {"type": "object"},
            "rows": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
        });
        if m.source == Source::Paged {
            props["total"] = json!({"type": "integer"});
            props["page"] = json!({"type": "integer"});
            props["per_page"] = json!({"type": "integer"});
        }
        let mut responses = json!({
            "200": {"description": format!("Rows (view {})", m.view), "content": {
                "application/json": {"schema": {"type": "object", "properties": props}},
                "text/csv": {"schema": {"type": "string"}}}}
        });
        for (k, v) in errors.as_object().into_iter().flatten() {
            responses[k] = v.clone();
        }
        paths.insert(
            format!("/api/{}", m.path),
            json!({"get": {
                "summary": m.summary,
                "operationId": m.path.replace(['-', '/'], "_"),
                "parameters": parameters(Some(m)),
                "security": [{"bearer": []}, {"apiKeyHeader": []}, {"session": []}],
                "responses": responses}}),
        );
    }
    if let Some(item) = paths.get_mut("/api/metas") {
        item["put"] = json!({
            "summary": "Replace monthly goals (admin keys, the key's tenants): the metas CSV (`tenant;mes;escopo;id;unidades;valor`, decimal comma); all or nothing",
            "operationId": "metas_put",
            "security": [{"bearer": []}, {"apiKeyHeader": []}, {"session": []}],
            "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {
                "200": {"description": "Goals written", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"written": {"type": "integer"}}}}}},
                "400": {"description": "Bad lines, each with its number; nothing changed", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"], "properties": {
                        "error": {"type": "string"},
                        "lines": {"type": "array", "items": {"type": "object", "properties": {
                            "line": {"type": "integer"}, "reason": {"type": "string"}}}}}}}}},
                "401": errors["401"].clone(),
                "403": {"description": "Not an admin key, or a tenant outside the key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "503": errors["503"].clone(),
            }
        });
    }
    for (path, method, public, summary) in ROUTES {
        let mut op = json!({"summary": summary, "responses": {"200": {"description": "OK"}}});
        match *path {
            "/health" => {
                op["responses"] = json!({
                    "200": {"description": "Healthy", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                    "503": {"description": "Database unreachable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}});
            }
            "/login" => {
                op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}}}}});
                op["responses"] = json!({
                    "204": {"description": "Logged in; sets the HttpOnly, Secure, SameSite=Strict session cookie"},
                    "400": errors["400"].clone(),
                    "401": {"description": "Wrong key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}});
            }
            "/logout" => op["responses"] = json!({"204": {"description": "Cookie cleared"}}),
            "/api/empreendimentos" => {
                op["parameters"] = json!(parameters(None));
                op["responses"]["400"] = errors["400"].clone();
                op["responses"]["503"] = errors["503"].clone();
                op["responses"]["403"] = errors["403"].clone();
            }
            _ => {}
        }
        if !public {
            op["security"] = json!([{"bearer": []}, {"apiKeyHeader": []}, {"session": []}]);
            op["responses"]["401"] = errors["401"].clone();
        } else {
            op["security"] = json!([]);
        }
        paths.insert(path.to_string(), json!({ *method: op }));
    }
    schemas.insert(
        "Health".into(),
        json!({"type": "object", "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "version": {"type": "string"},
            "database": {"type": "object", "properties": {"reachable": {"type": "boolean"}}},
            "tenants": {"type": "array", "items": {"type": "object", "properties": {
                "tenant": {"type": "string"},
                "last_fetched_at": {"type": "string", "format": "date-time", "nullable": true},
                "last_loaded_at": {"type": "string", "format": "date-time", "nullable": true},
                "age_seconds": {"type": "integer", "nullable": true}}}}}}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "cvdw-etl API",
            "version": VERSION,
            "description": "Sales analytics over the CV CRM CVDW data (definitions in docs/metrics.md)."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "The same API key, for callers whose Authorization header is taken (a function URL with AuthType AWS_IAM: SigV4)"},
                "session": {"type": "apiKey", "in": "cookie", "name": super::auth::COOKIE}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::Page;

    #[test]
    fn bounds_match_the_parsers_and_every_input_documents_its_400() {
        assert!(Page::parse(Some(&MAX_PAGE.to_string()), None).is_ok());
        assert!(Page::parse(Some(&(MAX_PAGE + 1).to_string()), None).is_err());
        assert!(Page::parse(None, Some(&MAX_PER_PAGE.to_string())).is_ok());
        let doc = document();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let takes_input = op["parameters"].as_array().is_some_and(|a| !a.is_empty())
                    || op.get("requestBody").is_some();
                if takes_input {
                    assert!(op["responses"].get("400").is_some(), "{method} {path}");
                }
            }
        }
    }
}
