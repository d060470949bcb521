//! The HTTP edge: application state, routing, middleware and the OpenAPI document.

pub mod contract;
pub mod controllers;
pub mod csv_out;
pub mod error;
pub mod extract;
pub mod pages;
pub mod text;
pub mod views;

pub use crate::app::{AppState, cache};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpMessage, web};
use std::time::Instant;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cofund",
        description = "Civic crowdfunding with public match funding. Money is a decimal string in the currency's minor unit precision (\"25.00\"); errors are RFC 9457 problem+json.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(error::Problem, error::FieldError)),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "areas", description = "Target areas"),
        (name = "funds", description = "Match funds"),
        (name = "associations", description = "Associations and their members"),
        (name = "partners", description = "Partner frontends"),
        (name = "users", description = "City staff accounts"),
        (name = "campaigns", description = "Campaigns and their lifecycle"),
        (name = "payments", description = "Pledges, payment-provider webhooks, donor data"),
        (name = "finance", description = "Ledger, reconciliation, settlement and the treasury"),
        (name = "grants", description = "Committed matches paid against the association's report: tranches, expenses, documents, approval, review, revocation, recovery"),
        (name = "bank transfers", description = "Donations by bank transfer: the association's camt.053 statements and the credits booked from them"),
        (name = "transparency", description = "The public award register (D.Lgs. 33/2013)"),
        (name = "receipts", description = "Donors' tax receipts and associations' yearly lists"),
        (name = "ops", description = "Health, readiness, metrics")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    controllers::configure(cfg);
}

/// The OpenAPI document, generated from the handlers that route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    contract::finish(api)
}

/// The pretty JSON committed at `openapi/openapi.json` and served at `/openapi.json`.
pub fn openapi_json() -> String {
    openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}

/// Marks the operators' listener (`COFUND_ADMIN_BIND`): `/metrics` is served there to anyone
/// who reaches it (elsewhere to an admin's token only).
pub struct AdminListener;

/// The operators' application: health, readiness and metrics, nothing else.
pub fn build_admin_app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(AdminListener))
        .service(controllers::ops::healthz)
        .service(controllers::ops::readyz)
        .service(controllers::ops::metrics)
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(error::ApiError::NotFound("route"))
        }))
}

/// Builds the actix application for `state`.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.metrics.clone();
    let config = state.config.clone();
    // Reached over HTTPS (COFUND_PUBLIC_URL): browsers are told to keep to it.
    let hsts = config.public_url.is_https();
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::Data::new(state))
        // Bodies are read by `extract::read_body` with each route's own limit; this bounds any
        // other extractor that might read one.
        .app_data(web::PayloadConfig::new(extract::JSON_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .configure(routes)
        .split_for_parts();
    let api = contract::finish(api);
    let table = std::sync::Arc::new(contract::RouteTable::from(&api));
    let spec = api
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n";
    app.route(
        "/openapi.json",
        web::get().to(move || {
            let spec = spec.clone();
            async move {
                actix_web::HttpResponse::Ok()
                    .content_type("application/json")
                    .body(spec)
            }
        }),
    )
    // `/docs` (what a reader types) goes to the reference itself, `/docs/`.
    .route(
        "/docs",
        web::get().to(|| async {
            actix_web::HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        }),
    )
    // Swagger UI from the crate's vendored copy: /docs/ works on a network with no way out.
    .service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
            .config(utoipa_swagger_ui::Config::from("/openapi.json")),
    )
    // The pages, after the API: only paths the API does not serve reach them.
    .service(pages::scope(config))
    .default_service(web::to(move |req: actix_web::HttpRequest| {
        // A documented path with another method is 405 (with the methods it takes), not 404.
        let allowed = table.allowed(req.path()).map(|m| m.join(", "));
        // A browser asking for a page that does not exist gets a page, not JSON.
        let page = allowed.is_none()
            && !req.path().starts_with("/v1/")
            && req
                .headers()
                .get("Accept")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"));
        let not_found_page = page.then(|| pages::not_found(&req));
        async move {
            if let Some(res) = not_found_page {
                return Ok(res);
            }
            Err::<actix_web::HttpResponse, _>(match allowed {
                Some(methods) => error::ApiError::MethodNotAllowed(methods),
                None => error::ApiError::NotFound("route"),
            })
        }
    }))
    // Text that can never be stored (a NUL character, bytes that are not UTF-8) in the path or
    // the query string is refused before routing, so before any query; a url-encoded body is
    // checked as the form extractors read it.
    .wrap_fn(|mut req, srv| {
        use actix_web::dev::Service;
        use futures_util::future::Either;
        text::checked_form_payload(&mut req);
        match text::guard_request(&req) {
            Ok(()) => Either::Left(srv.call(req)),
            Err(e) => {
                let res = pages::error_for(req.request(), e);
                Either::Right(std::future::ready(Ok(req.into_response(res))))
            }
        }
    })
    .wrap_fn(move |req, srv| {
        use actix_web::dev::Service;
        let started = Instant::now();
        let metrics = metrics.clone();
        let fut = srv.call(req);
        async move {
            let mut res = fut.await?;
            metrics.observe(res.status().as_u16(), started.elapsed().as_secs_f64());
            if hsts {
                res.headers_mut().insert(
                    actix_web::http::header::STRICT_TRANSPORT_SECURITY,
                    actix_web::http::header::HeaderValue::from_static("max-age=31536000"),
                );
            }
            // Echo the request id so a partner can quote it in a support ticket.
            let id = res
                .request()
                .extensions()
                .get::<tracing_actix_web::RequestId>()
                .map(|id| id.to_string());
            if let Some(id) = id
                && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&id)
            {
                res.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static("x-request-id"),
                    v,
                );
            }
            Ok(res)
        }
    })
    .wrap(tracing_actix_web::TracingLogger::default())
}
