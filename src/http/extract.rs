//! Request extractors: the authenticated principal, JSON and query configuration that turn
//! malformed input into problem+json, and list pagination.

use super::AppState;
use super::error::{ApiError, FieldError};
use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::error::QueryPayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use utoipa::{IntoParams, ToSchema};

pub use crate::auth::Principal;

impl From<crate::auth::Forbidden> for ApiError {
    fn from(_: crate::auth::Forbidden) -> ApiError {
        ApiError::Forbidden("your role may not do this")
    }
}

fn principal_from(req: &HttpRequest) -> Result<Option<Principal>, ApiError> {
    let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or(ApiError::Unauthorized)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    principal_of_token(state, token).map(Some)
}

/// The principal a bearer token (or a console session's token) stands for: verified, not
/// expired, not revoked.
pub fn principal_of_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims = state
        .tokens
        .verify(token.trim())
        .ok_or(ApiError::Unauthorized)?;
    if state.revocations.is_revoked(&claims.sub, claims.iat)
        || state.revocations.is_outdated(&claims.sub, claims.cv)
    {
        return Err(ApiError::Unauthorized);
    }
    Ok(Principal {
        sub: claims.sub,
        role: claims.role,
        association_id: claims.association_id,
        partner_id: claims.partner_id,
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_from(req).and_then(|p| p.ok_or(ApiError::Unauthorized)))
    }
}

/// An optional principal for public endpoints: no header → anonymous, a bad token → 401.
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequest for MaybePrincipal {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_from(req).map(MaybePrincipal))
    }
}

/// Field name from serde's messages ("unknown field `x`", "missing field `y`").
fn field_from_serde_message(msg: &str) -> String {
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = msg.split(marker).nth(1)
            && let Some(name) = rest.split('`').next()
        {
            return name.to_string();
        }
    }
    "body".to_string()
}

/// Keeps serde's message but drops its position suffix ("at line 1 column 10").
fn clean_serde_message(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let msg = err.to_string();
    let detail = msg
        .strip_prefix("Query deserialize error: ")
        .unwrap_or(&msg)
        .to_string();
    ApiError::Validation(vec![FieldError::new(
        field_from_serde_message(&detail),
        detail,
    )])
    .into()
}

pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound("resource").into()
}

/// The largest JSON body a route takes unless it says otherwise.
pub const JSON_LIMIT: usize = 64 * 1024;

/// How long a client may take to send a body once its headers arrived (slow senders hold a
/// connection and a worker's attention; none of cofund's bodies needs more).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a request says of its body before any of it is read.
pub struct BodyPreamble {
    content_length: Option<u64>,
    encoded: bool,
}

impl BodyPreamble {
    pub fn of(req: &HttpRequest) -> BodyPreamble {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        BodyPreamble {
            content_length: header("content-length").and_then(|v| v.trim().parse().ok()),
            encoded: header("content-encoding")
                .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity")),
        }
    }
}

/// Reads a request body of at most `limit` bytes, raw: `413` as soon as it is known to be
/// larger (its `Content-Length`, or what has arrived so far: nothing beyond the limit is read),
/// `415` for a compressed body (cofund never decompresses a request: a few kilobytes can expand
/// without bound), `408` for a body that trickles in slower than [`BODY_TIMEOUT`].
pub async fn read_body(
    preamble: BodyPreamble,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    if preamble.encoded {
        return Err(ApiError::UnsupportedMediaType(
            "compressed request bodies are not accepted (send it without Content-Encoding)".into(),
        ));
    }
    if preamble.content_length.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let read = payload.to_bytes_limited(limit);
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Err(_) => Err(ApiError::BadRequest {
            code: "body_timeout",
            detail: "the request body arrived too slowly".into(),
        }),
        Ok(Err(_limit_exceeded)) => Err(ApiError::PayloadTooLarge),
        Ok(Ok(Err(_broken))) => Err(ApiError::bad_request("the request body could not be read")),
        Ok(Ok(Ok(bytes))) => Ok(bytes),
    }
}

/// A JSON body of at most `LIMIT` bytes ([`JSON_LIMIT`] unless the route says otherwise),
/// parsed with the path of any offending field (`location.lat`, `features[2].geometry`) so
/// validation problems name it. Wrong shape → 422, broken JSON → 400, wrong content type or a
/// compressed body → 415, too large → 413.
pub struct ApiJson<T, const LIMIT: usize = JSON_LIMIT>(pub T);

impl<T, const LIMIT: usize> ApiJson<T, LIMIT> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static, const LIMIT: usize> FromRequest
    for ApiJson<T, LIMIT>
{
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json_type = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"));
        let preamble = BodyPreamble::of(req);
        // The raw payload: `web::Payload` does not decompress.
        let payload = web::Payload::from_request(req, payload);
        Box::pin(async move {
            if !json_type {
                return Err(ApiError::UnsupportedMediaType(
                    "expected Content-Type: application/json".into(),
                ));
            }
            let payload = payload
                .await
                .map_err(|_| ApiError::bad_request("the request body could not be read"))?;
            let bytes = read_body(preamble, payload, LIMIT).await?;
            parse_json(&bytes).map(ApiJson)
        })
    }
}

/// A JSON body that may be left out: a request with no body at all (no `Content-Type`, no
/// length) is `T::default()`; anything sent is read as [`ApiJson`] reads it.
pub struct OptionalJson<T>(pub T);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let absent = req.headers().get("content-type").is_none()
            && BodyPreamble::of(req).content_length.unwrap_or(0) == 0;
        if absent {
            return Box::pin(async { Ok(OptionalJson(T::default())) });
        }
        let inner = ApiJson::<T>::from_request(req, payload);
        Box::pin(async move { inner.await.map(|j| OptionalJson(j.0)) })
    }
}

/// Parses `bytes` as `T`, naming the offending field on failure. Text that can never be stored
/// (a NUL character, bytes that are not UTF-8, a lone surrogate escape) is refused first, with
/// `422 invalid_text` ([`super::text::check_json`]: one pass over the bytes).
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(bad) = super::text::check_json(bytes) {
        return Err(bad.error(nul_field(bytes).unwrap_or_else(|| "body".into())));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = clean_serde_message(&inner.to_string());
        if msg.contains("surrogate") {
            let field = if path == "." || path.is_empty() {
                "body".to_string()
            } else {
                path
            };
            return super::text::BadText::NotUtf8.error(field);
        }
        if inner.is_data() {
            let top = path == "." || path.is_empty();
            let field = if msg.starts_with("missing field") {
                // The path points at the parent object; serde names the missing member.
                let name = field_from_serde_message(&msg);
                if top { name } else { format!("{path}.{name}") }
            } else if top {
                "body".to_string()
            } else {
                path
            };
            ApiError::Validation(vec![FieldError::new(field, msg)])
        } else {
            ApiError::bad_request(format!("malformed JSON body: {msg}"))
        }
    })?;
    de.end()
        .map_err(|_| ApiError::bad_request("malformed JSON body: trailing characters"))?;
    Ok(value)
}

/// Where the first NUL character of a JSON document is (`name`, `items[2].note`), when it
/// parses (only on the error path).
fn nul_field(bytes: &[u8]) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &str) -> Option<String> {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(path.to_string()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
                if k.contains('\0') {
                    Some(join(&k.replace('\0', "")))
                } else {
                    walk(x, &join(k))
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "").filter(|p| !p.is_empty())
}

/// `?limit=&cursor=` on every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

pub fn check_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// Builds a page from `limit + 1` rows ordered by id: the extra row only says "there is more".
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        id: impl Fn(&R) -> String,
        view: impl Fn(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(&id) } else { None };
        Page {
            data: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

/// The client's address: the peer, unless the peer is a trusted reverse proxy
/// (`COFUND_TRUSTED_PROXIES`); then the nearest address in `X-Forwarded-For` that is not a
/// trusted proxy (what a client writes there itself is never believed: it sits further left).
/// [`client_ip`] as the key of a rate limit or a sign-in's backoff (empty when unknown).
pub fn client_key(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> String {
    client_ip(req, trusted)
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

pub fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut hops: Vec<&str> = Vec::new();
    for value in req.headers().get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return Some(peer);
        };
        hops.extend(value.split(','));
    }
    let mut nearest = peer;
    for hop in hops.iter().rev().take(32) {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(&ip) => nearest = ip,
            Ok(ip) => return Some(ip),
            // A hop we cannot read: the last trusted one is the best we know.
            Err(_) => return Some(nearest),
        }
    }
    Some(nearest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_from_serde_message("unknown field `colour`, expected one of `a`, `b`"),
            "colour"
        );
        assert_eq!(field_from_serde_message("missing field `goal`"), "goal");
        assert_eq!(field_from_serde_message("invalid type: integer"), "body");
        assert_eq!(
            clean_serde_message("missing field `goal` at line 1 column 2"),
            "missing field `goal`"
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        lat: f64,
    }

    fn field_of(json: &str) -> (u16, String) {
        match parse_json::<Outer>(json.as_bytes()) {
            Ok(_) => (200, String::new()),
            Err(ApiError::Validation(e)) => (422, e[0].field.clone()),
            Err(ApiError::BadRequest { .. }) => (400, String::new()),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_offending_field() {
        assert_eq!(field_of(r#"{"name":"a","inner":{"lat":1}}"#).0, 200);
        assert_eq!(
            field_of(r#"{"name":"a","inner":{"lat":"x"}}"#),
            (422, "inner.lat".into())
        );
        assert_eq!(
            field_of(r#"{"name":"a","inner":{"lat":1,"lon":2}}"#),
            (422, "inner.lon".into())
        );
        assert_eq!(
            field_of(r#"{"name":"a","inner":{"lat":1},"x":1}"#),
            (422, "x".into())
        );
        assert_eq!(field_of(r#"{"inner":{"lat":1}}"#), (422, "name".into()));
        assert_eq!(
            field_of(r#"{"name":"a","inner":{}}"#),
            (422, "inner.lat".into())
        );
        assert_eq!(field_of(r#""hello""#), (422, "body".into()));
        assert_eq!(field_of(r#"{"name":"a""#).0, 400);
        assert_eq!(
            field_of(r#"{"name":"a","inner":{"lat":1}} trailing"#).0,
            400
        );
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(check_limit(None).unwrap(), 50);
        assert_eq!(check_limit(Some(200)).unwrap(), 200);
        assert!(check_limit(Some(0)).is_err());
        assert!(check_limit(Some(201)).is_err());
    }
}
