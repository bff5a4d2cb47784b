//! `filter` with `field`, `cmp` and `value`: keeps the records whose field compares true,
//! in the host. `filter` with `fn` (a plugin function) is built here too, so that one
//! place decides which form a `[streams.NAME]` table is.
//!
//! Semantics: numbers compare numerically across integers and floats (`1 == 1.0`), strings
//! by bytes (Unicode code point order). `==`/`!=` compare any two values: values of
//! different types are unequal, so a `null` field is `!=` every `value`. `<`, `<=`, `>`,
//! `>=` need a number on both sides or a string on both sides; any other field (`null`,
//! a boolean, an array, a map, a string against a number) is a per-record error. A record
//! without the field is a per-record error, except for `exists`, which is true when the
//! field is present (even `null`) and false otherwise.

use std::cmp::Ordering;

use super::cursor::{a_value_of, Cursor};
use super::operand::Operand;
use super::path::{FieldPath, LookupError, LookupKind};
use super::{Problem, SettingError};
use crate::job::FilterConfig;
use crate::job::FnRef;
use crate::record::Partition;

/// A comparison of a field with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Exists,
}

impl Cmp {
    const ALL: &'static str = "==, !=, <, <=, >, >=, exists";

    fn parse(s: &str) -> Option<Cmp> {
        Some(match s {
            "==" => Cmp::Eq,
            "!=" => Cmp::Ne,
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            "exists" => Cmp::Exists,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Exists => "exists",
        }
    }

    fn accepts(self, o: Ordering) -> bool {
        match self {
            Cmp::Lt => o.is_lt(),
            Cmp::Le => o.is_le(),
            Cmp::Gt => o.is_gt(),
            Cmp::Ge => o.is_ge(),
            Cmp::Eq => o.is_eq(),
            Cmp::Ne => o.is_ne(),
            Cmp::Exists => true,
        }
    }
}

/// The built-in filter step.
#[derive(Debug, Clone)]
pub struct FieldFilter {
    path: FieldPath,
    cmp: Cmp,
    operand: Option<Operand>,
}

impl FieldFilter {
    /// A filter keeping records whose `path` satisfies `cmp operand` (`operand` is `None`
    /// exactly for [`Cmp::Exists`]).
    pub fn new(path: FieldPath, cmp: Cmp, operand: Option<Operand>) -> Self {
        FieldFilter { path, cmp, operand }
    }

    /// Copies `record` to `out` if it passes.
    ///
    /// # Errors
    /// A [`Problem`] when the field is missing or cannot be compared.
    pub fn apply<'s>(&'s self, record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
        if self.keeps(record)? {
            out.push(record);
        }
        Ok(())
    }

    fn keeps<'s>(&'s self, record: &'s [u8]) -> Result<bool, Problem<'s>> {
        let found = self.path.find(record);
        let Some(operand) = self.operand.as_ref().filter(|_| self.cmp != Cmp::Exists) else {
            return match found {
                Err(l) if matches!(l.kind, LookupKind::Malformed(_)) => Err(self.lookup(l)),
                other => Ok(other.is_ok()),
            };
        };
        let value = Scalar::read(found.map_err(|l| self.lookup(l))?);
        let order = match (&value, operand) {
            (Scalar::Num(a), Operand::Int(_) | Operand::Float(_)) => a.compare(operand.num()),
            (Scalar::Str(a), Operand::Str(b)) => Some(a.cmp(&b.as_bytes())),
            (Scalar::Bool(a), Operand::Bool(b)) => Some(a.cmp(b)),
            _ if matches!(self.cmp, Cmp::Eq | Cmp::Ne) => return Ok(self.cmp == Cmp::Ne),
            _ => {
                return Err(Problem::Compare {
                    path: &self.path,
                    found: value.type_name(),
                    cmp: self.cmp.as_str(),
                    operand,
                })
            }
        };
        // An unordered pair (a NaN) is unequal and in no order.
        Ok(order.map_or(self.cmp == Cmp::Ne, |o| self.cmp.accepts(o)))
    }

    fn lookup(&self, lookup: super::path::Lookup) -> Problem<'_> {
        Problem::Lookup(LookupError {
            path: &self.path,
            lookup,
        })
    }
}

impl Operand {
    fn num(&self) -> Num {
        match self {
            Operand::Int(i) => Num::Int(*i),
            Operand::Float(f) => Num::Float(*f),
            _ => Num::Float(f64::NAN),
        }
    }
}

/// A number of either kind; integers cover `i64` and `u64`.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn compare(self, o: Num) -> Option<Ordering> {
        match (self, o) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
            (Num::Int(a), Num::Float(b)) => int_float_cmp(a, b),
            (Num::Float(a), Num::Int(b)) => int_float_cmp(b, a).map(Ordering::reverse),
        }
    }
}

/// Compares an integer with a float exactly (no rounding of large integers).
fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    const TWO_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_127 {
        return Some(Ordering::Less);
    }
    if f < -TWO_127 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    Some(match i.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole))?,
        o => o,
    })
}

/// A field's value as far as comparisons care.
enum Scalar<'a> {
    Num(Num),
    Str(&'a [u8]),
    Bool(bool),
    Other(u8),
}

impl<'a> Scalar<'a> {
    fn read(v: &'a [u8]) -> Scalar<'a> {
        let Some(&m) = v.first() else {
            return Scalar::Other(0xc1);
        };
        let be = |n: usize| -> Option<u64> {
            let b = v.get(1..1 + n)?;
            Some(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
        };
        let num = match m {
            0x00..=0x7f => Some(Num::Int(i128::from(m))),
            0xe0..=0xff => Some(Num::Int(i128::from(m as i8))),
            0xcc..=0xcf => be(1 << (m - 0xcc)).map(|u| Num::Int(i128::from(u))),
            0xd0 => be(1).map(|u| Num::Int(i128::from(u as u8 as i8))),
            0xd1 => be(2).map(|u| Num::Int(i128::from(u as u16 as i16))),
            0xd2 => be(4).map(|u| Num::Int(i128::from(u as u32 as i32))),
            0xd3 => be(8).map(|u| Num::Int(i128::from(u as i64))),
            0xca => be(4).map(|u| Num::Float(f64::from(f32::from_bits(u as u32)))),
            0xcb => be(8).map(|u| Num::Float(f64::from_bits(u))),
            0xc2 | 0xc3 => return Scalar::Bool(m == 0xc3),
            _ => match Cursor::new(v).str_bytes() {
                Some(s) => return Scalar::Str(s),
                None => return Scalar::Other(m),
            },
        };
        num.map_or(Scalar::Other(m), Scalar::Num)
    }

    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Num(_) => "a number",
            Scalar::Str(_) => "a string",
            Scalar::Bool(_) => "a boolean",
            Scalar::Other(m) => a_value_of(*m),
        }
    }
}

/// The two forms of `filter`.
#[derive(Debug)]
pub enum Form<'c> {
    /// `fn = "plugin.function"`.
    Plugin(&'c FnRef),
    /// `field`, `cmp`, `value`.
    Field(FieldFilter),
}

/// Which form a `[streams.NAME]` table with `op = "filter"` is, checked.
///
/// # Errors
/// A [`SettingError`] at the setting that is missing, extra or wrong.
pub fn form(c: &FilterConfig) -> Result<Form<'_>, SettingError> {
    let both = "`filter` takes either `fn` (a plugin function) or `field`, `cmp` and `value` (a built-in comparison), not both";
    let field = match (&c.func, &c.field) {
        (Some(f), None) if c.cmp.is_none() && c.value.is_none() => return Ok(Form::Plugin(f)),
        (Some(_), None) => {
            let extra = if c.cmp.is_some() { "cmp" } else { "value" };
            return Err(SettingError::new(extra, both));
        }
        (Some(_), Some(_)) => return Err(SettingError::new("field", both)),
        (None, None) => {
            return Err(SettingError::new(
                "op",
                "`filter` needs `fn = \"plugin.function\"` or a built-in comparison: `field`, `cmp` and `value`",
            ))
        }
        (None, Some(field)) => field,
    };
    let path = FieldPath::parse(field).map_err(|m| SettingError::new("field", m))?;
    let Some(cmp_text) = &c.cmp else {
        return Err(SettingError::new(
            "field",
            format!(
                "`filter` on field `{field}` needs `cmp`: one of {}",
                Cmp::ALL
            ),
        ));
    };
    let cmp = Cmp::parse(cmp_text).ok_or_else(|| {
        SettingError::new(
            "cmp",
            format!("unknown comparison `{cmp_text}`: use one of {}", Cmp::ALL),
        )
    })?;
    let operand = match (cmp, &c.value) {
        (Cmp::Exists, None) => None,
        (Cmp::Exists, Some(_)) => {
            return Err(SettingError::new(
                "value",
                "`cmp = \"exists\"` takes no `value`",
            ))
        }
        (_, None) => {
            return Err(SettingError::new(
                "cmp",
                format!("`cmp = \"{cmp_text}\"` needs a `value` to compare field `{field}` with"),
            ))
        }
        (_, Some(v)) => Some(operand(cmp, v).map_err(|m| SettingError::new("value", m))?),
    };
    Ok(Form::Field(FieldFilter::new(path, cmp, operand)))
}

fn operand(cmp: Cmp, v: &toml::Value) -> Result<Operand, String> {
    let op = match v {
        toml::Value::Integer(i) => Operand::Int(i128::from(*i)),
        toml::Value::Float(f) => Operand::Float(*f),
        toml::Value::String(s) => Operand::Str(s.clone()),
        toml::Value::Boolean(b) => Operand::Bool(*b),
        other => {
            return Err(format!(
                "`value` must be a number, a string or a boolean, not {} {}",
                if other.is_array() { "an" } else { "a" },
                other.type_str()
            ))
        }
    };
    if matches!(op, Operand::Bool(_)) && !matches!(cmp, Cmp::Eq | Cmp::Ne) {
        return Err(format!(
            "`{}` orders numbers or strings; a boolean `value` takes `==` or `!=`",
            cmp.as_str()
        ));
    }
    Ok(op)
}
