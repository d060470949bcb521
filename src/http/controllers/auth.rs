//! `POST /v1/auth/token`: password grant for users, client credentials for partner frontends.

use crate::app::AppState;
use crate::app::auth::AuthError;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, client_key};
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The token request as parsed: one struct, so a wrong combination of fields gets a precise
/// 422 naming the field. The contract documents it as [`TokenGrant`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub grant_type: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// A token request: a user's password grant or a partner client's credentials.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // documentation only; requests parse into `TokenRequest`
pub enum TokenGrant {
    Password(PasswordGrant),
    ClientCredentials(ClientCredentialsGrant),
}

/// A user signs in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PasswordGrant {
    pub grant_type: PasswordGrantType,
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

/// A partner's client authenticates.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ClientCredentialsGrant {
    pub grant_type: ClientCredentialsGrantType,
    #[schema(min_length = 1)]
    pub client_id: String,
    #[schema(min_length = 1)]
    pub client_secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum PasswordGrantType {
    Password,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ClientCredentialsGrantType {
    ClientCredentials,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires (at most 3600).
    pub expires_in: u64,
}

pub(crate) use crate::app::auth::Grant;

/// The HTTP answer to a sign-in's error.
fn to_api(e: AuthError) -> ApiError {
    match e {
        AuthError::RateLimited(retry) => ApiError::RateLimited(retry),
        AuthError::WrongCredentials => ApiError::Unauthorized,
        AuthError::CheckFailed => ApiError::Internal("password check".into()),
        AuthError::Db(e) => e.into(),
    }
}

fn parse_grant(body: TokenRequest) -> ApiResult<Grant> {
    let required = |v: Option<String>, field: &str| -> ApiResult<String> {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::validation(field, "is required for this grant_type"))
    };
    match body.grant_type.as_str() {
        "password" => {
            if body.client_id.is_some() || body.client_secret.is_some() {
                return Err(ApiError::validation(
                    "client_id",
                    "not allowed with grant_type password",
                ));
            }
            Ok(Grant::Password {
                username: required(body.username, "username")?,
                password: required(body.password, "password")?,
            })
        }
        "client_credentials" => {
            if body.username.is_some() || body.password.is_some() {
                return Err(ApiError::validation(
                    "username",
                    "not allowed with grant_type client_credentials",
                ));
            }
            Ok(Grant::Client {
                client_id: required(body.client_id, "client_id")?,
                secret: required(body.client_secret, "client_secret")?,
            })
        }
        _ => Err(ApiError::validation(
            "grant_type",
            "must be password or client_credentials",
        )),
    }
}

/// Issue an access token.
#[utoipa::path(
    tag = "auth",
    request_body = TokenGrant,
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 401, description = "Wrong credentials", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = crate::http::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let grant = parse_grant(body.into_inner())?;
    let ip = client_key(&req, &state.config.trusted_proxies);
    let access_token = sign_in(&state, &ip, grant).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.tokens.ttl_secs(),
        }))
}

/// Checks a grant under the sign-in back-off and the per-address limit and issues a token
/// ([`crate::app::auth::sign_in`]): the one door for the API's token endpoint and the console's
/// login form. Wrong credentials are [`ApiError::Unauthorized`].
pub(crate) async fn sign_in(state: &AppState, ip: &str, grant: Grant) -> ApiResult<String> {
    crate::app::auth::sign_in(state, ip, grant)
        .await
        .map_err(to_api)
}
