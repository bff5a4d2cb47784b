//! `identity`: the parent's batches unchanged (a named stream over another one).

use super::{OpContext, OpError, Operator, StreamValue};

/// Passes its one parent through.
#[derive(Debug, Default)]
pub struct Identity;

impl Operator for Identity {
    fn kind(&self) -> &'static str {
        "identity"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        _cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        Ok(inputs.first().cloned().unwrap_or_default())
    }
}
