//! One error type for the HTTP edge, rendered as RFC 9457 `application/problem+json`.
//! Internal details are logged here and never returned.

use crate::db::DbError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URN naming the problem type, e.g. `urn:cofund:problem:validation_failed`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("missing, invalid or expired credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403 with a code of its own: allowed in general, refused by a rule (four eyes).
    #[error("{detail}")]
    Refused { code: &'static str, detail: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A known path, another method: the methods it takes.
    #[error("this resource takes {0}")]
    MethodNotAllowed(String),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// Text that can never be stored: a NUL character or bytes that are not UTF-8.
    #[error("{field} {message}")]
    InvalidText {
        field: String,
        message: &'static str,
    },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many requests; retry later")]
    RateLimited(Duration),
    #[error("the database is unavailable; retry later")]
    Unavailable,
    #[error("the payment provider is unavailable; retry with the same Idempotency-Key")]
    ProviderUnavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl std::fmt::Display) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn refused(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Refused {
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code: "bad_request",
            detail: detail.into(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Refused { code, .. } => code,
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::Validation(_) => "validation_failed",
            ApiError::InvalidText { .. } => "invalid_text",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unavailable => "database_unavailable",
            ApiError::ProviderUnavailable => "payment_provider_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Refused { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Validation(_) | ApiError::InvalidText { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ProviderUnavailable => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable => tracing::warn!("database unavailable"),
            _ => {}
        }
        let problem = Problem {
            type_: format!("urn:cofund:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code().to_string(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                ApiError::InvalidText { field, message } => {
                    Some(vec![FieldError::new(field.clone(), message)])
                }
                _ => None,
            },
        };
        let mut builder = HttpResponse::build(status);
        builder.content_type("application/problem+json");
        match self {
            ApiError::Unauthorized => {
                builder.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::RateLimited(retry) => {
                builder.insert_header(("Retry-After", retry.as_secs().max(1).to_string()));
            }
            ApiError::Unavailable => {
                builder.insert_header(("Retry-After", "5"));
            }
            ApiError::MethodNotAllowed(methods) => {
                builder.insert_header(("Allow", methods.as_str()));
            }
            _ => {}
        }
        builder.json(problem)
    }
}

impl From<crate::app::campaigns::CampaignError> for ApiError {
    fn from(e: crate::app::campaigns::CampaignError) -> ApiError {
        use crate::app::campaigns::CampaignError as E;
        match e {
            E::NotFound => ApiError::NotFound("campaign"),
            E::Forbidden(why) => ApiError::Forbidden(why),
            E::IllegalState(detail) => ApiError::conflict("illegal_state_transition", detail),
            e @ E::Concurrent => ApiError::conflict("concurrent_update", e.to_string()),
            e @ E::BudgetExhausted => ApiError::conflict("budget_exhausted", e.to_string()),
            E::Conflict(code, detail) => ApiError::conflict(code, detail),
            E::Invalid(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|i| FieldError::new(i.field, i.message))
                    .collect(),
            ),
            e @ E::Corrupt(_) => ApiError::Internal(e.to_string()),
            E::Db(e) => e.into(),
        }
    }
}

impl From<Vec<crate::app::Invalid>> for ApiError {
    fn from(errors: Vec<crate::app::Invalid>) -> ApiError {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|i| FieldError::new(i.field, i.message))
                .collect(),
        )
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        match e {
            DbError::Unavailable(detail) => {
                tracing::warn!(%detail, "database pool unavailable");
                ApiError::Unavailable
            }
            DbError::Query(q) => q.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::db::errors::QueryError> for ApiError {
    fn from(e: crate::db::errors::QueryError) -> ApiError {
        use crate::db::errors::{DbErrorKind, classify};
        match classify(&e) {
            DbErrorKind::NotFound => ApiError::NotFound("resource"),
            DbErrorKind::UniqueViolation => ApiError::conflict(
                "already_exists",
                "a resource with these values already exists",
            ),
            DbErrorKind::Unavailable => ApiError::Unavailable,
            DbErrorKind::Other(detail) => ApiError::Internal(detail),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
