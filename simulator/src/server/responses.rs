//! The fixed answers of the simulated CVDW: the exact bodies of its errors and throttles, and
//! the JSON and HTML responses that carry them.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

/// The exact `Too many requests` body, pretty-printed the way PHP's `JSON_PRETTY_PRINT` does.
pub const TOO_MANY_BODY: &str = "{\n    \"Response\": \"Too many requests\"\n}";
/// First line of the CV HTML error page (§3.3).
pub const HTML_500_FIRST_LINE: &str = "Ocorreu um erro ao tentar executar essa ação. Tente novamente e caso o erro persista entre em contato com o administrador do sistema.";
pub const UNAUTHORIZED_BODY: &str =
    r#"{"codigo":401,"mensagem":"E-mail e/ou token incorreto(s)."}"#;
pub const UNPROCESSABLE_BODY: &str = r#"{"mensagem":"Erro inesperado, por favor entre em contato com o suporte técnico.","codigo":422}"#;
pub const PAGINA_NOT_INT_BODY: &str =
    r#"{"mensagem":"O campo pagina deve ser um inteiro.","codigo":400}"#;
pub const REGISTROS_NOT_INT_BODY: &str =
    r#"{"mensagem":"O campo registros_por_pagina deve ser um inteiro.","codigo":400}"#;
/// The 405 body (the real one is unknown).
const METHOD_NOT_ALLOWED_BODY: &str = r#"{"mensagem":"Método não permitido.","codigo":405}"#;

fn with_content_type(status: StatusCode, body: Body, content_type: &'static str) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(super) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    with_content_type(status, body.into(), "application/json; charset=utf-8")
}

pub(super) fn method_not_allowed() -> Response {
    json_response(StatusCode::METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED_BODY)
}

pub(super) fn too_many(status: StatusCode) -> Response {
    json_response(status, TOO_MANY_BODY)
}

pub(super) fn html_500() -> Response {
    let body = format!(
        "{HTML_500_FIRST_LINE}\n<br><br><h1>OPS!</h1>\n<table><tr><td>Erro</td><td>Exception</td></tr></table>\n"
    );
    with_content_type(
        StatusCode::INTERNAL_SERVER_ERROR,
        Body::from(body),
        "text/html; charset=UTF-8",
    )
}

pub(super) fn date_error(field: &str) -> Response {
    // Key order as served live: `error` first, then `code` (§3.3).
    json_response(
        StatusCode::BAD_REQUEST,
        format!(r#"{{"error":"O campo {field} não é válido","code":400}}"#),
    )
}
