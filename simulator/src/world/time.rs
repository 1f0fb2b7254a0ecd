//! The world's clock values: [`SimTime`] (seconds since 2000-01-01, naive São Paulo time)
//! and their text forms, hand-rolled because they run for most fields of every served row.

use chrono::{NaiveDate, NaiveDateTime};

/// Seconds since 2000-01-01 00:00:00 (naive local time).
pub type SimTime = i32;

pub fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

pub fn to_sim_time(dt: &NaiveDateTime) -> SimTime {
    let secs = (*dt - epoch()).num_seconds();
    secs.clamp(i32::MIN as i64 + 2, i32::MAX as i64) as SimTime
}

/// Civil date from days since 2000-01-01 (Howard Hinnant's algorithm).
fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let z = days_since_2000 + 10957 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push2(out: &mut String, v: u32) {
    out.push((b'0' + (v / 10 % 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}

fn push_date(out: &mut String, t: SimTime) {
    let (y, m, d) = civil((t as i64).div_euclid(86400));
    let y = y.clamp(0, 9999) as u32;
    push2(out, y / 100);
    push2(out, y % 100);
    out.push('-');
    push2(out, m);
    out.push('-');
    push2(out, d);
}

/// `YYYY-MM-DD HH:MM:SS` (hand-rolled: it runs for most fields of every served row).
pub fn fmt_dt(t: SimTime) -> String {
    let mut out = String::with_capacity(19);
    push_date(&mut out, t);
    let s = (t as i64).rem_euclid(86400) as u32;
    out.push(' ');
    push2(&mut out, s / 3600);
    out.push(':');
    push2(&mut out, (s / 60) % 60);
    out.push(':');
    push2(&mut out, s % 60);
    out
}

/// `YYYY-MM-DD`.
pub fn fmt_date(t: SimTime) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, t);
    out
}

/// `dd/mm/yyyy` (the `/unidades` spec examples, §5).
pub fn fmt_br_date(t: SimTime) -> String {
    let (y, m, d) = civil((t as i64).div_euclid(86400));
    format!("{d:02}/{m:02}/{y:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formatting_round_trips() {
        for s in [
            "2026-03-02 09:00:00",
            "2000-01-01 00:00:00",
            "1999-12-31 23:59:59",
            "1951-07-04 12:34:56",
            "2024-02-29 18:05:35",
            "2040-12-31 00:00:01",
        ] {
            let dt = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
            let t = to_sim_time(&dt);
            assert_eq!(fmt_dt(t), s);
            assert_eq!(fmt_date(t), &s[..10]);
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
