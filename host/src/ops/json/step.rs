//! [`JsonStep`]: one built-in record operation, run over a partition; rejected records
//! go to the job's error policy.

use super::filter::FieldFilter;
use super::key_by::KeyBy;
use super::problem::Problem;
use super::select::Select;
use super::{parse_json, to_json};
use crate::ops::{OpContext, OpError};
use crate::record::Partition;

/// One built-in record operation.
#[derive(Debug, Clone)]
pub enum JsonStep {
    /// `key_by`.
    KeyBy(KeyBy),
    /// `select`.
    Select(Select),
    /// `filter` with `field`, `cmp`, `value`.
    Filter(FieldFilter),
    /// `parse_json`.
    ParseJson,
    /// `to_json`.
    ToJson,
}

impl JsonStep {
    /// The operation's name as written in job files.
    pub fn kind(&self) -> &'static str {
        match self {
            JsonStep::KeyBy(_) => "key_by",
            JsonStep::Select(_) => "select",
            JsonStep::Filter(_) => "filter",
            JsonStep::ParseJson => "parse_json",
            JsonStep::ToJson => "to_json",
        }
    }

    fn apply<'s>(&'s self, record: &'s [u8], out: &mut Partition) -> Result<(), Problem<'s>> {
        match self {
            JsonStep::KeyBy(k) => k.apply(record, out),
            JsonStep::Select(s) => s.apply(record, out),
            JsonStep::Filter(f) => f.apply(record, out),
            JsonStep::ParseJson => parse_json::apply(record, out),
            JsonStep::ToJson => to_json::apply(record, out),
        }
    }

    /// Runs the step on one partition; rejected records go to the error policy.
    ///
    /// # Errors
    /// [`OpError::Record`] for a rejected record under the `fail` policy.
    pub fn run(&self, input: &Partition, cx: &OpContext<'_>) -> Result<Partition, OpError> {
        let mut out = Partition::with_capacity(input.len(), input.bytes().len() + 2 * input.len());
        for record in input.iter() {
            if let Err(problem) = self.apply(record, &mut out) {
                cx.reject(record, format!("`{}`: {problem}", self.kind()))?;
            }
        }
        Ok(out)
    }
}
