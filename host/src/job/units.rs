//! Human-friendly units in job files: durations (`"200ms"`, `"1s"`, `"2m"`) and sizes (`"64MiB"`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written as a number and a unit (`ms`, `s`, `m`, `h`), e.g. `"200ms"`, `"1s"`,
/// `"1.5s"`; held in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DurationMs(pub i64);

impl DurationMs {
    /// Whole milliseconds.
    pub const fn ms(self) -> i64 {
        self.0
    }

    /// As a [`Duration`] (negative values cannot be written, so this never clamps).
    pub fn to_std(self) -> Duration {
        Duration::from_millis(self.0.max(0) as u64)
    }
}

impl fmt::Display for DurationMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 1000 == 0 && self.0 != 0 {
            write!(f, "{}s", self.0 / 1000)
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

/// Parses `"<number><unit>"`; the unit is one of `ms`, `s`, `m`, `h`.
///
/// # Errors
/// A sentence naming the accepted units when `text` is not a positive duration in whole ms.
pub fn parse_duration(text: &str) -> Result<DurationMs, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let factor = match unit.trim() {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => {
            return Err(format!(
                "invalid duration `{text}`: write a number and a unit (ms, s, m, h), e.g. \"200ms\" or \"1s\""
            ))
        }
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: `{num}` is not a number"))?;
    let ms = n * factor;
    if ms.fract() != 0.0 || ms <= 0.0 || ms > 1e15 {
        return Err(format!(
            "invalid duration `{text}`: must be a positive whole number of milliseconds"
        ));
    }
    Ok(DurationMs(ms as i64))
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// A size in bytes, written as an integer or a string with a unit (`B`, `KiB`, `MiB`,
/// `GiB`, `KB`, `MB`, `GB`), e.g. `"64MiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Parses a size such as `"64MiB"` or `"1000"`.
///
/// # Errors
/// A sentence naming the accepted units.
pub fn parse_size(text: &str) -> Result<ByteSize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(format!(
                "invalid size `{text}`: write an integer and a unit (B, KiB, MiB, GiB, KB, MB, GB), e.g. \"64MiB\""
            ))
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size `{text}`: `{num}` is not a whole number"))?;
    n.checked_mul(factor)
        .map(ByteSize)
        .ok_or_else(|| format!("invalid size `{text}`: too large"))
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(s) => parse_size(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("200ms"), Ok(DurationMs(200)));
        assert_eq!(parse_duration("1s"), Ok(DurationMs(1000)));
        assert_eq!(parse_duration("1.5s"), Ok(DurationMs(1500)));
        assert_eq!(parse_duration("2m"), Ok(DurationMs(120_000)));
        assert!(parse_duration("5").unwrap_err().contains("unit"));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("0.5ms").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64MiB"), Ok(ByteSize(64 << 20)));
        assert_eq!(parse_size("10"), Ok(ByteSize(10)));
        assert_eq!(parse_size("2KB"), Ok(ByteSize(2000)));
        assert!(parse_size("1 parsec").is_err());
    }
}
