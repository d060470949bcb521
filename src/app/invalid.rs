//! A field a use case refused, and why (rendered at the edge as a validation error).

/// One refused field: its name (as the caller sent it, e.g. `donor.email`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Invalid {
        Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }
}
