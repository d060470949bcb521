//! `POST /v1/auth/token`: password grant for users, client credentials for partner frontends.

use crate::app::AppState;
use crate::auth::token::Subject;
use crate::auth::verify_secret;
use crate::db::schema::{partners, users};
use crate::domain::role::Role;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, client_ip};
use actix_web::{HttpRequest, HttpResponse, post, web};
use diesel::prelude::*;
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

pub(crate) enum Grant {
    Password { username: String, password: String },
    Client { client_id: String, secret: String },
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
    let ip = client_ip(&req, &state.config.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let access_token = sign_in(&state, &ip, grant).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.tokens.ttl_secs(),
        }))
}

/// Checks a grant under the sign-in back-off and the per-address limit and issues a token:
/// the one door for the API's token endpoint and the console's login form.
pub(crate) async fn sign_in(state: &AppState, ip: &str, grant: Grant) -> ApiResult<String> {
    let ip = ip.to_string();
    let name = match &grant {
        Grant::Password { username, .. } => format!("user|{username}"),
        Grant::Client { client_id, .. } => format!("client|{client_id}"),
    };
    state
        .sign_in_backoff
        .check(&name)
        .map_err(ApiError::RateLimited)?;
    state
        .token_ip_limiter
        .check(&ip)
        .map_err(ApiError::RateLimited)?;

    // The stored hash is read on a pooled connection; the (deliberately slow) hash check runs
    // after the connection went back to the pool.
    let (secret, found) = state
        .db
        .run(
            move |conn| -> ApiResult<(String, Option<(String, Subject)>)> {
                Ok(match grant {
                    Grant::Password { username, password } => {
                        let user: Option<(String, String, String, Option<String>)> = users::table
                            .filter(users::username.eq(&username))
                            .filter(users::disabled_at.is_null())
                            .select((
                                users::id,
                                users::password_hash,
                                users::role,
                                users::association_id,
                            ))
                            .first(conn)
                            .optional()?;
                        let found = user.and_then(|(id, hash, role, association_id)| {
                            Role::parse(&role).map(|role| {
                                (
                                    hash,
                                    Subject {
                                        sub: id,
                                        role,
                                        association_id,
                                        partner_id: None,
                                    },
                                )
                            })
                        });
                        (password, found)
                    }
                    Grant::Client { client_id, secret } => {
                        let partner: Option<(String, String)> = partners::table
                            .filter(partners::client_id.eq(&client_id))
                            .filter(partners::disabled_at.is_null())
                            .select((partners::id, partners::client_secret_hash))
                            .first(conn)
                            .optional()?;
                        let found = partner.map(|(id, hash)| {
                            (
                                hash,
                                Subject {
                                    sub: id.clone(),
                                    role: Role::Partner,
                                    association_id: None,
                                    partner_id: Some(id),
                                },
                            )
                        });
                        (secret, found)
                    }
                })
            },
        )
        .await?;
    let subject = tokio::task::spawn_blocking(move || {
        // Unknown names are checked against a dummy hash too: the answer takes as long.
        let ok = verify_secret(&secret, found.as_ref().map(|(hash, _)| hash.as_str()));
        found.filter(|_| ok).map(|(_, subject)| subject)
    })
    .await
    .map_err(|_| ApiError::Internal("password check".into()))?;
    let Some(subject) = subject else {
        state.sign_in_backoff.failed(&name);
        tracing::info!("token request with wrong credentials");
        return Err(ApiError::Unauthorized);
    };
    state.sign_in_backoff.succeeded(&name);
    Ok(state.tokens.issue(subject))
}
