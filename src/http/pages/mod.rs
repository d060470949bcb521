//! Server-rendered pages (the public site and the console) from the same binary, on the same
//! use cases and checks as the API. Sessions are kept on the server (`app::sessions`): the
//! private (encrypted) HttpOnly cookie carries the session's random id, so signing out ends it
//! everywhere at once and a page is allowed exactly what the API would allow its user, a
//! disabled user refused at once; the session is resolved before any handler reads a body, and
//! a console form of nobody signed in is refused unread. Every form carries the session's CSRF
//! token; pages load nothing from another host and run no script (the Content-Security-Policy
//! says so).

mod admin;
mod association;
mod calls;
mod common;
mod console;
mod console_admin;
mod console_association;
mod console_bank;
mod console_finance;
mod console_grant_reports;
mod console_grants;
mod console_nav;
mod console_routes;
mod donor_receipts;
mod finance;
pub mod i18n;
mod public;
mod session;

use crate::app::AppState;
use crate::config::Config;
use crate::http::error::ApiError;
use crate::http::extract::Principal;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use i18n::Tr;
use sha2::{Digest, Sha512};

/// What every page's layout needs.
pub struct Ctx {
    pub t: Tr,
    pub lang: &'static str,
    /// The signed-in user's role, as shown in the navigation.
    pub user: Option<String>,
    pub csrf: String,
    /// The console's sections for the signed-in role, on a console page; otherwise empty.
    pub console_nav: Vec<console_nav::NavItem>,
}

impl Ctx {
    /// An error page in this page's language.
    pub fn fail(&self, e: ApiError) -> PageError {
        PageError::from_api(self.lang, e)
    }
}

pub type PageResult = Result<HttpResponse, PageError>;

/// A failure shown as a page (never JSON), with no internal detail.
#[derive(Debug)]
pub struct PageError {
    lang: &'static str,
    status: StatusCode,
    message: String,
    details: Vec<String>,
}

impl PageError {
    pub fn from_api(lang: &'static str, e: ApiError) -> PageError {
        if let ApiError::Internal(detail) = &e {
            tracing::error!(%detail, "internal error on a page");
        }
        let details = match &e {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect(),
            ApiError::InvalidText { field, message } => vec![format!("{field}: {message}")],
            _ => Vec::new(),
        };
        PageError {
            lang,
            status: e.status_code(),
            message: e.to_string(),
            details,
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: Ctx,
    title: String,
    message: String,
    details: Vec<String>,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let t = Tr::new(self.lang);
        let key = format!("error-{}", self.status.as_u16());
        let title = match t.get(&key) {
            s if s == key => t.get("error-generic"),
            s => s,
        };
        let page = ErrorPage {
            title,
            message: self.message.clone(),
            details: self.details.clone(),
            ctx: Ctx {
                t,
                lang: self.lang,
                user: None,
                csrf: String::new(),
                console_nav: Vec::new(),
            },
        };
        let body = page.render().unwrap_or_else(|_| self.message.clone());
        let mut res = HttpResponse::build(self.status);
        secure_headers(&mut res);
        res.content_type("text/html; charset=utf-8").body(body)
    }
}

/// What pages may load: only this host's stylesheet and images; no script, no frames.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

fn secure_headers(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header(("Cache-Control", "no-store"));
}

/// Renders a page.
pub fn html<T: Template>(page: T) -> PageResult {
    let body = page
        .render()
        .map_err(|e| PageError::from_api("it", ApiError::Internal(format!("template: {e}"))))?;
    let mut res = HttpResponse::Ok();
    secure_headers(&mut res);
    Ok(res.content_type("text/html; charset=utf-8").body(body))
}

/// After a form: see the result (POST, redirect, GET).
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to.to_string()))
        .finish()
}

fn query_lang(req: &HttpRequest) -> Option<&str> {
    req.query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
}

/// The page's language: `?lang=`, else the one the session kept, else `Accept-Language`.
fn page_lang(req: &HttpRequest, session: &Session) -> &'static str {
    let accept = req
        .headers()
        .get("Accept-Language")
        .and_then(|v| v.to_str().ok());
    match (query_lang(req), session.get::<String>("lang")) {
        (None, Ok(Some(kept))) => i18n::negotiate(Some(&kept), None),
        (asked, _) => i18n::negotiate(asked, accept),
    }
}

/// Who the request's session stands for, as [`resolve_session`] found it before the handler.
#[derive(Clone)]
struct SignedIn(Option<Principal>);

/// The page's language, the signed-in principal (if the session still holds on the server)
/// and the session's CSRF token (made on first use).
pub fn context(
    _state: &AppState,
    req: &HttpRequest,
    session: &Session,
) -> (Ctx, Option<Principal>) {
    let lang = page_lang(req, session);
    // A language picked with ?lang= sticks for the session.
    if query_lang(req).is_some() {
        let _ = session.insert("lang", lang);
    }
    let principal = req.extensions().get::<SignedIn>().and_then(|s| s.0.clone());
    let csrf = match session.get::<String>("csrf") {
        Ok(Some(c)) => c,
        _ => {
            let c = crate::domain::ids::random_secret("csrf", 24);
            let _ = session.insert("csrf", &c);
            c
        }
    };
    let t = Tr::new(lang);
    let ctx = Ctx {
        user: principal
            .as_ref()
            .map(|p| t.get(&format!("role-{}", p.role.as_str()))),
        console_nav: principal
            .as_ref()
            .map(|p| console_nav::console_nav(&t, p.role, req.path()))
            .unwrap_or_default(),
        t,
        lang,
        csrf,
    };
    (ctx, principal)
}

/// Like [`context`] for pages that need a signed-in user: 401 page otherwise.
pub fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    session: &Session,
) -> Result<(Ctx, Principal), PageError> {
    let (ctx, principal) = context(state, req, session);
    match principal {
        Some(p) => Ok((ctx, p)),
        None => Err(ctx.fail(ApiError::Unauthorized)),
    }
}

/// A signed-in user's form: [`signed_in`], then its CSRF token checked (401, then 403).
// A helper, not a `FromRequest` extractor: the token is in the body, each form parsed its own way.
pub fn signed_form(
    state: &AppState,
    req: &HttpRequest,
    session: &Session,
    csrf_token: &str,
) -> Result<(Ctx, Principal), PageError> {
    let (ctx, principal) = signed_in(state, req, session)?;
    check_csrf(&ctx, csrf_token)?;
    Ok((ctx, principal))
}

/// A form's CSRF token must be the session's (compared in constant time).
pub fn check_csrf(ctx: &Ctx, sent: &str) -> Result<(), PageError> {
    let (a, b) = (ctx.csrf.as_bytes(), sent.as_bytes());
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same && !a.is_empty() {
        Ok(())
    } else {
        Err(ctx.fail(ApiError::Forbidden(
            "the form expired or did not come from this site: reload the page and try again",
        )))
    }
}

/// An error refused before routing: a page for a browser asking for a page (not under `/v1/`,
/// `Accept: text/html`), problem+json otherwise.
pub fn error_for(req: &HttpRequest, e: ApiError) -> HttpResponse {
    let accept = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let page = !req.path().starts_with("/v1/")
        && accept("Accept").is_some_and(|a| a.contains("text/html"));
    if !page {
        return e.error_response();
    }
    PageError::from_api(
        i18n::negotiate(query_lang(req), accept("Accept-Language")),
        e,
    )
    .error_response()
}

/// A form that could not be read: `422 invalid_text` for a NUL or bytes that are not UTF-8
/// (see `http::text`), else what actix says (400, 413, 415), as a page.
fn form_error(err: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError;
    match &err {
        UrlencodedError::Payload(p) if crate::http::text::is_bad_form_text(p) => {
            let api = ApiError::InvalidText {
                field: "form".into(),
                message: "must be UTF-8 text without NUL characters",
            };
            actix_web::error::InternalError::from_response(err, error_for(req, api)).into()
        }
        _ => err.into(),
    }
}

/// The 404 page for a path nothing serves, in the browser's language.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    let accept = req
        .headers()
        .get("Accept-Language")
        .and_then(|v| v.to_str().ok());
    PageError::from_api(
        i18n::negotiate(query_lang(req), accept),
        ApiError::NotFound("page"),
    )
    .error_response()
}

/// The site's icon: an SVG for browsers that read `<link rel="icon">`, and the classic
/// `/favicon.ico` every browser asks for on its own.
async fn favicon_svg() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(include_str!("../../../static/favicon.svg"))
}

async fn favicon_ico() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(&include_bytes!("../../../static/favicon.ico")[..])
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/app.css"))
}

/// The console's form routes that only an admin may use and whose bodies are large: refused
/// before their body is read to anyone else.
const ADMIN_ONLY_LARGE_FORMS: [&str; 1] = ["/console/admin/areas"];

/// Runs before every page's handler (inside the session middleware, before any extractor
/// reads the body): finds who the session's id stands for on the server and keeps it for
/// [`context`]; a console form sent by nobody signed in is answered 401 unread, and a large
/// admin form sent by anyone but an admin 403 unread.
async fn resolve_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    use actix_session::SessionExt;
    let session = req.get_session();
    // Sessions from before the server kept them carried a token: they end here.
    if session.get::<String>("token").ok().flatten().is_some() {
        session.remove("token");
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let sid = session.get::<String>("sid").ok().flatten();
    let principal = match (state, sid) {
        (Some(state), Some(sid)) => match crate::app::sessions::principal(&state, &sid).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                // Signed out, expired, or the user disabled: the session ends.
                session.remove("sid");
                None
            }
            Err(e) => {
                let lang = page_lang(req.request(), &session);
                let page = PageError::from_api(lang, e.into()).error_response();
                return Ok(req.into_response(page));
            }
        },
        _ => None,
    };
    let is_form = req.method() == actix_web::http::Method::POST;
    let path = req.path().to_string();
    let refusal = if is_form && path.starts_with("/console") {
        match &principal {
            None => Some(ApiError::Unauthorized),
            Some(p) if ADMIN_ONLY_LARGE_FORMS.contains(&path.as_str()) => p
                .require(&[crate::domain::role::Role::Admin])
                .err()
                .map(ApiError::from),
            Some(_) => None,
        }
    } else {
        None
    };
    if let Some(e) = refusal {
        let lang = page_lang(req.request(), &session);
        let page = PageError::from_api(lang, e).error_response();
        return Ok(req.into_response(page));
    }
    req.extensions_mut().insert(SignedIn(principal));
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// The session cookie's key, derived from the token-signing secret (so replicas agree).
fn session_key(config: &Config) -> Key {
    let mut h = Sha512::new();
    h.update(b"cofund console session v1");
    h.update(&config.jwt.secret);
    Key::from(&h.finalize())
}

/// The pages, with their session middleware; registered after the API.
pub fn scope(
    config: std::sync::Arc<Config>,
) -> actix_web::Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(CookieSessionStore::default(), session_key(&config))
        .cookie_name("cofund_session".to_string())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        // Secure whenever COFUND_PUBLIC_URL is https://.
        .cookie_secure(config.cookie_secure)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(BrowserSession::default())
        .build();
    web::scope("")
        .app_data(
            web::FormConfig::default()
                .limit(16 * 1024)
                .error_handler(form_error),
        )
        .route("/", web::get().to(public::home))
        .route("/static/app.css", web::get().to(stylesheet))
        .route("/static/favicon.svg", web::get().to(favicon_svg))
        .route("/favicon.ico", web::get().to(favicon_ico))
        .route("/campaigns/{id}", web::get().to(public::campaign))
        .route(
            "/campaigns/{id}/donate",
            web::get().to(association::donate_form),
        )
        .route(
            "/campaigns/{id}/donate",
            web::post().to(association::donate),
        )
        .route("/areas", web::get().to(public::areas_page))
        .route("/areas/map.svg", web::get().to(public::map_svg))
        .route("/transparency", web::get().to(public::transparency))
        .route("/receipts", web::get().to(donor_receipts::ask))
        .route("/receipts", web::post().to(donor_receipts::send_link))
        .route("/receipts/{token}", web::get().to(donor_receipts::confirm))
        .route("/receipts/{token}", web::post().to(donor_receipts::open))
        .route("/calls/{id}", web::get().to(calls::public))
        .route("/login", web::get().to(session::login_form))
        .route("/login", web::post().to(session::login))
        .route("/logout", web::post().to(session::logout))
        .configure(console_routes::register)
        .wrap(from_fn(resolve_session))
        .wrap(sessions)
}
