//! Who is calling: the verified bearer token's subject, role and scope.

use crate::domain::role::Role;

/// Who is calling, from a verified bearer token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
    pub association_id: Option<String>,
    pub partner_id: Option<String>,
}

/// The caller's role may not do this (403 at the HTTP edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("your role may not do this")]
pub struct Forbidden;

impl Principal {
    /// Forbidden unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Forbidden> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Forbidden)
        }
    }

    /// True when the caller is a member of `association_id`.
    pub fn is_member_of(&self, association_id: &str) -> bool {
        self.role == Role::Association && self.association_id.as_deref() == Some(association_id)
    }
}
