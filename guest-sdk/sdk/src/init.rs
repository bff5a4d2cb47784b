//! The init shape: the plugin's parameters from the job file, once per instance.

use serde::de::DeserializeOwned;

use crate::codec::decode;
use crate::input::run;

/// Decodes the single item (the params) into `P` and calls `f`; any error (a wrong item
/// count, params that do not decode, an `Err` from `f`) fails the call, which refuses
/// the plugin.
pub fn init<P, F>(input: &[u8], f: F) -> Vec<u8>
where
    P: DeserializeOwned,
    F: FnOnce(P) -> Result<(), String>,
{
    run(input, |view, out| {
        let params = match view.items[..] {
            [p] => p,
            ref items => {
                let n = items.len();
                return out.fail(format!("init expects 1 item (the params), got {n}"));
            }
        };
        let result = decode(params)
            .map_err(|e| format!("params: {e}"))
            .and_then(f);
        if let Err(e) = result {
            out.fail(e);
        }
    })
}
