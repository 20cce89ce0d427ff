//! Cron expressions as Elasticsearch's scheduler reads them (its fork of Quartz's
//! `CronExpression`): seconds, minutes, hours, day of month, month, day of week and an optional
//! year; `*`, `?`, ranges, lists, increments, `L`, `W`, `#`, and month and day names. Only the
//! reading is needed here, to refuse what Elasticsearch refuses with the same messages; the
//! expression is stored upper-cased, as Elasticsearch stores it.

use std::collections::BTreeSet;

use super::errors::ConnectorError;

const SECOND: usize = 0;
const MINUTE: usize = 1;
const HOUR: usize = 2;
const DAY_OF_MONTH: usize = 3;
const MONTH: usize = 4;
const DAY_OF_WEEK: usize = 5;
const YEAR: usize = 6;
/// `*` and `?` as Quartz marks them in its sets.
const ALL_SPEC: i64 = 99;
const NO_SPEC: i64 = 98;
/// Quartz's last year, relative to now; only bounds the loop that fills the year set.
const MAX_YEAR: i64 = 2199;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The expression as Elasticsearch stores it.
pub(crate) fn normalize(expression: &str) -> String {
    expression.to_uppercase()
}

/// Checks the expression; the refusal carries the reason as Java prints it.
pub(crate) fn check(expression: &str) -> Result<(), ConnectorError> {
    Parser::default()
        .build(&normalize(expression))
        .map_err(|inner| ConnectorError::InvalidCron {
            expression: expression.to_owned(),
            reason: inner.to_string(),
        })
}

/// A failure inside the reader, printed as Java prints the exception (`toString()`).
#[derive(Debug)]
enum Failure {
    IllegalArgument(String),
    NumberFormat(String),
    IndexOutOfBounds(String),
    NoSuchElement,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IllegalArgument(message) => write!(f, "java.lang.IllegalArgumentException: {message}"),
            Self::NumberFormat(input) => {
                write!(
                    f,
                    "java.lang.NumberFormatException: For input string: \"{input}\""
                )
            }
            Self::IndexOutOfBounds(message) => {
                write!(f, "java.lang.StringIndexOutOfBoundsException: {message}")
            }
            Self::NoSuchElement => f.write_str("java.util.NoSuchElementException"),
        }
    }
}

fn illegal(message: impl Into<String>) -> Failure {
    Failure::IllegalArgument(message.into())
}

/// Java's `Integer.parseInt`.
fn parse_int(text: &str) -> Result<i64, Failure> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::NumberFormat(text.to_owned()));
    }
    text.parse::<i32>()
        .map(i64::from)
        .map_err(|_| Failure::NumberFormat(text.to_owned()))
}

/// One expression field as Java sees it: characters, indexed from 0.
struct Text(Vec<char>);

impl Text {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn at(&self, i: usize) -> Result<char, Failure> {
        self.0.get(i).copied().ok_or_else(|| {
            Failure::IndexOutOfBounds(format!("Index {i} out of bounds for length {}", self.len()))
        })
    }

    fn sub(&self, begin: usize, end: usize) -> Result<String, Failure> {
        if begin > end || end > self.len() {
            return Err(Failure::IndexOutOfBounds(format!(
                "begin {begin}, end {end}, length {}",
                self.len()
            )));
        }
        Ok(self.0[begin..end].iter().collect())
    }

    fn rest(&self, begin: usize) -> Result<String, Failure> {
        self.sub(begin, self.len())
    }

    fn is(&self, text: &str) -> bool {
        self.0.iter().copied().eq(text.chars())
    }

    /// `^L-[0-9]*[W]?`
    fn is_last_day_offset(&self) -> bool {
        let chars = &self.0;
        if chars.len() < 2 || chars[0] != 'L' || chars[1] != '-' {
            return false;
        }
        let rest = &chars[2..];
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        matches!(&rest[digits..], [] | ['W'])
    }
}

#[derive(Default)]
struct Parser {
    sets: [BTreeSet<i64>; 7],
    last_day_of_month: bool,
}

impl Parser {
    fn build(&mut self, expression: &str) -> Result<(), Failure> {
        let mut field = SECOND;
        for token in expression.split([' ', '\t']).filter(|token| !token.is_empty()) {
            if field > YEAR {
                break;
            }
            if field == DAY_OF_MONTH && token.contains('L') && token.len() > 1 && token.contains(',') {
                return Err(illegal(
                    "support for specifying 'L' and 'LW' with other days of the month is not implemented",
                ));
            }
            if field == DAY_OF_WEEK && token.contains('L') && token.len() > 1 && token.contains(',') {
                return Err(illegal(
                    "support for specifying 'L' with other days of the week is not implemented",
                ));
            }
            if field == DAY_OF_WEEK && token.matches('#').count() > 1 {
                return Err(illegal(
                    "support for specifying multiple \"nth\" days is not implemented.",
                ));
            }
            for part in token.split(',').filter(|part| !part.is_empty()) {
                self.store(&Text(part.chars().collect()), field)?;
            }
            field += 1;
        }
        if field <= DAY_OF_WEEK {
            return Err(illegal(format!(
                "unexpected end of expression at pos [{}].",
                expression.chars().count()
            )));
        }
        if field <= YEAR {
            self.store(&Text(vec!['*']), YEAR)?;
        }
        let day_of_month_given = !self.sets[DAY_OF_MONTH].contains(&NO_SPEC);
        let day_of_week_given = !self.sets[DAY_OF_WEEK].contains(&NO_SPEC);
        if day_of_month_given == day_of_week_given {
            return Err(illegal(
                "support for specifying both a day-of-week AND a day-of-month parameter is not implemented.",
            ));
        }
        Ok(())
    }

    /// One comma-separated part of a field (Quartz's `storeExpressionVals`).
    fn store(&mut self, s: &Text, kind: usize) -> Result<(), Failure> {
        let mut i = 0;
        if i >= s.len() {
            return Ok(());
        }
        let mut c = s.at(i)?;
        if c.is_ascii_uppercase() && !s.is("L") && !s.is("LW") && !s.is_last_day_offset() {
            let mut sub = s.sub(i, i + 3)?;
            let mut end = -1;
            let start = match kind {
                MONTH => {
                    let start = month_number(&sub)
                        .ok_or_else(|| illegal(format!("invalid Month value [{sub}] at pos [{i}]")))?;
                    if s.len() > i + 3 && s.at(i + 3)? == '-' {
                        i += 4;
                        sub = s.sub(i, i + 3)?;
                        end = month_number(&sub)
                            .ok_or_else(|| illegal(format!("invalid Month value [{sub}] at pos [{i}]")))?;
                    }
                    start
                }
                DAY_OF_WEEK => {
                    let start = day_number(&sub)
                        .ok_or_else(|| illegal(format!("invalid Day-of-Week value [{sub}] at pos [{i}]")))?;
                    if s.len() > i + 3 {
                        match s.at(i + 3)? {
                            '-' => {
                                i += 4;
                                sub = s.sub(i, i + 3)?;
                                end = day_number(&sub).ok_or_else(|| {
                                    illegal(format!("invalid Day-of-Week value [{sub}] at pos [{i}]"))
                                })?;
                            }
                            '#' => {
                                i += 4;
                                nth_day(s, i)?;
                            }
                            // `L`: the last such day of the month.
                            _ => {}
                        }
                    }
                    start
                }
                _ => return Err(illegal(format!("illegal characters [{sub}] at pos [{i}] '"))),
            };
            let increment = if end != -1 { 1 } else { 0 };
            return self.add(start, end, increment, kind);
        }
        if c == '?' {
            i += 1;
            if i + 1 < s.len() && s.at(i)? != ' ' && s.at(i + 1)? != '\t' {
                return Err(illegal(format!(
                    "illegal character [{}] after '?' at pos [{i}]",
                    s.at(i)?
                )));
            }
            if kind != DAY_OF_WEEK && kind != DAY_OF_MONTH {
                return Err(illegal(format!(
                    "'?' can only be specified for Day-of-Month or Day-of-Week. at pos [{i}]"
                )));
            }
            if kind == DAY_OF_WEEK && !self.last_day_of_month {
                let last = self.sets[DAY_OF_MONTH]
                    .last()
                    .copied()
                    .ok_or(Failure::NoSuchElement)?;
                if last == NO_SPEC {
                    return Err(illegal(format!(
                        "'?' can only be specified for Day-of-Month -OR- Day-of-Week. at pos [{i}]"
                    )));
                }
            }
            return self.add(NO_SPEC, -1, 0, kind);
        }
        if c == '*' || c == '/' {
            if c == '*' && i + 1 >= s.len() {
                return self.add(ALL_SPEC, -1, 0, kind);
            }
            if c == '/' && (i + 1 >= s.len() || s.at(i + 1)? == ' ' || s.at(i + 1)? == '\t') {
                return Err(illegal(format!(
                    "'/' must be followed by an integer. at pos [{i}]"
                )));
            }
            if c == '*' {
                i += 1;
            }
            c = s.at(i)?;
            let increment = if c == '/' {
                i += 1;
                if i >= s.len() {
                    return Err(illegal(format!("Unexpected end of string. at pos [{i}]")));
                }
                let increment = parse_int(&s.rest(i)?)?;
                i += 1;
                if increment > 10 {
                    i += 1;
                }
                let limit = match kind {
                    SECOND | MINUTE => Some((59, "60", "")),
                    HOUR => Some((23, "24", "")),
                    DAY_OF_MONTH => Some((31, "31", " ")),
                    DAY_OF_WEEK => Some((7, "7", " ")),
                    MONTH => Some((12, "12", "")),
                    _ => None,
                };
                if let Some((max, shown, tail)) = limit {
                    if increment > max {
                        return Err(illegal(format!(
                            "increment [{increment}] > {shown} at pos [{i}]{tail}"
                        )));
                    }
                }
                increment
            } else {
                1
            };
            return self.add(ALL_SPEC, -1, increment, kind);
        }
        if c == 'L' {
            i += 1;
            if kind == DAY_OF_MONTH {
                self.last_day_of_month = true;
            }
            if kind == DAY_OF_WEEK {
                self.add(7, 7, 0, kind)?;
            }
            // `L-n` counts back from the last day; a `W` may follow, which changes when the
            // schedule fires, not whether it reads.
            if kind == DAY_OF_MONTH && s.len() > i && s.at(i)? == '-' {
                let (offset, _) = value_at(0, s, i + 1)?;
                if offset > 30 {
                    return Err(illegal(format!(
                        "offset from last day must be <= 30 at pos [{}]",
                        i + 1
                    )));
                }
            }
            return Ok(());
        }
        if c.is_ascii_digit() {
            let mut value = i64::from(c.to_digit(10).unwrap_or_default());
            i += 1;
            if i >= s.len() {
                return self.add(value, -1, -1, kind);
            }
            if s.at(i)?.is_ascii_digit() {
                let (read, next) = value_at(value, s, i)?;
                value = read;
                i = next;
            }
            return self.check_next(i, s, value, kind);
        }
        Err(illegal(format!("Unexpected character [{c}] at pos [{i}] ")))
    }

    /// What may follow a number (Quartz's `checkNext`).
    fn check_next(&mut self, pos: usize, s: &Text, value: i64, kind: usize) -> Result<(), Failure> {
        let mut i = pos;
        if i >= s.len() {
            return self.add(value, -1, -1, kind);
        }
        let c = s.at(pos)?;
        match c {
            'L' => {
                if kind != DAY_OF_WEEK {
                    return Err(illegal(format!("'L' option is not valid here. at pos [{i}]")));
                }
                if !(1..=7).contains(&value) {
                    return Err(illegal("Day-of-Week values must be between 1 and 7"));
                }
                self.sets[kind].insert(value);
                Ok(())
            }
            'W' => {
                if kind != DAY_OF_MONTH {
                    return Err(illegal(format!("'W' option is not valid here. at pos [{i}]")));
                }
                if value > 31 {
                    return Err(illegal(format!(
                        "the 'W' option does not make sense with values larger than 31 (max number of days in a month) at pos [{i}]"
                    )));
                }
                self.sets[kind].insert(value);
                Ok(())
            }
            '#' => {
                if kind != DAY_OF_WEEK {
                    return Err(illegal(format!("'#' option is not valid here. at pos [{i}]")));
                }
                nth_day(s, i + 1)?;
                self.sets[kind].insert(value);
                Ok(())
            }
            '-' => {
                i += 1;
                let digit = s.at(i)?;
                let mut end = parse_int(&digit.to_string())?;
                i += 1;
                if i >= s.len() {
                    return self.add(value, end, 1, kind);
                }
                if s.at(i)?.is_ascii_digit() {
                    let (read, next) = value_at(end, s, i)?;
                    end = read;
                    i = next;
                }
                if i < s.len() && s.at(i)? == '/' {
                    i += 1;
                    let step = parse_int(&s.at(i)?.to_string())?;
                    i += 1;
                    if i >= s.len() {
                        return self.add(value, end, step, kind);
                    }
                    if s.at(i)?.is_ascii_digit() {
                        let (step, _) = value_at(step, s, i)?;
                        return self.add(value, end, step, kind);
                    }
                    return self.add(value, end, step, kind);
                }
                self.add(value, end, 1, kind)
            }
            '/' => {
                i += 1;
                let step = parse_int(&s.at(i)?.to_string())?;
                i += 1;
                if i >= s.len() {
                    return self.add(value, -1, step, kind);
                }
                let next = s.at(i)?;
                if next.is_ascii_digit() {
                    let (step, _) = value_at(step, s, i)?;
                    return self.add(value, -1, step, kind);
                }
                Err(illegal(format!(
                    "Unexpected character [{next}] after '/' at pos [{i}]"
                )))
            }
            _ => self.add(value, -1, 0, kind),
        }
    }

    /// Checks a value or range against its field's bounds and records it (Quartz's `addToSet`).
    fn add(&mut self, value: i64, end: i64, increment: i64, kind: usize) -> Result<(), Failure> {
        let out_of = |low: i64, high: i64| (value < low || value > high || end > high) && value != ALL_SPEC;
        match kind {
            SECOND | MINUTE if out_of(0, 59) => {
                return Err(illegal("Minute and Second values must be between 0 and 59"))
            }
            HOUR if out_of(0, 23) => return Err(illegal("Hour values must be between 0 and 23")),
            DAY_OF_MONTH if out_of(1, 31) && value != NO_SPEC => {
                return Err(illegal("Day of month values must be between 1 and 31"))
            }
            MONTH if out_of(1, 12) => return Err(illegal("Month values must be between 1 and 12")),
            DAY_OF_WEEK if (value == 0 || value > 7 || end > 7) && value != ALL_SPEC && value != NO_SPEC => {
                return Err(illegal("Day-of-Week values must be between 1 and 7"))
            }
            _ => {}
        }
        let set = &mut self.sets[kind];
        if (increment == 0 || increment == -1) && value != ALL_SPEC {
            set.insert(if value != -1 { value } else { NO_SPEC });
            return Ok(());
        }
        let mut step = increment;
        if value == ALL_SPEC && step <= 0 {
            step = 1;
            set.insert(ALL_SPEC);
        }
        let (low, high) = match kind {
            SECOND | MINUTE => (0, 59),
            HOUR => (0, 23),
            DAY_OF_MONTH => (1, 31),
            MONTH => (1, 12),
            DAY_OF_WEEK => (1, 7),
            _ => (1970, MAX_YEAR),
        };
        let start = if value == -1 || value == ALL_SPEC {
            low
        } else {
            value
        };
        let mut stop = if end == -1 { high } else { end };
        let mut wrap = None;
        if stop < start {
            let max = match kind {
                SECOND | MINUTE => 60,
                HOUR => 24,
                MONTH => 12,
                DAY_OF_WEEK => 7,
                DAY_OF_MONTH => 31,
                _ => return Err(illegal("Start year must be less than stop year")),
            };
            stop += max;
            wrap = Some(max);
        }
        let mut at = start;
        while at <= stop {
            let value = match wrap {
                None => at,
                Some(max) => match at % max {
                    0 if matches!(kind, MONTH | DAY_OF_WEEK | DAY_OF_MONTH) => max,
                    other => other,
                },
            };
            set.insert(value);
            at += step.max(1);
        }
        Ok(())
    }
}

/// The number after `#`: 1 to 5.
fn nth_day(s: &Text, at: usize) -> Result<(), Failure> {
    match s.rest(at).ok().and_then(|rest| parse_int(&rest).ok()) {
        Some(1..=5) => Ok(()),
        _ => Err(illegal(format!(
            "a numeric value between 1 and 5 must follow the '#' option at pos [{at}]"
        ))),
    }
}

/// The number starting with `first` and continuing with the digits at `i`, and where it ends
/// (Quartz's `getValue`).
fn value_at(first: i64, s: &Text, mut i: usize) -> Result<(i64, usize), Failure> {
    let mut digits = first.to_string();
    let mut c = s.at(i)?;
    while c.is_ascii_digit() {
        digits.push(c);
        i += 1;
        if i >= s.len() {
            break;
        }
        c = s.at(i)?;
    }
    let next = if i < s.len() { i } else { i + 1 };
    Ok((parse_int(&digits)?, next))
}

fn month_number(name: &str) -> Option<i64> {
    MONTHS
        .iter()
        .position(|month| *month == name)
        .map(|n| n as i64 + 1)
}

fn day_number(name: &str) -> Option<i64> {
    DAYS.iter().position(|day| *day == name).map(|n| n as i64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why the expression is refused, as Java prints the exception.
    fn reason(expression: &str) -> String {
        match check(expression) {
            Err(ConnectorError::InvalidCron {
                expression: refused,
                reason,
            }) if refused == expression => reason,
            other => panic!("{expression}: {other:?}"),
        }
    }

    #[test]
    fn quartz_expressions_elasticsearch_takes() {
        for expression in [
            "0 0 0 * * ?",
            "1 0 0 * * ?",
            "0 0/5 14,18 * * ?",
            "0 15 10 ? * MON-FRI",
            "0 15 10 ? * mon-fri",
            "0 15 10 L * ?",
            "0 15 10 L-2 * ?",
            "0 15 10 15W * ?",
            "0 15 10 LW * ?",
            "0 15 10 ? * 6L",
            "0 15 10 ? * 6#3",
            "0 15 10 ? * FRI#3",
            "0 0 12 1/5 * ?",
            "0 11 11 11 11 ?",
            "0 0 22-2 * * ?",
            "0 0 0 ? JAN-MAR SUN",
            "0 0 0 * * ? 2030",
            "0 0 0 * * ? 2030-2040/2",
            "*/15 * * * * ?",
            "0\t0 0 * * ?",
        ] {
            assert!(
                check(expression).is_ok(),
                "{expression}: {:?}",
                check(expression).err()
            );
        }
        assert_eq!(normalize("0 0 0 ? * mon"), "0 0 0 ? * MON");
    }

    #[test]
    fn refusals_carry_elasticsearchs_messages() {
        assert_eq!(
            reason("61 0 0 * * ?"),
            "java.lang.IllegalArgumentException: Minute and Second values must be between 0 and 59"
        );
        for (expression, inner) in [
            ("0 0 24 * * ?", "Hour values must be between 0 and 23"),
            ("0 0 0 32 * ?", "Day of month values must be between 1 and 31"),
            ("0 0 0 1 13 ?", "Month values must be between 1 and 12"),
            ("0 0 0 ? * 8", "Day-of-Week values must be between 1 and 7"),
            ("0 0 0 * *", "unexpected end of expression at pos [9]."),
            (
                "0 0 0 * * *",
                "support for specifying both a day-of-week AND a day-of-month parameter is not implemented.",
            ),
            (
                "0 0 0 ? * ?",
                "'?' can only be specified for Day-of-Month -OR- Day-of-Week. at pos [1]",
            ),
            (
                "? 0 0 * * ?",
                "'?' can only be specified for Day-of-Month or Day-of-Week. at pos [1]",
            ),
            ("0 0 0 ? FOO *", "invalid Month value [FOO] at pos [0]"),
            ("0 0 0 ? * FOO", "invalid Day-of-Week value [FOO] at pos [0]"),
            ("0 ABC 0 * * ?", "illegal characters [ABC] at pos [0] '"),
            ("0 0 0 * * ? $", "Unexpected character [$] at pos [0] "),
            ("0 */61 0 * * ?", "increment [61] > 60 at pos [4]"),
            (
                "0 0 0 ? * 1#6",
                "a numeric value between 1 and 5 must follow the '#' option at pos [2]",
            ),
        ] {
            assert_eq!(
                reason(expression),
                format!("java.lang.IllegalArgumentException: {inner}"),
                "{expression}"
            );
        }
        assert_eq!(
            reason("0 0 0 ? * MO"),
            "java.lang.StringIndexOutOfBoundsException: begin 0, end 3, length 2"
        );
        assert_eq!(
            reason("0 */x 0 * * ?"),
            "java.lang.NumberFormatException: For input string: \"X\""
        );
        assert!(check("").is_err());
        assert!(check("0 0 0 ? * L,MON").is_err());
    }
}
