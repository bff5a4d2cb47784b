//! Builds the [`NarrowStep`] of a built-in record operation from its job-file settings.

use super::filter;
use super::key_by::KeyBy;
use super::problem::SettingError;
use super::select::Select;
use super::step::JsonStep;
use crate::job::{JobError, OpConfig};
use crate::ops::build_context::BuildContext;
use crate::ops::narrow::NarrowStep;

/// The registration hook: builds the step of a built-in record operation (`filter` in
/// either form, since the plugin form shares the op name).
///
/// # Errors
/// A [`JobError`] at the setting that is wrong.
pub fn build(op: &OpConfig, cx: &BuildContext<'_>) -> Result<NarrowStep, JobError> {
    let at = |e: SettingError| cx.error(cx.field_span(e.field), e.message);
    let step = match op {
        OpConfig::Filter(c) => match filter::form(c).map_err(at)? {
            filter::Form::Plugin(f) => return Ok(NarrowStep::Filter(cx.plugin_fn(f)?)),
            filter::Form::Field(f) => JsonStep::Filter(f),
        },
        OpConfig::KeyBy(c) => JsonStep::KeyBy(KeyBy::from_config(c).map_err(at)?),
        OpConfig::Select(c) => JsonStep::Select(Select::from_config(c).map_err(at)?),
        OpConfig::ParseJson(_) => JsonStep::ParseJson,
        OpConfig::ToJson(_) => JsonStep::ToJson,
        other => {
            return Err(cx.error(
                cx.field_span("op"),
                format!("`{}` is not a built-in record operation", other.name()),
            ))
        }
    };
    Ok(NarrowStep::Json(step))
}
