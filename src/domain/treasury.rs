//! What an Italian municipality's treasurer needs to pay a public funder's batch: the fields
//! of a *mandato di pagamento* (OPI, SIOPE+), one line per beneficiary. The mapping from
//! cofund's data to the OPI field names is documented in `docs/public-finance.md`.

/// The longest `causale` an OPI payment order carries.
pub const CAUSALE_MAX_CHARS: usize = 140;

/// The reason a grant carries no CIG: contributions to third-sector associations under a
/// public call are not procurement, so traceability's CIG does not apply (ANAC determinazione
/// 4/2011, §3.6). Check the exact enumeration your treasurer's OPI version expects.
pub const CIG_EXCLUSION_GRANT: &str = "CONTRIBUTI_NON_SOGGETTI_TRACCIABILITA";

/// `s` cut to at most `max` characters (never inside a character), whitespace collapsed.
pub fn clip_chars(s: &str, max: usize) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((at, _)) => collapsed[..at].trim_end().to_string(),
        None => collapsed,
    }
}

/// The payment's reason, at most 140 characters: the fund, its CUP and the campaigns paid.
/// The fund and CUP come first so that truncation only ever shortens the campaign list.
pub fn causale(fund_name: &str, cup: Option<&str>, campaigns: &[&str]) -> String {
    let mut s = format!("Contributo {fund_name}");
    if let Some(cup) = cup {
        s.push_str(&format!(" CUP {cup}"));
    }
    if !campaigns.is_empty() {
        s.push_str(" - progetti: ");
        s.push_str(&campaigns.join("; "));
    }
    clip_chars(&s, CAUSALE_MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn causale_names_fund_cup_and_campaigns() {
        assert_eq!(
            causale(
                "Bando Quartieri",
                Some("J11B22000120004"),
                &["Orti", "Biblioteca"]
            ),
            "Contributo Bando Quartieri CUP J11B22000120004 - progetti: Orti; Biblioteca"
        );
        assert_eq!(causale("Bando", None, &[]), "Contributo Bando");
    }

    #[test]
    fn long_causale_is_cut_at_140_characters_not_bytes() {
        let titles = ["Città più verde è già qui".repeat(4), "Caffè".to_string()];
        let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
        let c = causale("Fondo periferie", Some("J11B22000120004"), &refs);
        // Cut at 140 characters, less a trailing space.
        assert!((139..=140).contains(&c.chars().count()), "{c}");
        assert!(c.starts_with("Contributo Fondo periferie CUP J11B22000120004"));
        // Cutting a byte string at 140 would have split an accented letter.
        assert!(c.len() > 140);
    }

    proptest! {
        #[test]
        fn clipped_text_is_a_prefix_of_at_most_max_chars(s in "\\PC{0,300}", max in 1usize..200) {
            let out = clip_chars(&s, max);
            prop_assert!(out.chars().count() <= max);
            let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
            prop_assert!(collapsed.starts_with(&out));
        }
    }
}
