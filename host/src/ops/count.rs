//! `count`: one record per batch, the number of records (`0` for an empty batch).

use sluice_abi::msgpack;

use super::{OpContext, OpError, Operator, StreamValue};
use crate::record::{Batch, Partition};

/// Spark's `DStream.count()`: one partition holding one integer.
#[derive(Debug, Default)]
pub struct Count;

impl Operator for Count {
    fn kind(&self) -> &'static str {
        "count"
    }

    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        match inputs.first() {
            Some(StreamValue::Rdd(b)) => {
                let mut p = Partition::new();
                p.push_with(|out| msgpack::write_int(out, b.len() as i64));
                Ok(StreamValue::Rdd(Batch::new(vec![p])))
            }
            Some(other) => Ok(other.clone()),
            None => Err(cx.error("count needs one input")),
        }
    }
}
