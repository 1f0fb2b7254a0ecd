//! The world's clock values: [`SimTime`] (seconds since 2000-01-01, naive São Paulo time)
//! and their text forms, hand-rolled because they run for most fields of every served row.

use chrono::{NaiveDate, NaiveDateTime};

/// Seconds since 2000-01-01 00:00:00 (naive local time).
pub type SimTime = i32;

pub fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

pub fn to_sim_time(datetime: &NaiveDateTime) -> SimTime {
    let seconds = (*datetime - epoch()).num_seconds();
    seconds.clamp(i32::MIN as i64 + 2, i32::MAX as i64) as SimTime
}

/// Civil date (year, month, day) from days since 2000-01-01, by Howard Hinnant's
/// `civil_from_days` (its variable names kept: day of era, year of era, day of year, month
/// from March).
fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let days_since_0000_03_01 = days_since_2000 + 10957 + 719468;
    let era = days_since_0000_03_01.div_euclid(146097);
    let doe = days_since_0000_03_01 - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let year = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// The civil date of a time.
fn civil_date(time: SimTime) -> (i64, u32, u32) {
    civil((time as i64).div_euclid(86400))
}

/// Two decimal digits of `value`.
fn push2(out: &mut String, value: u32) {
    out.push((b'0' + (value / 10 % 10) as u8) as char);
    out.push((b'0' + (value % 10) as u8) as char);
}

fn push_date(out: &mut String, time: SimTime) {
    let (year, month, day) = civil_date(time);
    let year = year.clamp(0, 9999) as u32;
    push2(out, year / 100);
    push2(out, year % 100);
    out.push('-');
    push2(out, month);
    out.push('-');
    push2(out, day);
}

/// `YYYY-MM-DD HH:MM:SS` (hand-rolled: it runs for most fields of every served row).
pub fn fmt_dt(time: SimTime) -> String {
    let mut out = String::with_capacity(19);
    push_date(&mut out, time);
    let second_of_day = (time as i64).rem_euclid(86400) as u32;
    out.push(' ');
    push2(&mut out, second_of_day / 3600);
    out.push(':');
    push2(&mut out, (second_of_day / 60) % 60);
    out.push(':');
    push2(&mut out, second_of_day % 60);
    out
}

/// `YYYY-MM-DD`.
pub fn fmt_date(time: SimTime) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, time);
    out
}

/// `dd/mm/yyyy` (the `/unidades` spec examples, §5).
pub fn fmt_br_date(time: SimTime) -> String {
    let (year, month, day) = civil_date(time);
    format!("{day:02}/{month:02}/{year:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formatting_round_trips() {
        for text in [
            "2026-03-02 09:00:00",
            "2000-01-01 00:00:00",
            "1999-12-31 23:59:59",
            "1951-07-04 12:34:56",
            "2024-02-29 18:05:35",
            "2040-12-31 00:00:01",
        ] {
            let datetime =
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
            let time = to_sim_time(&datetime);
            assert_eq!(fmt_dt(time), text);
            assert_eq!(fmt_date(time), &text[..10]);
        }
        assert_eq!(
            fmt_br_date(to_sim_time(
                &chrono::NaiveDate::from_ymd_opt(2024, 10, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
            )),
            "01/10/2024"
        );
    }
}
