//! Timestamps as rows load them. SQLite keeps a timestamp as text; diesel reads it by trying
//! up to eighteen `strftime` formats, each parsed anew, which was a tenth of a list's time.
//! What this service writes (`2026-11-23 12:22:16.743123`) is read here directly; anything
//! else, and every PostgreSQL timestamp, goes to diesel's own reading.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

/// `#[diesel(deserialize_as = StoredTime)]` on a `NaiveDateTime` field.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct StoredTime(NaiveDateTime);

impl From<StoredTime> for NaiveDateTime {
    fn from(time: StoredTime) -> NaiveDateTime {
        time.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of up to nine digits.
fn parse(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b' '
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
    };
    let nanos = match &bytes[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(20..bytes.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?.and_hms_nano_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        nanos,
    )
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let fast = match value.value_type() {
            Some(diesel::sqlite::SqliteType::Text) => parse(value.read_text()),
            _ => None,
        };
        match fast {
            Some(time) => Ok(StoredTime(time)),
            None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTime),
        }
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: <Pg as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTime)
    }
}

/// Rows loaded through the connection enum: each backend reads as above.
impl FromSql<Timestamp, crate::db::MultiBackend> for StoredTime {
    fn from_sql(
        value: <crate::db::MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<StoredTime, Timestamp>()
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_what_diesel_writes_and_refuses_the_rest() {
        let time = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%F %T%.f").unwrap();
        assert_eq!(parse("2026-11-23 12:22:16.743123"), Some(time("2026-11-23 12:22:16.743123")));
        assert_eq!(parse("2026-11-23 12:22:16"), Some(time("2026-11-23 12:22:16")));
        assert_eq!(parse("2026-11-23 12:22:16.7"), Some(time("2026-11-23 12:22:16.700")));
        assert_eq!(parse("2026-11-23 12:22:16.123456789"), Some(time("2026-11-23 12:22:16.123456789")));
        for other in [
            "2026-11-23T12:22:16",
            "2026-11-23 12:22",
            "2026-13-23 12:22:16",
            "2026-11-23 12:22:16.",
            "2026-11-23 12:22:16Z",
            "2026-11-23 12:22:16.1234567890",
            "２026-11-23 12:22:16",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
