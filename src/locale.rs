//! How people read money, numbers and dates in the two languages cofund speaks: Italian
//! (`600.000,00 €`, `6 dicembre 2026`) and British English (`€600,000.00`, `6 December 2026`).
//! Digits, grouping and month names come from ICU4X's CLDR data compiled into the binary; the
//! API keeps writing `"600000.00"` and ISO dates, which machines read.
//!
//! Times are stored in UTC and shown in UTC with the zone named, so nobody guesses.

use crate::domain::money::{Currency, MoneyError};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use icu_calendar::Iso;
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::input::{Date, DateTime, Time};
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::{Locale, locale};
use std::sync::OnceLock;

/// A language of the pages, e-mails and receipts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    It,
    En,
}

impl Lang {
    /// `en` is English; anything else is Italian, the cities' language.
    pub fn from_code(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::It }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    fn locale(self) -> Locale {
        match self {
            Lang::It => locale!("it"),
            // British English: day before month, as in the rest of Europe.
            Lang::En => locale!("en-GB"),
        }
    }

    fn formats(self) -> &'static Formats {
        static IT: OnceLock<Formats> = OnceLock::new();
        static EN: OnceLock<Formats> = OnceLock::new();
        let cell = match self {
            Lang::It => &IT,
            Lang::En => &EN,
        };
        cell.get_or_init(|| Formats::new(self.locale()))
    }
}

struct Formats {
    decimal: DecimalFormatter,
    date: DateTimeFormatter<YMD>,
    date_time: DateTimeFormatter<YMDT>,
}

impl Formats {
    fn new(locale: Locale) -> Formats {
        // The data for both locales is compiled in: these cannot fail for them.
        Formats {
            decimal: DecimalFormatter::try_new(locale.clone().into(), Default::default())
                .expect("compiled decimal data"),
            date: DateTimeFormatter::try_new(locale.clone().into(), YMD::long())
                .expect("compiled date data"),
            date_time: DateTimeFormatter::try_new(locale.into(), YMD::long().with_time_hm())
                .expect("compiled date data"),
        }
    }
}

/// A whole number with the language's grouping: 12345 → `12.345` / `12,345`.
pub fn number(lang: Lang, n: i64) -> String {
    lang.formats().decimal.format(&Decimal::from(n)).to_string()
}

/// Minor units with the currency's decimals and sign, in the language's style:
/// 60000000 EUR → `600.000,00 €` / `€600,000.00`; other currencies carry their code
/// (`1.234,00 CHF` / `CHF 1,234.00`).
pub fn money(lang: Lang, minor: i64, currency: Currency) -> String {
    let mut d = Decimal::from(minor.unsigned_abs());
    d.multiply_pow10(-(currency.decimals() as i16));
    let digits = lang.formats().decimal.format(&d).to_string();
    let sign = if minor < 0 { "-" } else { "" };
    let symbol = match currency.code() {
        "EUR" => "€",
        "GBP" => "£",
        other => other,
    };
    let is_symbol = symbol.chars().count() == 1;
    match (lang, is_symbol) {
        // CLDR's Italian pattern: the symbol after, with a no-break space.
        (Lang::It, _) => format!("{sign}{digits}\u{a0}{symbol}"),
        (Lang::En, true) => format!("{sign}{symbol}{digits}"),
        (Lang::En, false) => format!("{sign}{symbol}\u{a0}{digits}"),
    }
}

/// An amount as the API writes it (`"600000.00"`, `"-1.50"`) in a currency code, for people;
/// what is not such an amount comes back unchanged (it is shown, never lost).
pub fn api_amount(lang: Lang, amount: &str, currency: &str) -> String {
    match parse_api_amount(amount, currency) {
        Ok((minor, c)) => money(lang, minor, c),
        Err(_) => format!("{amount} {currency}"),
    }
}

fn parse_api_amount(amount: &str, currency: &str) -> Result<(i64, Currency), MoneyError> {
    let c = Currency::parse(currency)?;
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let minor = crate::domain::money::parse_non_negative_amount(digits, c)?;
    Ok((if negative { -minor } else { minor }, c))
}

/// A day: `6 dicembre 2026` / `6 December 2026`.
pub fn date(lang: Lang, day: NaiveDate) -> String {
    match iso_date(day) {
        Some(d) => lang.formats().date.format(&d).to_string(),
        None => day.to_string(),
    }
}

/// A moment, in UTC: `6 dicembre 2026 alle ore 09:05 UTC` / `6 December 2026 at 09:05 UTC`.
pub fn date_time(lang: Lang, at: NaiveDateTime) -> String {
    let (Some(date), Ok(time)) = (
        iso_date(at.date()),
        Time::try_new(at.hour() as u8, at.minute() as u8, 0, 0),
    ) else {
        return format!("{} UTC", at.format("%Y-%m-%d %H:%M"));
    };
    let shown = lang.formats().date_time.format(&DateTime { date, time });
    format!("{shown} UTC")
}

/// A day as the API or a stored payload writes it (`2026-12-06`), for people; anything else
/// comes back unchanged.
pub fn api_date(lang: Lang, day: &str) -> String {
    match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(d) => date(lang, d),
        Err(_) => day.to_string(),
    }
}

fn iso_date(day: NaiveDate) -> Option<Date<Iso>> {
    Date::try_new_iso(day.year(), day.month() as u8, day.day() as u8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur(minor: i64, lang: Lang) -> String {
        money(lang, minor, Currency::EUR)
    }

    #[test]
    fn money_reads_as_each_language_writes_it() {
        assert_eq!(eur(60_000_000, Lang::It), "600.000,00\u{a0}€");
        assert_eq!(eur(60_000_000, Lang::En), "€600,000.00");
        assert_eq!(eur(5, Lang::It), "0,05\u{a0}€");
        assert_eq!(eur(-150, Lang::En), "-€1.50");
        assert_eq!(eur(-150, Lang::It), "-1,50\u{a0}€");
        // CLDR's Italian groups from five digits: 1234,56 but 12.345,67.
        assert_eq!(eur(123_456, Lang::It), "1234,56\u{a0}€");
        assert_eq!(eur(1_234_567, Lang::It), "12.345,67\u{a0}€");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(money(Lang::En, 250_000, jpy), "JPY\u{a0}250,000");
        let chf = Currency::parse("CHF").unwrap();
        assert_eq!(money(Lang::It, 123_400_000, chf), "1.234.000,00\u{a0}CHF");
    }

    #[test]
    fn api_amounts_and_days_are_shown_and_other_text_is_kept() {
        assert_eq!(api_amount(Lang::It, "40000.00", "EUR"), "40.000,00\u{a0}€");
        assert_eq!(api_amount(Lang::En, "-2.50", "EUR"), "-€2.50");
        assert_eq!(api_amount(Lang::It, "abc", "EUR"), "abc EUR");
        assert_eq!(api_date(Lang::It, "2026-12-06"), "6 dicembre 2026");
        assert_eq!(api_date(Lang::En, "2026-12-06"), "6 December 2026");
        assert_eq!(api_date(Lang::En, "soon"), "soon");
    }

    #[test]
    fn dates_and_times_in_both_languages() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(9, 5, 59)
            .unwrap();
        assert_eq!(date(Lang::It, at.date()), "1 marzo 2026");
        assert_eq!(date(Lang::En, at.date()), "1 March 2026");
        assert_eq!(date_time(Lang::It, at), "1 marzo 2026 alle ore 09:05 UTC");
        assert_eq!(date_time(Lang::En, at), "1 March 2026 at 09:05 UTC");
        assert_eq!(number(Lang::It, 1_234_567), "1.234.567");
        assert_eq!(number(Lang::En, 1_234_567), "1,234,567");
    }

    proptest! {
        /// Taking out the grouping and the symbol gives back the amount: no digit is lost or
        /// invented, in either language.
        #[test]
        fn formatted_money_keeps_every_digit(minor in -10_000_000_000_000i64..10_000_000_000_000) {
            for lang in [Lang::It, Lang::En] {
                let shown = eur(minor, lang);
                let (group, point) = if lang == Lang::It { ('.', ",") } else { (',', ".") };
                let bare: String = shown
                    .chars()
                    .filter(|c| *c != group && *c != '€' && *c != '\u{a0}')
                    .collect::<String>()
                    .replace(point, ".");
                prop_assert_eq!(bare, crate::domain::money::format_amount(minor, Currency::EUR));
            }
        }
    }
}
