//! [`Operand`]: the `value` a field `filter` compares against.

use std::fmt;

/// The `value` of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Int(i) => write!(f, "{i}"),
            Operand::Float(x) => write!(f, "{x:?}"),
            Operand::Str(s) => write!(f, "{s:?}"),
            Operand::Bool(b) => write!(f, "{b}"),
        }
    }
}
