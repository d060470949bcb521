//! The pages' message catalogue: one Fluent file per language (`locales/it.ftl`,
//! `locales/en.ftl`), compiled into the binary and parsed once. A test proves both languages
//! carry the same keys.

use crate::domain::money::Currency;
use crate::locale::{self, Lang};
use chrono::{NaiveDate, NaiveDateTime};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;

pub const IT_FTL: &str = include_str!("../../../locales/it.ftl");
pub const EN_FTL: &str = include_str!("../../../locales/en.ftl");

struct Catalog {
    it: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, source: &str) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = lang.parse().expect("a language id");
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Numbers and names go in as they are: no Unicode isolation marks around them.
    b.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_string()).expect("a valid .ftl file");
    b.add_resource(resource).expect("no duplicate message");
    b
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog {
        it: bundle("it", IT_FTL),
        en: bundle("en", EN_FTL),
    })
}

/// The language a page speaks: `?lang=`, else the first of `Accept-Language` we speak, else
/// Italian.
pub fn negotiate(asked: Option<&str>, accept_language: Option<&str>) -> &'static str {
    match asked {
        Some("en") => return "en",
        Some("it") => return "it",
        _ => {}
    }
    for part in accept_language.unwrap_or("").split(',') {
        let tag = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag.starts_with("it") {
            return "it";
        }
        if tag.starts_with("en") {
            return "en";
        }
    }
    "it"
}

/// Translations for one language, handed to the templates.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: &'static str,
}

impl Tr {
    pub fn new(lang: &'static str) -> Tr {
        Tr { lang }
    }

    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        if self.lang == "en" {
            &catalog().en
        } else {
            &catalog().it
        }
    }

    /// The message `key`; the key itself when missing (the test keeps that from shipping).
    pub fn get(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one argument `name` = `value`.
    pub fn with(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_string(), FluentValue::from(value.to_string()));
        self.format(key, Some(&args))
    }

    /// The message `key` with several arguments.
    pub fn args(&self, key: &str, values: &[(&str, &str)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            args.set(name.to_string(), FluentValue::from(value.to_string()));
        }
        self.format(key, Some(&args))
    }

    /// The message `key` for `n` things: `$count` (a number, so a message can choose its plural
    /// form) and `$shown` (the count with the language's grouping), plus `values`.
    pub fn count_with(&self, key: &str, n: i64, values: &[(&str, &str)]) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(n));
        args.set("shown", FluentValue::from(self.number(n)));
        for (name, value) in values {
            args.set(name.to_string(), FluentValue::from(value.to_string()));
        }
        self.format(key, Some(&args))
    }

    /// [`Tr::count_with`] with no other argument.
    pub fn count(&self, key: &str, n: i64) -> String {
        self.count_with(key, n, &[])
    }

    pub fn lang(&self) -> Lang {
        Lang::from_code(self.lang)
    }

    /// Minor units for a reader of this language: `600.000,00 €` / `€600,000.00`.
    pub fn money(&self, minor: i64, currency: &Currency) -> String {
        locale::money(self.lang(), minor, *currency)
    }

    /// An amount as the API writes it (`"600000.00"`, `"EUR"`) for a reader of this language.
    pub fn amount(&self, amount: &str, currency: &str) -> String {
        locale::api_amount(self.lang(), amount, currency)
    }

    /// A day: `6 dicembre 2026` / `6 December 2026`.
    pub fn date(&self, day: NaiveDate) -> String {
        locale::date(self.lang(), day)
    }

    /// A moment, in UTC with the zone named.
    pub fn moment(&self, at: NaiveDateTime) -> String {
        locale::date_time(self.lang(), at)
    }

    /// A count with the language's grouping.
    pub fn number(&self, n: i64) -> String {
        locale::number(self.lang(), n)
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let b = self.bundle();
        let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
            return key.to_string();
        };
        let mut errors = Vec::new();
        b.format_pattern(pattern, args, &mut errors).into_owned()
    }
}

/// Message ids of a Fluent source.
pub fn keys(source: &str) -> Vec<String> {
    let resource = FluentResource::try_new(source.to_string()).expect("a valid .ftl file");
    let mut keys: Vec<String> = resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn italian_and_english_carry_the_same_keys() {
        let (it, en) = (keys(IT_FTL), keys(EN_FTL));
        let only_it: Vec<&String> = it.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<&String> = en.iter().filter(|k| !it.contains(k)).collect();
        assert!(only_it.is_empty(), "missing in English: {only_it:?}");
        assert!(only_en.is_empty(), "missing in Italian: {only_en:?}");
        assert!(it.len() > 50);
    }

    #[test]
    fn every_key_the_templates_use_exists() {
        let sources = [
            include_str!("../../../templates/layout.html"),
            include_str!("../../../templates/home.html"),
            include_str!("../../../templates/campaign.html"),
            include_str!("../../../templates/areas.html"),
            include_str!("../../../templates/transparency.html"),
            include_str!("../../../templates/login.html"),
            include_str!("../../../templates/console.html"),
            include_str!("../../../templates/donate.html"),
            include_str!("../../../templates/error.html"),
            include_str!("../../../templates/secrets.html"),
            include_str!("../../../templates/edit.html"),
            include_str!("../../../templates/grants.html"),
            include_str!("../../../templates/grant.html"),
            include_str!("../../../templates/bank_transfers.html"),
            include_str!("../../../templates/bank_entries.html"),
            include_str!("../../../templates/transfer.html"),
            include_str!("common.rs"),
            include_str!("public.rs"),
            include_str!("session.rs"),
            include_str!("console.rs"),
            include_str!("console_association.rs"),
            include_str!("console_finance.rs"),
            include_str!("console_admin.rs"),
            include_str!("console_grants.rs"),
            include_str!("console_bank.rs"),
            include_str!("association.rs"),
            include_str!("finance.rs"),
            include_str!("admin.rs"),
        ];
        let known = keys(IT_FTL);
        for source in sources {
            let pieces = source
                .split("t.get(\"")
                .skip(1)
                .chain(source.split("t.with(\"").skip(1))
                .chain(source.split("t.args(\"").skip(1));
            for piece in pieces {
                let key = piece.split('"').next().unwrap();
                assert!(known.iter().any(|k| k == key), "unknown message key {key}");
            }
        }
    }

    #[test]
    fn the_language_follows_the_query_then_the_browser() {
        assert_eq!(negotiate(Some("en"), Some("it-IT")), "en");
        assert_eq!(negotiate(None, Some("en-GB,en;q=0.9")), "en");
        assert_eq!(negotiate(None, Some("fr-FR, it;q=0.5")), "it");
        assert_eq!(negotiate(Some("fr"), None), "it");
        assert_eq!(
            Tr::new("en").with("home-title", "city", "Torino"),
            "Live campaigns"
        );
        assert_eq!(Tr::new("it").get("no-such-key"), "no-such-key");
    }
}
