//! Signing in and out of the console.

use super::common::CsrfOnly;
use super::{Ctx, PageResult, check_csrf, context, html, redirect};
use crate::app::AppState;
use crate::http::error::ApiError;
use actix_session::Session;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    error: Option<String>,
}

pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    html(LoginPage { ctx, error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub csrf_token: String,
    pub username: String,
    pub password: String,
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<LoginForm>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    let form = form.into_inner();
    check_csrf(&ctx, &form.csrf_token)?;
    let ip = crate::http::extract::client_key(&req, &state.config.trusted_proxies);
    let grant = crate::http::controllers::auth::Grant::Password {
        username: form.username,
        password: form.password,
    };
    match crate::http::controllers::auth::sign_in(&state, &ip, grant).await {
        Ok(token) => {
            // The API's sign-in door issued a token for the user: the console keeps a session on
            // the server instead (the token is read for its subject and dropped), and the cookie
            // carries only the session's id.
            let claims = state
                .tokens
                .verify(&token)
                .ok_or_else(|| ctx.fail(ApiError::Internal("fresh token".into())))?;
            let ttl = chrono::TimeDelta::seconds(state.tokens.ttl_secs() as i64);
            let sid = crate::app::sessions::open(&state, claims.sub, ttl)
                .await
                .map_err(|e| ctx.fail(e.into()))?;
            // A new session (and CSRF token) on every sign-in: nothing chosen before it survives,
            // and the one this browser had (if any) ends on the server.
            if let Ok(Some(old)) = session.get::<String>("sid") {
                crate::app::sessions::close(&state, &old)
                    .await
                    .map_err(|e| ctx.fail(e.into()))?;
            }
            session.renew();
            session
                .insert("sid", sid)
                .map_err(|_| ctx.fail(ApiError::Internal("session".into())))?;
            session.remove("csrf");
            Ok(redirect("/console"))
        }
        Err(ApiError::Unauthorized) => {
            let error = Some(ctx.t.get("login-failed"));
            let mut res = html(LoginPage { ctx, error })?;
            *res.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
            Ok(res)
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    let (ctx, _) = context(&state, &req, &session);
    check_csrf(&ctx, &form.csrf_token)?;
    // Ended on the server first: a copy of the cookie opens nothing after this.
    if let Ok(Some(sid)) = session.get::<String>("sid") {
        crate::app::sessions::close(&state, &sid)
            .await
            .map_err(|e| ctx.fail(e.into()))?;
    }
    session.purge();
    Ok(redirect("/"))
}
