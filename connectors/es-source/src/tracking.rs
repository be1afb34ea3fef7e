//! Which mapped field types es-source can track exactly, and how values of each type are
//! read from a user (`es.start`) and compared (the cursor never moves backwards).
//!
//! Contract: a type is accepted only when its sort values round-trip exactly through
//! `search_after` and `range gte`:
//!
//! - `long`, `integer`, `short`, `byte`: JSON integers, exact as `i64`.
//! - `double`, `float`, `half_float`: JSON numbers, kept as the shortest decimal that
//!   parses back to the same `f64` (serde_json's `float_roundtrip`), which is the very
//!   decimal Elasticsearch wrote. They are sent back as strings
//!   (`query::to_es`): Elasticsearch parses a string straight to the field's
//!   type, while a JSON number is read as a double and narrowed, which for some floats
//!   lands on the neighbouring float (`7.038531E-26` is one) and would skip documents.
//! - `date`: epoch milliseconds; `date_nanos`: epoch nanoseconds, both JSON integers.
//! - `keyword`: strings, compared byte-wise as Elasticsearch does.
//!
//! Rejected: `scaled_float` (its `range gte x` is `ceil(x * factor)`, which for example
//! turns `gte 1.1` with factor 100 into `>= 111`, so documents at the boundary value
//! would be lost) and `unsigned_long` (sort values above `i64::MAX` are not tested here),
//! and every type that cannot be sorted on.

use std::cmp::Ordering;

use serde_json::Value;

/// What the tracking field's mapping means for queries, comparisons and timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingKind {
    /// `long`, `integer`, `short`, `byte`: sort values are integers.
    Long,
    /// `double`, `float`, `half_float`: sort values are floating-point numbers.
    Double,
    /// `date`: sort values are epoch milliseconds.
    Date,
    /// `date_nanos`: sort values are epoch nanoseconds.
    DateNanos,
    /// `keyword`: sort values are strings.
    Keyword,
}

impl TrackingKind {
    /// Whether values are points in time (so `es.lag` applies).
    pub fn is_time(self) -> bool {
        matches!(self, TrackingKind::Date | TrackingKind::DateNanos)
    }
}

/// The unit of a long tracking field that holds epoch time (`es.tracking.time.unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Epoch seconds.
    Seconds,
    /// Epoch milliseconds.
    Millis,
    /// Epoch microseconds.
    Micros,
    /// Epoch nanoseconds.
    Nanos,
}

impl TimeUnit {
    /// The unit named `seconds`, `millis`, `micros` or `nanos`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "seconds" => Some(TimeUnit::Seconds),
            "millis" => Some(TimeUnit::Millis),
            "micros" => Some(TimeUnit::Micros),
            "nanos" => Some(TimeUnit::Nanos),
            _ => None,
        }
    }

    /// Units per second.
    pub fn per_second(self) -> i64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Millis => 1_000,
            TimeUnit::Micros => 1_000_000,
            TimeUnit::Nanos => 1_000_000_000,
        }
    }
}

/// Units per second of a tracking field's values when they are points in time: date and
/// date_nanos fields, and long fields with an `es.tracking.time.unit`.
pub fn units_per_second(kind: TrackingKind, unit: Option<TimeUnit>) -> Option<i64> {
    match kind {
        TrackingKind::Date => Some(1_000),
        TrackingKind::DateNanos => Some(1_000_000_000),
        TrackingKind::Long => unit.map(TimeUnit::per_second),
        TrackingKind::Double | TrackingKind::Keyword => None,
    }
}

/// The field types a tracking or tiebreaker field may have.
pub const SUPPORTED_TYPES: &[&str] = &[
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "date",
    "date_nanos",
    "keyword",
];

const SUPPORTED_LIST: &str =
    "long, integer, short, byte, double, float, half_float, date, date_nanos or keyword";

/// Checks a mapped field type; `Err` says in words why it cannot be tracked.
///
/// `doc_values` is the mapping's `doc_values` setting when it is written out.
pub fn check_sortable(
    field: &str,
    ty: &str,
    doc_values: Option<bool>,
) -> Result<TrackingKind, String> {
    let kind = match ty {
        "long" | "integer" | "short" | "byte" => TrackingKind::Long,
        "double" | "float" | "half_float" => TrackingKind::Double,
        "date" => TrackingKind::Date,
        "date_nanos" => TrackingKind::DateNanos,
        "keyword" => TrackingKind::Keyword,
        "scaled_float" => {
            return Err(format!(
                "field {field} is mapped as scaled_float, which es-source cannot read \
                 exactly (Elasticsearch rounds range bounds of scaled floats, so documents \
                 at the boundary value would be lost); use a field of type {SUPPORTED_LIST}"
            ))
        }
        "unsigned_long" => {
            return Err(format!(
                "field {field} is mapped as unsigned_long, which es-source does not \
                 support; use a field of type {SUPPORTED_LIST}"
            ))
        }
        "text" | "match_only_text" => {
            return Err(format!(
                "field {field} is mapped as {ty}, which cannot be sorted on (text fields \
                 cannot be sorted on; use a keyword sub-field such as `<field>.keyword` or \
                 map the field as keyword); use a field of type {SUPPORTED_LIST}"
            ))
        }
        other => {
            return Err(format!(
                "field {field} is mapped as {other}, which cannot be sorted on; use a \
                 field of type {SUPPORTED_LIST}"
            ))
        }
    };
    if doc_values == Some(false) {
        return Err(format!(
            "field {field} has doc_values disabled, so it cannot be sorted on; use a field \
             with doc values"
        ));
    }
    Ok(kind)
}

/// Reads a user-written tracking value (`es.start`) as the sort value Elasticsearch would
/// return for it: an integer for long and date types, a finite number for double types,
/// the text itself for keyword. Dates are epoch milliseconds or an RFC 3339 timestamp
/// (`2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123456789+02:00`).
pub fn parse_value(kind: TrackingKind, raw: &str) -> Result<Value, String> {
    let text = raw.trim();
    match kind {
        TrackingKind::Keyword => Ok(Value::String(raw.to_owned())),
        TrackingKind::Long => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{raw:?} is not a whole number (the field is numeric)")),
        TrackingKind::Double => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => serde_json::Number::from_f64(v)
                .map(Value::Number)
                .ok_or_else(|| format!("{raw:?} is not a finite number")),
            _ => Err(format!(
                "{raw:?} is not a finite number (the field is numeric)"
            )),
        },
        TrackingKind::Date | TrackingKind::DateNanos => {
            let nanos = match text.parse::<i64>() {
                Ok(millis) => i128::from(millis) * 1_000_000,
                Err(_) => parse_rfc3339_nanos(text).ok_or_else(|| {
                    format!(
                        "{raw:?} is neither epoch milliseconds nor an RFC 3339 timestamp \
                         such as 2024-05-01T12:00:00Z"
                    )
                })?,
            };
            let value = if kind == TrackingKind::Date {
                // A start inside a millisecond begins at the next whole millisecond.
                nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) != 0)
            } else {
                if nanos < 0 {
                    return Err(format!(
                        "{raw:?} is before 1970, which date_nanos cannot hold"
                    ));
                }
                nanos
            };
            i64::try_from(value)
                .map(Value::from)
                .map_err(|_| format!("{raw:?} is out of range"))
        }
    }
}

/// A tracking kind in words, for messages.
pub fn describe(kind: TrackingKind) -> &'static str {
    match kind {
        TrackingKind::Long => "a whole number (long, integer, short or byte)",
        TrackingKind::Double => "a floating-point number (double, float or half_float)",
        TrackingKind::Date => "a date",
        TrackingKind::DateNanos => "a date_nanos",
        TrackingKind::Keyword => "a keyword",
    }
}

/// Compares two sort values of one kind; `None` when either does not fit the kind.
pub fn compare(kind: TrackingKind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        TrackingKind::Keyword => Some(a.as_str()?.as_bytes().cmp(b.as_str()?.as_bytes())),
        TrackingKind::Long | TrackingKind::Date | TrackingKind::DateNanos => {
            Some(a.as_i64()?.cmp(&b.as_i64()?))
        }
        TrackingKind::Double => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Whether `value` is a sort value Elasticsearch returns for this kind.
pub fn fits(kind: TrackingKind, value: &Value) -> bool {
    compare(kind, value, value).is_some()
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as epoch nanoseconds.
fn parse_rfc3339_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut frac_nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        frac_nanos = num(start..i)? * 10_i64.pow(9 - digits as u32);
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(frac_nanos))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn supported_types_map_to_kinds() {
        for (ty, kind) in [
            ("long", TrackingKind::Long),
            ("integer", TrackingKind::Long),
            ("short", TrackingKind::Long),
            ("byte", TrackingKind::Long),
            ("double", TrackingKind::Double),
            ("float", TrackingKind::Double),
            ("half_float", TrackingKind::Double),
            ("date", TrackingKind::Date),
            ("date_nanos", TrackingKind::DateNanos),
            ("keyword", TrackingKind::Keyword),
        ] {
            assert_eq!(check_sortable("f", ty, None), Ok(kind), "{ty}");
            assert!(SUPPORTED_TYPES.contains(&ty));
        }
    }

    #[test]
    fn unsupported_types_are_rejected_naming_the_supported_ones() {
        for ty in ["scaled_float", "unsigned_long", "text", "object", "boolean"] {
            let err = check_sortable("f", ty, None).unwrap_err();
            assert!(err.contains(ty), "{err}");
            assert!(err.contains("date_nanos or keyword"), "{err}");
        }
        assert!(check_sortable("f", "text", None)
            .unwrap_err()
            .contains("keyword sub-field"));
        assert!(check_sortable("n", "long", Some(false))
            .unwrap_err()
            .contains("doc_values"));
    }

    /// The rounding that makes scaled_float unusable without a tiebreaker: Elasticsearch
    /// turns `gte x` into `stored >= ceil(x * scaling_factor)`, and the sort value it
    /// returns for stored value 110 with factor 100 is 110 / 100.0.
    #[test]
    fn scaled_float_range_bounds_would_skip_the_boundary_value() {
        let factor = 100.0_f64;
        let sort_value = 110.0 / factor;
        assert_eq!(sort_value, 1.1);
        let lower_stored = (sort_value * factor).ceil();
        assert_eq!(
            lower_stored, 111.0,
            "gte 1.1 would exclude stored value 110"
        );
    }

    #[test]
    fn start_values_are_parsed_per_kind() {
        assert_eq!(parse_value(TrackingKind::Long, " 42 "), Ok(json!(42)));
        assert!(parse_value(TrackingKind::Long, "4.2").is_err());
        assert_eq!(parse_value(TrackingKind::Double, "0.1"), Ok(json!(0.1)));
        assert!(parse_value(TrackingKind::Double, "NaN").is_err());
        assert!(parse_value(TrackingKind::Double, "inf").is_err());
        assert_eq!(parse_value(TrackingKind::Keyword, "k-1"), Ok(json!("k-1")));
        assert_eq!(
            parse_value(TrackingKind::Date, "1700000000123"),
            Ok(json!(1_700_000_000_123_i64))
        );
        assert_eq!(
            parse_value(TrackingKind::Date, "2023-11-14T22:13:20.123Z"),
            Ok(json!(1_700_000_000_123_i64))
        );
        // Inside a millisecond: the next whole millisecond.
        assert_eq!(
            parse_value(TrackingKind::Date, "2023-11-14T22:13:20.1230001Z"),
            Ok(json!(1_700_000_000_124_i64))
        );
        assert_eq!(
            parse_value(
                TrackingKind::DateNanos,
                "2023-11-15T00:13:20.123456789+02:00"
            ),
            Ok(json!(1_700_000_000_123_456_789_i64))
        );
        assert_eq!(
            parse_value(TrackingKind::DateNanos, "1700000000123"),
            Ok(json!(1_700_000_000_123_000_000_i64))
        );
        for bad in [
            "yesterday",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-01-01T00:00:00",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T24:00:00Z",
        ] {
            assert!(parse_value(TrackingKind::Date, bad).is_err(), "{bad}");
        }
        assert!(parse_value(TrackingKind::DateNanos, "1969-12-31T23:59:59Z").is_err());
        assert_eq!(
            parse_value(TrackingKind::Date, "2024-02-29T00:00:00Z"),
            Ok(json!(1_709_164_800_000_i64))
        );
    }

    #[test]
    fn values_compare_per_kind() {
        assert_eq!(
            compare(TrackingKind::Long, &json!(2), &json!(10)),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(TrackingKind::Keyword, &json!("b"), &json!("a")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(TrackingKind::Double, &json!(0.1), &json!(0.1)),
            Some(Ordering::Equal)
        );
        assert_eq!(compare(TrackingKind::Long, &json!("x"), &json!(1)), None);
        assert!(fits(TrackingKind::Keyword, &json!("x")));
        assert!(!fits(TrackingKind::Date, &json!("2024")));
    }

    /// serde_json with `float_roundtrip` writes back the very decimal Elasticsearch sent,
    /// so `search_after` and `range` see the value they produced.
    #[test]
    fn double_sort_values_round_trip_textually() {
        for text in [
            "0.1",
            "0.30000000000000004",
            "1.0E300",
            "0.099975586",
            "1.6777218E7",
            "5.0E-324",
            "1.7976931348623157E308",
            "-2.2250738585072014E-308",
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            let back: f64 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(
                back.to_bits(),
                text.parse::<f64>().unwrap().to_bits(),
                "{text}"
            );
        }
    }
}
