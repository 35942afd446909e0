//! Stale contacts: reading last-contact dates and deciding which are too old.
//!
//! Owns the date formats CRM exports and Japanese spreadsheets write, the syntax of the
//! stale period ([`Period`]) and the cutoff arithmetic. Which column holds the date, and
//! what a stale row becomes, are decided elsewhere ([`crate::policy::Policy::is_stale`]).

use std::fmt;
use std::str::FromStr;

use chrono::{Days, Months, NaiveDate};
use unicode_normalization::UnicodeNormalization;

/// Reads a date as CRM exports and Japanese Excel write it.
///
/// Accepted, with surrounding whitespace (including the ideographic space):
///
/// - `2026/03/12`, `2026/3/12`, `2026-03-12`, `2026.03.12`: year first, four-digit year,
///   one or two digits for month and day, the same separator twice;
/// - `2026年3月12日`, `2026年03月12日`;
/// - Japanese eras: `令和8年3月12日`, `令和元年5月1日`, `R8.3.12`, `H31/4/30`, `平成31年4月30日`,
///   and Shōwa (`昭和`, `S`). The date must not be before the era began (Reiwa 2019-05-01,
///   Heisei 1989-01-08, Shōwa 1926-12-25); it may be after the era ended, because systems
///   that were not updated in 2019 went on writing `平成32年` for 2020;
/// - a weekday in brackets after the date, not checked: `2026/3/12(木)`, `2026年3月12日（木）`;
/// - a time after a space or `T`, which is checked and then ignored: `2026/03/12 10:15`,
///   `2026/3/12 9:05:00`, `2026-03-12T10:15:00Z`, `2026-03-12T10:15:00.123+09:00`,
///   `2026/3/12 3:15 PM`, `2026/3/12 午後3:15`, `2026年3月12日 10時15分`. An offset does not
///   move the date: the day the CRM wrote is the day a person saw;
/// - full-width forms of all of these (`２０２６／０３／１２`), through NFKC, which is only
///   applied when the text is not ASCII.
///
/// Everything else is `None`, including impossible dates (`2026/02/30`), two-digit
/// years, and day-first or month-first dates such as `03/12/2026`. Those are not read
/// even when the day is over 12 and the order is therefore clear: in a column of them,
/// reading only the unambiguous rows would make some rows stale and leave others
/// unjudged, which is worse than leaving the whole column unread.
///
/// ```
/// # use chrono::NaiveDate;
/// # use listclean::policy::stale::parse_date;
/// let date = NaiveDate::from_ymd_opt(2026, 3, 12);
/// assert_eq!(parse_date("2026/3/12 9:05"), date);
/// assert_eq!(parse_date("令和8年3月12日"), date);
/// assert_eq!(parse_date("03/12/2026"), None);
/// ```
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_ascii() {
        parse_normalized(s)
    } else {
        let normalized: String = s.nfkc().collect();
        parse_normalized(normalized.trim())
    }
}

/// A Japanese era: its names and the day it began.
struct Era {
    kanji: &'static str,
    letter: char,
    start: (i32, u32, u32),
}

/// The eras a last-contact date can fall in, newest first.
const ERAS: &[Era] = &[
    Era {
        kanji: "令和",
        letter: 'R',
        start: (2019, 5, 1),
    },
    Era {
        kanji: "平成",
        letter: 'H',
        start: (1989, 1, 8),
    },
    Era {
        kanji: "昭和",
        letter: 'S',
        start: (1926, 12, 25),
    },
];

fn parse_normalized(s: &str) -> Option<NaiveDate> {
    let mut cursor = Cursor(s);
    let era = cursor.era();
    let year = match era {
        Some(era) => {
            let n = if cursor.eat("元") {
                1
            } else {
                cursor.number(1, 2)?
            };
            if n == 0 {
                return None;
            }
            era.start.0 + i32::try_from(n).ok()? - 1
        }
        None => i32::try_from(cursor.number(4, 4)?).ok()?,
    };
    let (month, day, kanji) = if cursor.eat("年") {
        let month = cursor.number(1, 2)?;
        cursor.expect("月")?;
        let day = cursor.number(1, 2)?;
        cursor.expect("日")?;
        (month, day, true)
    } else {
        let separator = cursor.one_of(&['/', '-', '.'])?;
        let month = cursor.number(1, 2)?;
        cursor.expect_char(separator)?;
        let day = cursor.number(1, 2)?;
        (month, day, false)
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if let Some(era) = era {
        let (y, m, d) = era.start;
        if date < NaiveDate::from_ymd_opt(y, m, d)? {
            return None;
        }
    }
    let weekday = cursor.weekday();
    if cursor.0.is_empty() {
        return Some(date);
    }
    // A time needs a separator, except straight after a kanji date or a weekday.
    let separated = cursor.eat("T") || cursor.spaces() || kanji || weekday;
    if separated && cursor.time() && cursor.0.is_empty() {
        Some(date)
    } else {
        None
    }
}

/// What is left of the text being parsed.
struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    fn eat(&mut self, prefix: &str) -> bool {
        match self.0.strip_prefix(prefix) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, prefix: &str) -> Option<()> {
        self.eat(prefix).then_some(())
    }

    fn expect_char(&mut self, c: char) -> Option<()> {
        let rest = self.0.strip_prefix(c)?;
        self.0 = rest;
        Some(())
    }

    fn one_of(&mut self, chars: &[char]) -> Option<char> {
        let c = self.0.chars().next().filter(|c| chars.contains(c))?;
        self.0 = &self.0[c.len_utf8()..];
        Some(c)
    }

    /// Skips whitespace; whether there was any.
    fn spaces(&mut self) -> bool {
        let rest = self.0.trim_start();
        let skipped = rest.len() < self.0.len();
        self.0 = rest;
        skipped
    }

    /// Reads `min..=max` ASCII digits, and no more: `20260` is not a four-digit year.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let len = self.0.bytes().take_while(u8::is_ascii_digit).count();
        if len < min || len > max {
            return None;
        }
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        digits.parse().ok()
    }

    /// An era name followed by its year: `令和8`, `令和元`, `R8`, `h31`.
    fn era(&mut self) -> Option<&'static Era> {
        for era in ERAS {
            if self.eat(era.kanji) {
                return Some(era);
            }
            let mut chars = self.0.chars();
            if chars
                .next()
                .is_some_and(|c| c.eq_ignore_ascii_case(&era.letter))
                && chars.next().is_some_and(|c| c.is_ascii_digit())
            {
                self.0 = &self.0[1..];
                return Some(era);
            }
        }
        None
    }

    /// Skips a weekday in brackets, `(木)`, `(木曜)`, `(木曜日)`, `(Thu)`, and says whether
    /// there was one. NFKC has already turned full-width brackets into ASCII ones.
    fn weekday(&mut self) -> bool {
        const KANJI: &[&str] = &["日", "月", "火", "水", "木", "金", "土"];
        const ENGLISH: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        let rest = self.0.trim_start();
        let Some((inside, after)) = rest.strip_prefix('(').and_then(|r| r.split_once(')')) else {
            return false;
        };
        let inside = inside.trim();
        let kanji = inside
            .strip_suffix("曜日")
            .or_else(|| inside.strip_suffix('曜'))
            .unwrap_or(inside);
        let is_weekday =
            KANJI.contains(&kanji) || ENGLISH.iter().any(|day| inside.eq_ignore_ascii_case(day));
        if is_weekday {
            self.0 = after;
        }
        is_weekday
    }

    /// Reads a time of day and an optional offset, and says whether it was one.
    fn time(&mut self) -> bool {
        let half_day = if self.eat("午前") || self.eat("午後") {
            self.spaces();
            true
        } else {
            false
        };
        let Some(hour) = self.number(1, 2) else {
            return false;
        };
        let minute_second = if self.eat("時") {
            self.kanji_minutes()
        } else {
            self.colon_minutes()
        };
        let Some((minute, second)) = minute_second else {
            return false;
        };
        let rest = self.0.trim_start();
        let am_pm = ["AM", "PM"]
            .iter()
            .find(|m| rest.get(..2).is_some_and(|s| s.eq_ignore_ascii_case(m)));
        if am_pm.is_some() {
            self.0 = &rest[2..];
        }
        let max_hour = if half_day || am_pm.is_some() { 12 } else { 23 };
        if hour > max_hour || minute > 59 || second > 60 {
            return false;
        }
        self.offset()
    }

    /// `15分` or `15分30秒`, after `10時`.
    fn kanji_minutes(&mut self) -> Option<(u32, u32)> {
        let minute = self.number(1, 2)?;
        self.expect("分")?;
        let second = match self.number(1, 2) {
            Some(second) => {
                self.expect("秒")?;
                second
            }
            None => 0,
        };
        Some((minute, second))
    }

    /// `:15`, `:15:30` or `:15:30.123`, after the hour.
    fn colon_minutes(&mut self) -> Option<(u32, u32)> {
        self.expect(":")?;
        let minute = self.number(2, 2)?;
        let second = if self.eat(":") {
            let second = self.number(2, 2)?;
            if self.eat(".") || self.eat(",") {
                self.number(1, 9)?;
            }
            second
        } else {
            0
        };
        Some((minute, second))
    }

    /// Nothing, `Z`, or `+09:00`, `-0800`, `+09`; whether what was there is one of them.
    fn offset(&mut self) -> bool {
        if self.eat("Z") || self.eat("z") || self.0.is_empty() {
            return true;
        }
        if self.one_of(&['+', '-']).is_none() {
            return false;
        }
        // `09`, `09:00` or `0900`.
        let digits = self.0.bytes().take_while(u8::is_ascii_digit).count();
        let (hours, minutes) = if digits == 4 {
            let hhmm = self.number(4, 4);
            (hhmm.map(|n| n / 100), hhmm.map(|n| n % 100))
        } else {
            let hours = self.number(2, 2);
            let minutes = if self.eat(":") {
                self.number(2, 2)
            } else {
                Some(0)
            };
            (hours, minutes)
        };
        let (Some(hours), Some(minutes)) = (hours, minutes) else {
            return false;
        };
        hours <= 23 && minutes <= 59
    }
}

/// How long ago a last contact may be before the contact counts as stale: `90d`, `12w`,
/// `6mo`, `1y`.
///
/// Parse it with [`Period::parse`] or [`str::parse`]; `Display` writes it back in the
/// same form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    amount: u32,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Days,
    Weeks,
    Months,
    Years,
}

impl Unit {
    fn symbol(self) -> &'static str {
        match self {
            Unit::Days => "d",
            Unit::Weeks => "w",
            Unit::Months => "mo",
            Unit::Years => "y",
        }
    }

    /// The largest amount accepted: a hundred years' worth, so that no cutoff computed
    /// from a date of this era can leave the calendar.
    fn max_amount(self) -> u32 {
        match self {
            Unit::Days => 36_525,
            Unit::Weeks => 5_218,
            Unit::Months => 1_200,
            Unit::Years => 100,
        }
    }
}

/// The forms [`Period::parse`] accepts, for error messages.
const ACCEPTED: &str = "a whole number and a unit: d (days), w (weeks), mo (months) or y (years), \
                        as in 90d, 12w, 6mo, 1y";

/// Why a period could not be read. Every message names the input and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("the period is empty; expected {ACCEPTED}")]
    Empty,
    #[error("period {input:?} does not start with a number; expected {ACCEPTED}")]
    MissingNumber { input: String },
    #[error("period {input:?} has no unit; expected {ACCEPTED}")]
    MissingUnit { input: String },
    #[error(
        "period {input:?} is ambiguous: `m` could mean minutes or months; \
         write `mo` for months, as in 6mo"
    )]
    AmbiguousMinutes { input: String },
    #[error("period {input:?} has an unknown unit {unit:?}; expected {ACCEPTED}")]
    UnknownUnit { input: String, unit: String },
    #[error("period {input:?} is zero; expected a length of time, {ACCEPTED}")]
    Zero { input: String },
    #[error("period {input:?} is longer than 100 years")]
    TooLong { input: String },
}

impl Period {
    /// Reads a period: a whole number followed by a unit, `d`, `w`, `mo` or `y` (or
    /// `day(s)`, `week(s)`, `month(s)`, `year(s)`), in any case, with optional spaces
    /// between. `m` alone is refused: it reads as minutes as easily as months.
    ///
    /// # Errors
    /// [`PeriodError`] when the text is empty, has no number or unit, has an unknown or
    /// ambiguous unit, is zero, or is longer than 100 years.
    ///
    /// ```
    /// # use listclean::policy::stale::Period;
    /// assert_eq!(Period::parse("18mo").unwrap().to_string(), "18mo");
    /// assert!(Period::parse("6m").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        let input = s.trim();
        if input.is_empty() {
            return Err(PeriodError::Empty);
        }
        let owned = || input.to_owned();
        let digits = input.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(PeriodError::MissingNumber { input: owned() });
        }
        let (number, unit) = input.split_at(digits);
        let unit = match unit.trim_start().to_ascii_lowercase().as_str() {
            "" => return Err(PeriodError::MissingUnit { input: owned() }),
            "m" => return Err(PeriodError::AmbiguousMinutes { input: owned() }),
            "d" | "day" | "days" => Unit::Days,
            "w" | "week" | "weeks" => Unit::Weeks,
            "mo" | "month" | "months" => Unit::Months,
            "y" | "year" | "years" => Unit::Years,
            other => {
                return Err(PeriodError::UnknownUnit {
                    input: owned(),
                    unit: other.to_owned(),
                });
            }
        };
        // Too many digits for a u32 is too long, not malformed.
        let amount = number.parse::<u32>().unwrap_or(u32::MAX);
        if amount == 0 {
            return Err(PeriodError::Zero { input: owned() });
        }
        if amount > unit.max_amount() {
            return Err(PeriodError::TooLong { input: owned() });
        }
        Ok(Period { amount, unit })
    }

    /// The date before which a last contact counts as stale: `today` minus the period.
    ///
    /// Months and years land on the same day of the month, or on the month's last day when
    /// it is shorter: 2026-08-31 minus `6mo` is 2026-02-28, 2028-02-29 minus `1y` is
    /// 2027-02-28. A result before the earliest date chrono knows is that date.
    pub fn cutoff(&self, today: NaiveDate) -> NaiveDate {
        let cutoff = match self.unit {
            Unit::Days => today.checked_sub_days(Days::new(u64::from(self.amount))),
            Unit::Weeks => today.checked_sub_days(Days::new(7 * u64::from(self.amount))),
            Unit::Months => today.checked_sub_months(Months::new(self.amount)),
            Unit::Years => today.checked_sub_months(Months::new(12 * self.amount)),
        };
        cutoff.unwrap_or(NaiveDate::MIN)
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Period, PeriodError> {
        Period::parse(s)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.symbol())
    }
}

/// Whether a contact last made on `last_contact` is stale: strictly before `cutoff`, so a
/// contact made on the cutoff day itself is still fresh.
pub fn is_stale(last_contact: NaiveDate, cutoff: NaiveDate) -> bool {
    last_contact < cutoff
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test dates are valid")
    }

    #[test]
    fn dates() {
        let mar12 = Some(date(2026, 3, 12));
        let cases: &[(&str, Option<NaiveDate>)] = &[
            // Separators and widths.
            ("2026/03/12", mar12),
            ("2026/3/12", mar12),
            ("2026-03-12", mar12),
            ("2026.03.12", mar12),
            ("2026年3月12日", mar12),
            ("2026年03月12日", mar12),
            ("  2026/03/12\t", mar12),
            ("\u{3000}2026/03/12\u{3000}", mar12),
            ("２０２６／０３／１２", mar12),
            ("２０２６年３月１２日", mar12),
            ("２０２６－０３－１２", mar12),
            // Times.
            ("2026/03/12 10:15", mar12),
            ("2026/3/12 9:05:00", mar12),
            ("2026-03-12T10:15:00Z", mar12),
            ("2026-03-12T10:15:00", mar12),
            ("2026-03-12T10:15:00.123+09:00", mar12),
            ("2026-03-12T23:59:59-0800", mar12),
            ("2026-03-12 10:15:00+09", mar12),
            ("2026/3/12  3:15 PM", mar12),
            ("2026/3/12 3:15pm", mar12),
            ("2026/3/12 午後3:15", mar12),
            ("2026年3月12日 10時15分", mar12),
            ("2026年3月12日10時15分30秒", mar12),
            ("２０２６／３／１２　１０：１５", mar12),
            // Weekdays.
            ("2026/3/12(木)", mar12),
            ("2026年3月12日（木）", mar12),
            ("2026/3/12 (Thu) 10:15", mar12),
            ("2026/3/12(木曜日)", mar12),
            // Eras.
            ("令和8年3月12日", mar12),
            ("令和８年３月１２日", mar12),
            ("R8.3.12", mar12),
            ("r08.03.12", mar12),
            ("R8/3/12", mar12),
            ("Ｒ８．３．１２", mar12),
            ("令和元年5月1日", Some(date(2019, 5, 1))),
            ("R1.5.1", Some(date(2019, 5, 1))),
            ("平成31年4月30日", Some(date(2019, 4, 30))),
            ("H31.4.30", Some(date(2019, 4, 30))),
            ("平成32年1月1日", Some(date(2020, 1, 1))),
            ("平成元年1月8日", Some(date(1989, 1, 8))),
            ("昭和64年1月7日", Some(date(1989, 1, 7))),
            ("㋿8年3月12日", mar12),
            ("㍻31年4月30日", Some(date(2019, 4, 30))),
            ("令和1年4月30日", None),
            ("平成元年1月7日", None),
            ("R0.5.1", None),
            ("令和0年5月1日", None),
            ("R123.1.1", None),
            // Impossible or ambiguous.
            ("2026/02/30", None),
            ("2026/13/01", None),
            ("2026/00/10", None),
            ("2025/02/29", None),
            ("2024/02/29", Some(date(2024, 2, 29))),
            ("03/12/2026", None),
            ("13/03/2026", None),
            ("26/3/12", None),
            ("20260312", None),
            ("2026/03-12", None),
            ("2026/003/12", None),
            ("20260/3/12", None),
            ("2026年3月12", None),
            ("2026年3/12", None),
            // Broken times and trailing text.
            ("2026/03/12 25:00", None),
            ("2026/03/12 10:60", None),
            ("2026/03/12 13:00 PM", None),
            ("2026/03/12 10", None),
            ("2026/03/12 10:5", None),
            ("2026/03/12T", None),
            ("2026/03/1210:15", None),
            ("2026/03/12 foo", None),
            ("2026/03/12 10:15 JST", None),
            ("2026/03/12(foo)", None),
            ("2026-03-12T10:15:00+25:00", None),
            ("2026-03-12T10:15:00+0960", None),
            ("2026-03-12T10:15:00+009", None),
            ("2026-03-12T10:15:00+09:0", None),
            // Not dates.
            ("", None),
            ("   ", None),
            ("-", None),
            ("N/A", None),
            ("未接触", None),
            ("2026", None),
            ("Rx.3.12", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(parse_date(text), expected, "{text:?}");
        }
    }

    #[test]
    fn periods() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("6mo", Ok("6mo")),
            ("18mo", Ok("18mo")),
            ("1y", Ok("1y")),
            ("2y", Ok("2y")),
            ("90d", Ok("90d")),
            ("12w", Ok("12w")),
            (" 6 MO ", Ok("6mo")),
            ("3 months", Ok("3mo")),
            ("1year", Ok("1y")),
            ("100y", Ok("100y")),
            ("1200mo", Ok("1200mo")),
            ("", Err("empty")),
            ("  ", Err("empty")),
            ("mo", Err("does not start with a number")),
            ("-6mo", Err("does not start with a number")),
            ("6", Err("no unit")),
            ("6m", Err("`m` could mean minutes or months")),
            ("6M", Err("`m` could mean minutes or months")),
            ("6h", Err("unknown unit \"h\"")),
            ("1.5y", Err("unknown unit \".5y\"")),
            ("6mo2", Err("unknown unit")),
            ("0d", Err("is zero")),
            ("101y", Err("longer than 100 years")),
            ("99999999999d", Err("longer than 100 years")),
        ];
        for &(text, expected) in cases {
            match (Period::parse(text), expected) {
                (Ok(period), Ok(shown)) => assert_eq!(period.to_string(), shown, "{text:?}"),
                (Err(error), Err(part)) => {
                    let message = error.to_string();
                    assert!(message.contains(part), "{text:?}: {message}");
                    if !matches!(error, PeriodError::Empty) {
                        assert!(message.contains(&format!("{:?}", text.trim())), "{message}");
                    }
                }
                (got, _) => panic!("{text:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn period_from_str() {
        let period: Period = "6mo".parse().expect("valid period");
        assert_eq!(period, Period::parse("6mo").expect("valid period"));
        let error = "6m".parse::<Period>().expect_err("ambiguous");
        assert!(error.to_string().contains("6mo"), "{error}");
    }

    #[test]
    fn cutoffs() {
        let cases = [
            ("6mo", date(2026, 8, 31), date(2026, 2, 28)),
            ("6mo", date(2026, 9, 15), date(2026, 3, 15)),
            ("1mo", date(2024, 3, 31), date(2024, 2, 29)),
            ("18mo", date(2026, 3, 12), date(2024, 9, 12)),
            ("1y", date(2028, 2, 29), date(2027, 2, 28)),
            ("2y", date(2026, 3, 12), date(2024, 3, 12)),
            ("90d", date(2026, 3, 12), date(2025, 12, 12)),
            ("12w", date(2026, 3, 12), date(2025, 12, 18)),
            ("1d", date(2026, 1, 1), date(2025, 12, 31)),
            ("100y", NaiveDate::MIN, NaiveDate::MIN),
            ("36525d", NaiveDate::MIN, NaiveDate::MIN),
        ];
        for (period, today, expected) in cases {
            let period = Period::parse(period).expect("valid period");
            assert_eq!(period.cutoff(today), expected, "{today} - {period}");
        }
        let century = Period::parse("100y").expect("valid period");
        assert_eq!(century.cutoff(date(2026, 1, 1)).year(), 1926);
    }

    #[test]
    fn staleness() {
        let cutoff = date(2025, 9, 12);
        let cases = [
            (date(2025, 9, 11), true),
            (date(2025, 9, 12), false),
            (date(2025, 9, 13), false),
            (date(2019, 1, 1), true),
            (date(2026, 3, 12), false),
        ];
        for (last_contact, expected) in cases {
            assert_eq!(is_stale(last_contact, cutoff), expected, "{last_contact}");
        }
    }
}
