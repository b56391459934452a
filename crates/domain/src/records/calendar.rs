//! Periods and calendar dates: the time axis of trade figures and of the
//! days a policy event is in force.

use std::fmt;

use super::check::{MAX_YEAR, MIN_YEAR};

/// A reporting period; month 0 = the whole year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// Calendar year.
    pub year: u16,
    /// 1–12, or 0 for annual.
    pub month: u8,
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
}

impl Date {
    /// Validates a year-month-day triple.
    pub fn new(year: i32, month: i32, day: i32) -> Result<Date, String> {
        if !(MIN_YEAR as i32..=MAX_YEAR as i32).contains(&year) {
            return Err(format!("year {year} is outside {MIN_YEAR}..={MAX_YEAR}"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} is not 1..=12"));
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if !(1..=days).contains(&day) {
            return Err(format!("day {day} is not in 1..={days} for {year}-{month:02}"));
        }
        Ok(Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The civil date `days` days after 1970-01-01 (proleptic Gregorian),
    /// `None` outside the accepted years.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(i32::try_from(year).ok()?, month as i32, day as i32).ok()
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        Date::from_days_since_epoch(i64::try_from(days).unwrap_or(0)).unwrap_or(Date {
            year: MAX_YEAR as u16,
            month: 12,
            day: 31,
        })
    }

    /// The day after, `None` past the last accepted year.
    pub fn next_day(self) -> Option<Date> {
        let (y, m, d) = (i32::from(self.year), i32::from(self.month), i32::from(self.day));
        Date::new(y, m, d + 1)
            .or_else(|_| Date::new(y, m + 1, 1))
            .or_else(|_| Date::new(y + 1, 1, 1))
            .ok()
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, String> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let nums: Option<Vec<i32>> = parts.iter().map(|p| p.parse().ok()).collect();
        match nums.as_deref() {
            Some([y, m, d]) if parts[0].len() == 4 => Date::new(*y, *m, *d),
            _ => Err(format!("'{s}' is not a date in YYYY-MM-DD form")),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_the_clock_and_the_next_day() {
        assert_eq!(
            Date::from_days_since_epoch(0).map(|d| d.to_string()),
            Some("1970-01-01".into())
        );
        assert_eq!(
            Date::from_days_since_epoch(20_790).map(|d| d.to_string()),
            Some("2026-12-03".into())
        );
        assert_eq!(
            Date::from_days_since_epoch(19_782).map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        let next = |s: &str| Date::parse(s).ok().and_then(Date::next_day).map(|d| d.to_string());
        assert_eq!(next("2024-02-28"), Some("2024-02-29".into()));
        assert_eq!(next("2024-02-29"), Some("2024-03-01".into()));
        assert_eq!(next("2025-12-31"), Some("2026-01-01".into()));
    }

    #[test]
    fn dates_are_checked() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2023, 2, 29).is_err());
        assert_eq!(
            Date::parse("2025-04-04").map(|d| d.to_string()),
            Ok("2025-04-04".into())
        );
        assert!(Date::parse("2025-4").is_err());
    }
}
