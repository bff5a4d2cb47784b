#!/usr/bin/env python3
"""Peak memory of a write-ahead-logged job: a TCP word count with checkpoints and the WAL,
fed at a fixed rate through the real `sluice` binary; reports the process's peak RSS
(VmHWM from /proc) and what it processed.

    scripts/wal_rss.py --bin target/release/sluice [--seconds 20] [--rate 40000] [--batch 5s]

The job: tcp lines -> flat_map words.split_pairs -> reduce_by_key sum -> print (num = 0),
`[checkpoint] write_ahead_log = true`. Lines are 10 words of a 10,000-word vocabulary.
"""

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def serve(listener, rate, stop, sent):
    conn, _ = listener.accept()
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(10_000)]
    lines = [(" ".join(rng.choice(vocab) for _ in range(10)) + "\n").encode() for _ in range(5000)]
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        chunk = b"".join(lines[(i + k) % len(lines)] for k in range(per_tick))
        try:
            conn.sendall(chunk)
        except OSError:
            break
        i += per_tick
        sent[0] = i
        target = start + (i / per_tick) * tick
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    conn.close()


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=int, default=40_000, help="lines per second")
    ap.add_argument("--batch", default="5s")
    args = ap.parse_args()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    wasm = os.path.abspath(os.path.join(REPO, "plugins/dist/words.wasm"))
    with tempfile.TemporaryDirectory() as d:
        job = os.path.join(d, "job.toml")
        with open(job, "w") as f:
            f.write(f"""
[job]
name = "wal-rss"
batch_interval = "{args.batch}"
block_interval = "200ms"
[plugins.words]
path = "{wasm}"
[sources.lines]
kind = "tcp"
host = "127.0.0.1"
port = {port}
[streams.pairs]
from = "lines"
op = "flat_map"
fn = "words.split_pairs"
[streams.counts]
from = "pairs"
op = "reduce_by_key"
fn = "sum"
[sinks.out]
from = "counts"
kind = "print"
num = 0
[checkpoint]
dir = "ck"
every_batches = 2
write_ahead_log = true
wal_fsync = "interval"
""")
        stop = threading.Event()
        sent = [0]
        proc = subprocess.Popen([args.bin, "run", job], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        feeder = threading.Thread(target=serve, args=(listener, args.rate, stop, sent), daemon=True)
        feeder.start()
        err_lines = []
        reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + args.seconds
        peak = 0
        while time.monotonic() < deadline and proc.poll() is None:
            peak = max(peak, vm_hwm_kib(proc.pid))
            time.sleep(0.25)
        peak = max(peak, vm_hwm_kib(proc.pid)) if proc.poll() is None else peak
        stop.set()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=5)
    records = sum(int(m.group(1)) for l in err_lines if (m := re.search(r": (\d+) records in", l)))
    batches = sum(1 for l in err_lines if "records in" in l)
    print(f"peak RSS {peak / 1024:.1f} MiB (VmHWM), {batches} batches, {records} lines processed, "
          f"{sent[0]} lines sent at {args.rate}/s, batch {args.batch}, {args.seconds:.0f} s")
    if proc.returncode not in (0, None):
        sys.stderr.write("".join(err_lines[-20:]))
        sys.exit(1)


if __name__ == "__main__":
    main()
