//! The transparency register (D.Lgs. 33/2013 art. 26-27): a grant of public money takes
//! effect only once published with the act it rests on, the office and official in charge and
//! how the beneficiary was chosen.

/// What the register must show about a fund's grants, as the fund holds it.
pub struct RegisterFields<'a> {
    pub legal_basis: Option<&'a str>,
    pub office: Option<&'a str>,
    pub responsible_official: Option<&'a str>,
    pub selection_method: Option<&'a str>,
}

impl RegisterFields<'_> {
    /// The fields still missing (empty when the fund's grants can be published).
    pub fn missing(&self) -> Vec<&'static str> {
        let blank = |v: Option<&str>| v.is_none_or(|s| s.trim().is_empty());
        [
            ("legal_basis", self.legal_basis),
            ("office", self.office),
            ("responsible_official", self.responsible_official),
            ("selection_method", self.selection_method),
        ]
        .into_iter()
        .filter(|(_, v)| blank(*v))
        .map(|(name, _)| name)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_publishable_only_with_all_four_fields() {
        let full = RegisterFields {
            legal_basis: Some("Delibera G.C. 123/2026"),
            office: Some("Divisione Servizi Sociali"),
            responsible_official: Some("Dott.ssa Rossi"),
            selection_method: Some("Avviso pubblico"),
        };
        assert!(full.missing().is_empty());
        let gaps = RegisterFields {
            legal_basis: None,
            office: Some("  "),
            ..full
        };
        assert_eq!(gaps.missing(), vec!["legal_basis", "office"]);
    }
}
