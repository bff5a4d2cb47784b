//! WASI preview 1 with no capabilities, hand-written: no files, no sockets, no
//! environment, the clock frozen to the batch time, random numbers seeded by batch and
//! partition, stdout and stderr captured into the log.

use sluice_abi::{exports, Ctx};
use wasmtime::{Caller, Extern, Linker, Memory};

/// The `wasi_snapshot_preview1` functions Sluice serves; any other is refused at load.
pub const SERVED: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_close",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_read",
    "fd_seek",
    "fd_write",
    "poll_oneoff",
    "proc_exit",
    "random_get",
    "sched_yield",
];

const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOTSUP: i32 = 58;
const ESPIPE: i32 = 70;

/// A captured output stream of the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// What the WASI imports need of the store's data (as `wasmtime-wasi`'s `WasiView`): the
/// call's WASI state, and where the guest's stdout and stderr go.
pub(crate) trait WasiView {
    /// The frozen clock and seeded generator of the current call.
    fn wasi(&mut self) -> &mut WasiState;
    /// Takes bytes the guest wrote to stdout or stderr.
    fn output(&mut self, stream: Stream, bytes: &[u8]);
}

/// Raised by `proc_exit`; ends the call with [`crate::wasm::CallError::Exit`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("guest called proc_exit({0})")]
pub(crate) struct ProcExit(pub(crate) i32);

/// The WASI view of one call: the frozen clock and the seeded generator.
#[derive(Debug, Default)]
pub(crate) struct WasiState {
    clock_ns: u64,
    rng: SplitMix64,
}

impl WasiState {
    /// Freezes the clock at the batch time and seeds the generator for this call.
    pub(crate) fn begin_call(&mut self, ctx: &Ctx) {
        self.clock_ns = u64::try_from(ctx.batch_time_ms)
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        self.rng = SplitMix64::seeded(ctx.batch_time_ms as u64, ctx.partition);
    }
}

/// SplitMix64: small, fast, and the same on every platform.
#[derive(Debug, Default, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    fn seeded(batch_time: u64, partition: u32) -> Self {
        let mut s = SplitMix64(batch_time ^ 0x5eed_5eed_5eed_5eed);
        let first = s.next_u64();
        SplitMix64(first ^ u64::from(partition).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// The guest's exported memory (validated at load, so only a broken store lacks it).
pub(crate) fn guest_memory<T>(caller: &mut Caller<'_, T>) -> wasmtime::Result<Memory> {
    match caller.get_export(exports::MEMORY) {
        Some(Extern::Memory(m)) => Ok(m),
        _ => wasmtime::bail!("the instance has no exported `memory`"),
    }
}

type Ctx1<'a, T> = Caller<'a, T>;

/// Writes `bytes` at `ptr`; `false` when out of bounds.
fn put<T>(caller: &mut Ctx1<'_, T>, mem: Memory, ptr: i32, bytes: &[u8]) -> bool {
    mem.write(caller, ptr as u32 as usize, bytes).is_ok()
}

fn put_u32<T>(caller: &mut Ctx1<'_, T>, mem: Memory, ptr: i32, v: u32) -> bool {
    put(caller, mem, ptr, &v.to_le_bytes())
}

fn put_u64<T>(caller: &mut Ctx1<'_, T>, mem: Memory, ptr: i32, v: u64) -> bool {
    put(caller, mem, ptr, &v.to_le_bytes())
}

fn errno(ok: bool) -> i32 {
    if ok {
        SUCCESS
    } else {
        EFAULT
    }
}

/// Reads `len` little-endian `u32` pairs (iovecs) at `ptr`.
fn iovecs(data: &[u8], ptr: i32, len: i32) -> Option<Vec<(usize, usize)>> {
    let start = ptr as u32 as usize;
    let bytes = data.get(start..start.checked_add((len as u32 as usize).checked_mul(8)?)?)?;
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| {
                let p = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize;
                let l = u32::from_le_bytes([c[4], c[5], c[6], c[7]]) as usize;
                (p, l)
            })
            .collect(),
    )
}

/// Defines every function of [`SERVED`] in `linker`, for any store data that gives the
/// WASI state ([`WasiView`]).
pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    add_args_env(linker)?;
    add_clocks(linker)?;
    add_fds(linker)?;
    add_fd_write(linker)?;
    add_process(linker)
}

/// `args_*` and `environ_*`: none.
fn add_args_env<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let m = exports::WASI_P1_MODULE;
    // No arguments, no environment: zero counts, nothing to copy.
    for (get, sizes) in [
        ("args_get", "args_sizes_get"),
        ("environ_get", "environ_sizes_get"),
    ] {
        linker.func_wrap(m, get, |_: Ctx1<'_, T>, _: i32, _: i32| SUCCESS)?;
        linker.func_wrap(m, sizes, |mut c: Ctx1<'_, T>, count: i32, size: i32| {
            let mem = guest_memory(&mut c)?;
            Ok(errno(
                put_u32(&mut c, mem, count, 0) && put_u32(&mut c, mem, size, 0),
            ))
        })?;
    }
    Ok(())
}

/// `clock_res_get`, `clock_time_get`: the batch time, frozen.
fn add_clocks<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let m = exports::WASI_P1_MODULE;
    linker.func_wrap(
        m,
        "clock_res_get",
        |mut c: Ctx1<'_, T>, id: i32, out: i32| {
            if !(0..=3).contains(&id) {
                return Ok(EINVAL);
            }
            let mem = guest_memory(&mut c)?;
            Ok(errno(put_u64(&mut c, mem, out, 1_000_000)))
        },
    )?;
    linker.func_wrap(
        m,
        "clock_time_get",
        |mut c: Ctx1<'_, T>, id: i32, _precision: i64, out: i32| {
            if !(0..=3).contains(&id) {
                return Ok(EINVAL);
            }
            // Never 0 (batch time 0 in `_initialize` and `sluice_init`): Go's runtime
            // aborts at start with "nanotime returning zero".
            let now = c.data_mut().wasi().clock_ns.max(1);
            let mem = guest_memory(&mut c)?;
            Ok(errno(put_u64(&mut c, mem, out, now)))
        },
    )?;
    Ok(())
}

/// The file descriptors 0 to 2 but `fd_write`: no files, stdin at its end.
fn add_fds<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let m = exports::WASI_P1_MODULE;
    linker.func_wrap(m, "fd_close", |_: Ctx1<'_, T>, fd: i32| {
        if (0..=2).contains(&fd) {
            SUCCESS
        } else {
            EBADF
        }
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_get",
        |mut c: Ctx1<'_, T>, fd: i32, out: i32| {
            let rights: u64 = match fd {
                0 => 1 << 1,     // fd_read
                1 | 2 => 1 << 6, // fd_write
                _ => return Ok(EBADF),
            };
            // fdstat: filetype u8 (2 = character device), flags u16, rights base and
            // inheriting u64.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            stat[8..16].copy_from_slice(&rights.to_le_bytes());
            let mem = guest_memory(&mut c)?;
            Ok(errno(put(&mut c, mem, out, &stat)))
        },
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_get",
        |_: Ctx1<'_, T>, _fd: i32, _out: i32| EBADF,
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_: Ctx1<'_, T>, _fd: i32, _p: i32, _l: i32| EBADF,
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        |mut c: Ctx1<'_, T>, fd: i32, _iovs: i32, _n: i32, nread: i32| {
            if fd != 0 {
                return Ok(EBADF);
            }
            let mem = guest_memory(&mut c)?;
            Ok(errno(put_u32(&mut c, mem, nread, 0))) // end of file
        },
    )?;
    linker.func_wrap(
        m,
        "fd_seek",
        |_: Ctx1<'_, T>, fd: i32, _off: i64, _whence: i32, _out: i32| {
            if (0..=2).contains(&fd) {
                ESPIPE
            } else {
                EBADF
            }
        },
    )?;
    Ok(())
}

/// `fd_write` to stdout and stderr: into the log.
fn add_fd_write<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let m = exports::WASI_P1_MODULE;
    linker.func_wrap(
        m,
        "fd_write",
        |mut c: Ctx1<'_, T>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| {
            let stream = match fd {
                1 => Stream::Stdout,
                2 => Stream::Stderr,
                _ => return Ok(EBADF),
            };
            let mem = guest_memory(&mut c)?;
            let (data, state) = mem.data_and_store_mut(&mut c);
            let Some(vecs) = iovecs(data, iovs, iovs_len) else {
                return Ok(EFAULT);
            };
            let mut total: u32 = 0;
            for (p, l) in vecs {
                let Some(bytes) = p.checked_add(l).and_then(|end| data.get(p..end)) else {
                    return Ok(EFAULT);
                };
                state.output(stream, bytes);
                total = total.saturating_add(l as u32);
            }
            Ok(errno(put_u32(&mut c, mem, nwritten, total)))
        },
    )?;
    Ok(())
}

/// `poll_oneoff`, `proc_exit`, `random_get`, `sched_yield`.
fn add_process<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let m = exports::WASI_P1_MODULE;
    linker.func_wrap(
        m,
        "poll_oneoff",
        |mut c: Ctx1<'_, T>, subs: i32, events: i32, n: i32, nevents: i32| {
            poll_oneoff(&mut c, subs, events, n, nevents)
        },
    )?;
    linker.func_wrap(
        m,
        "proc_exit",
        |_: Ctx1<'_, T>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(ProcExit(code)))
        },
    )?;
    linker.func_wrap(m, "random_get", |mut c: Ctx1<'_, T>, buf: i32, len: i32| {
        let mem = guest_memory(&mut c)?;
        let (data, state) = mem.data_and_store_mut(&mut c);
        let start = buf as u32 as usize;
        let Some(out) = start
            .checked_add(len as u32 as usize)
            .and_then(|end| data.get_mut(start..end))
        else {
            return Ok(EFAULT);
        };
        state.wasi().rng.fill(out);
        Ok(SUCCESS)
    })?;
    linker.func_wrap(m, "sched_yield", |_: Ctx1<'_, T>| SUCCESS)?;
    Ok(())
}

/// Answers every subscription at once: clocks have elapsed (time is frozen, so waiting
/// would never end), file descriptors are not supported.
fn poll_oneoff<T>(
    c: &mut Ctx1<'_, T>,
    subs: i32,
    events: i32,
    n: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    if n <= 0 {
        return Ok(EINVAL);
    }
    let mem = guest_memory(c)?;
    let n = n as u32 as usize;
    let Some(sub_bytes) = n.checked_mul(48).and_then(|len| {
        let start = subs as u32 as usize;
        mem.data(&*c)
            .get(start..start.checked_add(len)?)
            .map(<[u8]>::to_vec)
    }) else {
        return Ok(EFAULT);
    };
    let mut out = Vec::with_capacity(n * 32);
    for sub in sub_bytes.chunks_exact(48) {
        let mut event = [0u8; 32];
        event[..8].copy_from_slice(&sub[..8]); // userdata
        let tag = sub[8];
        event[10] = tag;
        let error: u16 = if tag == 0 { 0 } else { ENOTSUP as u16 };
        event[8..10].copy_from_slice(&error.to_le_bytes());
        out.extend_from_slice(&event);
    }
    Ok(errno(
        put(c, mem, events, &out) && put_u32(c, mem, nevents, n as u32),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_is_deterministic_per_batch_and_partition() {
        let draw = |t: i64, p: u32| {
            let mut w = WasiState::default();
            w.begin_call(&Ctx::new(t, p));
            let mut b = [0u8; 20];
            w.rng.fill(&mut b);
            b
        };
        assert_eq!(draw(1000, 0), draw(1000, 0));
        assert_ne!(draw(1000, 0), draw(1000, 1));
        assert_ne!(draw(1000, 0), draw(2000, 0));
    }

    #[test]
    fn clock_is_frozen_at_the_batch_time() {
        let mut w = WasiState::default();
        w.begin_call(&Ctx::new(1_700_000_000_123, 0));
        assert_eq!(w.clock_ns, 1_700_000_000_123_000_000);
    }

    #[test]
    fn iovecs_are_bounds_checked() {
        let mut mem = vec![0u8; 32];
        mem[0..4].copy_from_slice(&16u32.to_le_bytes());
        mem[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(iovecs(&mem, 0, 1), Some(vec![(16, 3)]));
        assert_eq!(iovecs(&mem, 28, 1), None);
        assert_eq!(iovecs(&mem, 0, i32::MAX), None);
    }
}
