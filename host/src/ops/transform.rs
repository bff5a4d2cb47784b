//! `transform`, `transform_with` and `context_transform`: a plugin function over whole
//! batches, called once per batch.
//!
//! `transform` passes the parent's records as the items of a `transform` call. With two
//! (`transform_with`) or more (`context_transform`) parents, the items are one array of
//! records per parent, in parent order, so the function sees every RDD at once; it returns
//! records. The output is one partition.

use sluice_abi::{msgpack, Shape};

use super::{OpContext, OpError, Operator, PluginFn, StreamValue};
use crate::record::{Batch, Partition};

/// A plugin function over the batches of one or more parents.
#[derive(Debug)]
pub struct Transform {
    /// The function (shape `transform`).
    pub f: PluginFn,
    /// `transform` (one parent, records as items) or multi-parent (arrays as items).
    pub multi: bool,
}

impl Operator for Transform {
    fn kind(&self) -> &'static str {
        if self.multi {
            "context_transform"
        } else {
            "transform"
        }
    }

    /// A parent with no RDD is an empty list for multi-parent transforms; a single parent
    /// with no RDD gives no RDD.
    fn on_batch(
        &mut self,
        inputs: &[StreamValue],
        cx: &OpContext<'_>,
    ) -> Result<StreamValue, OpError> {
        if !inputs.iter().any(StreamValue::is_valid) {
            return Ok(StreamValue::NotValid);
        }
        if inputs.iter().all(|v| v.rdd().is_none()) {
            return Ok(StreamValue::NoRdd);
        }
        let mut items = Partition::new();
        if self.multi {
            for v in inputs {
                items.push_with(|out| {
                    let b = v.rdd();
                    msgpack::write_array_len(out, b.map_or(0, |b| b.len()) as u32);
                    for rec in b.iter().flat_map(|b| b.records()) {
                        out.extend_from_slice(rec);
                    }
                });
            }
        } else if let Some(b) = inputs[0].rdd() {
            for p in &b.partitions {
                items.extend_from(p);
            }
        }
        let out = cx.call(
            &self.f,
            Shape::Transform,
            0,
            items.len() as u32,
            items.bytes(),
        )?;
        for e in &out.errors {
            let item = e
                .index
                .and_then(|i| items.get(i as usize))
                .unwrap_or_default();
            cx.reject(item, format!("{}: {}", self.f.display(), e.message))?;
        }
        Ok(StreamValue::Rdd(Batch::new(vec![out.items])))
    }
}
