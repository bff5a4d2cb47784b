// Sluice plugins in JavaScript: register plain functions by shape; `sluice plugin build
// app.js -o app.wasm` makes a WebAssembly component (ComponentizeJS) of the module.
//
//   import { flatMap, reduce } from "sluice-plugin";
//   flatMap(function split(line) { return line.split(/\s+/).filter(Boolean); });
//   reduce(function sum(a, b) { return a + b; });
//
// Records are plain values (string, number, bigint for integers past 2^53, boolean,
// null, Uint8Array, arrays, objects for maps). A function that throws for one record
// rejects that record; the others go on. console.log and log() write to the job's log.
// The component side (the `guest` export) is at the end of this file.

import { log as hostLog } from "sluice:plugin/host@1.0.0";

// --- MessagePack ------------------------------------------------------------------------

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A growable byte buffer. */
class Buf {
  constructor(size = 1024) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.len = 0;
  }
  reserve(n) {
    if (this.len + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.len + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.len));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }
  byte(b) {
    this.reserve(1);
    this.bytes[this.len++] = b;
  }
  put(bytes) {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.len);
    this.len += bytes.length;
  }
  header(small, n, m16, m32, smallMax) {
    this.reserve(5);
    if (n <= smallMax) this.bytes[this.len++] = small | n;
    else if (n < 0x10000) {
      this.bytes[this.len++] = m16;
      this.view.setUint16(this.len, n);
      this.len += 2;
    } else {
      this.bytes[this.len++] = m32;
      this.view.setUint32(this.len, n);
      this.len += 4;
    }
  }
  result() {
    return this.bytes.subarray(0, this.len);
  }
}

export class DecodeError extends Error {}

function encodeString(s, buf) {
  // Worst case 3 bytes per UTF-16 unit; written in place, header patched after.
  buf.reserve(5 + 3 * s.length);
  const start = buf.len;
  const body = s.length < 32 ? 1 : s.length < 86 ? 2 : s.length < 21846 ? 3 : 5;
  const { written } = utf8.encodeInto(s, buf.bytes.subarray(start + body));
  const need = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
  if (need !== body) buf.bytes.copyWithin(start + need, start + body, start + body + written);
  const b = buf.bytes;
  if (need === 1) b[start] = 0xa0 | written;
  else if (need === 2) { b[start] = 0xd9; b[start + 1] = written; }
  else if (need === 3) { b[start] = 0xda; buf.view.setUint16(start + 1, written); }
  else { b[start] = 0xdb; buf.view.setUint32(start + 1, written); }
  buf.len = start + need + written;
}

function encodeInt(v, buf) {
  buf.reserve(9);
  const b = buf.bytes, i = buf.len;
  if (v >= 0) {
    if (v < 0x80) { b[i] = v; buf.len += 1; }
    else if (v < 0x100) { b[i] = 0xcc; b[i + 1] = v; buf.len += 2; }
    else if (v < 0x10000) { b[i] = 0xcd; buf.view.setUint16(i + 1, v); buf.len += 3; }
    else if (v < 0x100000000) { b[i] = 0xce; buf.view.setUint32(i + 1, v); buf.len += 5; }
    else { b[i] = 0xcf; buf.view.setBigUint64(i + 1, BigInt(v)); buf.len += 9; }
  } else if (v >= -32) { b[i] = v & 0xff; buf.len += 1; }
  else if (v >= -0x80) { b[i] = 0xd0; buf.view.setInt8(i + 1, v); buf.len += 2; }
  else if (v >= -0x8000) { b[i] = 0xd1; buf.view.setInt16(i + 1, v); buf.len += 3; }
  else if (v >= -0x80000000) { b[i] = 0xd2; buf.view.setInt32(i + 1, v); buf.len += 5; }
  else { b[i] = 0xd3; buf.view.setBigInt64(i + 1, BigInt(v)); buf.len += 9; }
}

/** Appends the MessagePack encoding of `v` to `buf`. */
export function enc(v, buf) {
  switch (typeof v) {
    case "string":
      return encodeString(v, buf);
    case "number":
      if (Number.isInteger(v) && Number.isSafeInteger(v)) return encodeInt(v, buf);
      buf.reserve(9);
      buf.bytes[buf.len] = 0xcb;
      buf.view.setFloat64(buf.len + 1, v);
      buf.len += 9;
      return;
    case "bigint":
      if (v >= -(2n ** 63n) && v < 2n ** 64n) {
        if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return encodeInt(Number(v), buf);
        buf.reserve(9);
        buf.bytes[buf.len] = v >= 0n ? 0xcf : 0xd3;
        if (v >= 0n) buf.view.setBigUint64(buf.len + 1, v);
        else buf.view.setBigInt64(buf.len + 1, v);
        buf.len += 9;
        return;
      }
      throw new RangeError(`integer ${v} does not fit 64 bits`);
    case "boolean":
      return buf.byte(v ? 0xc3 : 0xc2);
    case "undefined":
      return buf.byte(0xc0);
    case "object":
      if (v === null) return buf.byte(0xc0);
      if (Array.isArray(v)) {
        buf.header(0x90, v.length, 0xdc, 0xdd, 15);
        for (const x of v) enc(x, buf);
        return;
      }
      if (v instanceof Uint8Array) {
        if (v.length < 0x100) { buf.byte(0xc4); buf.byte(v.length); }
        else if (v.length < 0x10000) { buf.byte(0xc5); buf.byte(v.length >> 8); buf.byte(v.length & 0xff); }
        else { buf.reserve(5); buf.bytes[buf.len] = 0xc6; buf.view.setUint32(buf.len + 1, v.length); buf.len += 5; }
        return buf.put(v);
      }
      if (v instanceof Map) {
        buf.header(0x80, v.size, 0xde, 0xdf, 15);
        for (const [k, x] of v) { enc(k, buf); enc(x, buf); }
        return;
      }
      {
        const keys = Object.keys(v);
        buf.header(0x80, keys.length, 0xde, 0xdf, 15);
        for (const k of keys) { encodeString(k, buf); enc(v[k], buf); }
        return;
      }
    default:
      throw new TypeError(`cannot encode a ${typeof v} as MessagePack`);
  }
}

/** Encodes one value. */
export function encode(v) {
  const buf = new Buf(64);
  enc(v, buf);
  return buf.result().slice();
}

/** A reader over one document. */
class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.i = 0;
  }
  need(n) {
    if (this.i + n > this.b.length) throw new DecodeError(`truncated at offset ${this.i}`);
  }
  str(n) {
    this.need(n);
    const s = this.i;
    this.i += n;
    let ascii = n <= 64;
    for (let k = s; ascii && k < s + n; k++) if (this.b[k] > 0x7f) ascii = false;
    if (ascii) return String.fromCharCode.apply(null, this.b.subarray(s, s + n));
    try {
      return fromUtf8.decode(this.b.subarray(s, s + n));
    } catch (e) {
      throw new DecodeError(`string at offset ${s} is not UTF-8`);
    }
  }
  u(n) {
    this.need(n);
    const i = this.i;
    this.i += n;
    if (n === 1) return this.b[i];
    if (n === 2) return this.view.getUint16(i);
    if (n === 4) return this.view.getUint32(i);
    const big = this.view.getBigUint64(i);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  s(n) {
    this.need(n);
    const i = this.i;
    this.i += n;
    if (n === 1) return this.view.getInt8(i);
    if (n === 2) return this.view.getInt16(i);
    if (n === 4) return this.view.getInt32(i);
    const big = this.view.getBigInt64(i);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  array(n) {
    const out = new Array(n);
    for (let k = 0; k < n; k++) out[k] = this.value();
    return out;
  }
  map(n) {
    const out = {};
    for (let k = 0; k < n; k++) {
      const key = this.value();
      out[typeof key === "string" ? key : JSON.stringify(key)] = this.value();
    }
    return out;
  }
  value() {
    this.need(1);
    const m = this.b[this.i++];
    if (m < 0x80) return m;
    if (m >= 0xe0) return m - 0x100;
    if (m >= 0xa0 && m < 0xc0) return this.str(m & 0x1f);
    if (m < 0x90) return this.map(m & 0x0f);
    if (m < 0xa0) return this.array(m & 0x0f);
    switch (m) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: case 0xc5: case 0xc6: {
        const n = this.u(m === 0xc4 ? 1 : m === 0xc5 ? 2 : 4);
        this.need(n);
        this.i += n;
        return this.b.slice(this.i - n, this.i);
      }
      case 0xca: this.need(4); this.i += 4; return this.view.getFloat32(this.i - 4);
      case 0xcb: this.need(8); this.i += 8; return this.view.getFloat64(this.i - 8);
      case 0xcc: return this.u(1);
      case 0xcd: return this.u(2);
      case 0xce: return this.u(4);
      case 0xcf: return this.u(8);
      case 0xd0: return this.s(1);
      case 0xd1: return this.s(2);
      case 0xd2: return this.s(4);
      case 0xd3: return this.s(8);
      case 0xd9: return this.str(this.u(1));
      case 0xda: return this.str(this.u(2));
      case 0xdb: return this.str(this.u(4));
      case 0xdc: return this.array(this.u(2));
      case 0xdd: return this.array(this.u(4));
      case 0xde: return this.map(this.u(2));
      case 0xdf: return this.map(this.u(4));
      default:
        throw new DecodeError(`unsupported marker 0x${m.toString(16)} at offset ${this.i - 1}`);
    }
  }
  arrayHeader() {
    this.need(1);
    const m = this.b[this.i++];
    if (m >= 0x90 && m < 0xa0) return m & 0x0f;
    if (m === 0xdc) return this.u(2);
    if (m === 0xdd) return this.u(4);
    throw new DecodeError(`expected an array at offset ${this.i - 1}`);
  }
}

/** Decodes one value that must fill `bytes` exactly. */
export function decode(bytes) {
  const r = new Reader(bytes);
  const v = r.value();
  if (r.i !== bytes.length) throw new DecodeError(`${bytes.length - r.i} trailing bytes after the value`);
  return v;
}

// --- Shapes (docs/abi.md section 5) -----------------------------------------------------

const FUNCTIONS = new Map();
const INIT = [];
let current = { batchTimeMs: 0, partition: 0 };

class CallFailed extends Error {}

function errorText(e) {
  if (e instanceof Error) return e.message ? `${e.name}: ${e.message}` : e.name;
  return String(e);
}

class Out {
  constructor(size) {
    this.buf = new Buf(Math.max(1024, size * 2));
    this.count = 0;
    this.errors = [];
  }
  error(index, e) {
    this.errors.push([index, errorText(e)]);
  }
  /** Encodes every value of `ys`; all or nothing. */
  emitAll(ys) {
    const mark = this.buf.len;
    let n = 0;
    try {
      for (const y of ys) { enc(y, this.buf); n++; }
    } catch (e) {
      this.buf.len = mark;
      throw e;
    }
    this.count += n;
  }
  document() {
    const doc = new Buf(this.buf.len + 64);
    doc.byte(0x92);
    doc.header(0x90, this.count, 0xdc, 0xdd, 15);
    doc.put(this.buf.result());
    doc.header(0x90, this.errors.length, 0xdc, 0xdd, 15);
    for (const [index, message] of this.errors) {
      doc.byte(0x92);
      enc(index, doc);
      enc(message, doc);
    }
    return doc.result();
  }
}

function pair(x) {
  if (!Array.isArray(x) || x.length !== 2) throw new TypeError(`expected a pair [key, value]`);
  return x;
}

function perRecord(each) {
  return (fn, items, out) => {
    items.forEach((x, index) => {
      if (x instanceof DecodeError) return out.error(index, x);
      try {
        each(fn, x, out, index);
      } catch (e) {
        out.error(index, e);
      }
    });
  };
}

function onePerInput(compute) {
  return (fn, items, out) => {
    items.forEach((x, index) => {
      const mark = out.buf.len;
      try {
        if (x instanceof DecodeError) throw x;
        enc(compute(fn, x), out.buf);
      } catch (e) {
        out.buf.len = mark;
        out.buf.byte(0xc0);
        out.error(index, e);
      }
      out.count++;
    });
  };
}

function whole(run) {
  return (fn, items, out) => {
    const bad = items.findIndex((x) => x instanceof DecodeError);
    if (bad >= 0) throw new CallFailed(`item ${bad}: ${errorText(items[bad])}`);
    try {
      out.emitAll(run(fn, items));
    } catch (e) {
      throw new CallFailed(errorText(e));
    }
  };
}

function stateEntry(x) {
  if (!Array.isArray(x) || x.length < 3 || !Array.isArray(x[1]) || !Array.isArray(x[2])) {
    throw new TypeError("expected [key, [values], state_opt, timing_out]");
  }
  return { key: x[0], values: x[1], exists: x[2].length > 0, state: x[2].length > 0 ? x[2][0] : null, timingOut: x.length > 3 && x[3] === true };
}

/** The state of one key in a mapWithState function (Spark's State). */
export class State {
  constructor(value, exists, timingOut) {
    this._value = value;
    this._exists = exists;
    this._timingOut = timingOut;
  }
  exists() { return this._exists; }
  get(fallback = null) { return this._exists ? this._value : fallback; }
  update(value) {
    if (this._timingOut) throw new Error("cannot update the state of a key that is timing out");
    this._value = value;
    this._exists = true;
  }
  remove() { this._value = null; this._exists = false; }
  isTimingOut() { return this._timingOut; }
}

const RUNNERS = {
  map: perRecord((fn, x, out) => out.emitAll([fn(x)])),
  filter: null, // needs the raw records: see call()
  flatMap: perRecord((fn, x, out) => out.emitAll(fn(x))),
  mapValues: perRecord((fn, x, out) => { const [k, v] = pair(x); out.emitAll([[k, fn(v)]]); }),
  flatMapValues: perRecord((fn, x, out) => { const [k, v] = pair(x); out.emitAll(Array.from(fn(v), (y) => [k, y])); }),
  mapPartitions: whole((fn, items) => fn(items)),
  transformWith: whole((fn, items) => fn(...items)),
  reduce: onePerInput((fn, x) => {
    if (!Array.isArray(x) || x.length < 2 || !Array.isArray(x[1])) throw new TypeError("expected a group [key, [values]]");
    if (x[1].length === 0) throw new RangeError("a group with no values");
    return x[1].reduce((a, b) => fn(a, b));
  }),
  inverseReduce: onePerInput((fn, x) => {
    if (!Array.isArray(x) || x.length < 3) throw new TypeError("expected [key, acc, removed]");
    return fn(x[1], x[2]);
  }),
  updateState: onePerInput((fn, x) => {
    const e = stateEntry(x);
    const next = fn(e.values, e.exists ? e.state : null);
    return [next === null || next === undefined ? [] : [next], []];
  }),
  updateStateWithKey: onePerInput((fn, x) => {
    const e = stateEntry(x);
    const next = fn(e.key, e.values, e.exists ? e.state : null);
    return [next === null || next === undefined ? [] : [next], []];
  }),
  mapWithState: onePerInput((fn, x) => {
    const e = stateEntry(x);
    const st = new State(e.state, e.exists, e.timingOut);
    const emitted = [];
    const keep = (r) => { if (r !== null && r !== undefined) emitted.push(r); };
    if (e.timingOut) {
      keep(fn(e.key, null, st));
      return [[], emitted];
    }
    for (const v of e.values) keep(fn(e.key, v, st));
    return [st._exists ? [st._value] : [], emitted];
  }),
};

function register(shape) {
  return (fn, name) => {
    const key = name || fn.name;
    if (!key) throw new Error(`${shape}: give the function a name (a named function, or a second argument)`);
    if (FUNCTIONS.has(key)) throw new Error(`two plugin functions are named \`${key}\``);
    FUNCTIONS.set(key, { shape, fn });
    return fn;
  };
}

/** `f(record) -> record`: one output per record. */
export const map = register("map");
/** `f(record) -> boolean`: keeps the records for which it is true. */
export const filter = register("filter");
/** `f(record) -> iterable of records`. */
export const flatMap = register("flatMap");
/** `f(value) -> value` over pairs `[key, value]`, keeping the keys. */
export const mapValues = register("mapValues");
/** `f(value) -> iterable of values` over pairs, keeping the keys. */
export const flatMapValues = register("flatMapValues");
/** `f(records) -> iterable of records`: the whole partition; a throw fails the call. */
export const mapPartitions = register("mapPartitions");
/** `f(records1, records2, ...) -> iterable of records`: one array per input stream. */
export const transformWith = register("transformWith");
/** `f(a, b) -> value`: reduces each group's values. */
export const reduce = register("reduce");
/** `f(acc, value) -> acc`: like reduce, the first value being the accumulator. */
export const fold = register("reduce");
/** `f(acc, removed) -> value`: takes leaving batches out of a window's value. */
export const inverseReduce = register("inverseReduce");
/** `f(values, state) -> new state`: updateStateByKey; null state for a new key, null removes. */
export const updateState = register("updateState");
/** `f(key, values, state) -> new state`. */
export const updateStateWithKey = register("updateStateWithKey");
/** `f(key, value, state: State) -> record or null`: mapWithState; value null when timing out. */
export const mapWithState = register("mapWithState");

/** `f(params)`: the plugin's params from the job file (an object), once per instance. */
export function init(fn) {
  INIT.push(fn);
  return fn;
}

/** The context of the current call: `{ batchTimeMs, partition }`. */
export function ctx() {
  return current;
}

const LEVELS = { error: "error", warn: "warn", info: "info", debug: "debug", trace: "trace" };

/** Writes `message` to the job's log at `level` (error, warn, info, debug, trace). */
export function log(level, message) {
  hostLog(LEVELS[level] || "info", String(message));
}

const show = (args) => args.map((a) => (typeof a === "string" ? a : (() => { try { return JSON.stringify(a); } catch { return String(a); } })())).join(" ");
globalThis.console = {
  log: (...a) => log("info", show(a)),
  info: (...a) => log("info", show(a)),
  warn: (...a) => log("warn", show(a)),
  error: (...a) => log("error", show(a)),
  debug: (...a) => log("debug", show(a)),
  trace: (...a) => log("trace", show(a)),
};

function readDocument(doc) {
  const r = new Reader(doc);
  if (r.arrayHeader() < 2) throw new DecodeError("the input document is not [items, ctx]");
  const count = r.arrayHeader();
  const items = new Array(count);
  const spans = new Array(count);
  for (let k = 0; k < count; k++) {
    const start = r.i;
    items[k] = r.value();
    spans[k] = [start, r.i];
  }
  const c = r.value();
  return { items, spans, ctx: { batchTimeMs: Number(c.batch_time_ms || 0), partition: Number(c.partition || 0) } };
}

function call(name, doc) {
  const entry = FUNCTIONS.get(name);
  if (!entry) throw new CallFailed(`no function \`${name}\` (functions: ${[...FUNCTIONS.keys()].sort().join(", ") || "none"})`);
  let parsed;
  try {
    parsed = readDocument(doc);
  } catch (e) {
    throw new CallFailed(`bad input document: ${errorText(e)}`);
  }
  current = parsed.ctx;
  const out = new Out(doc.length);
  if (entry.shape === "filter") {
    parsed.items.forEach((x, index) => {
      try {
        if (entry.fn(x)) {
          const [s, e] = parsed.spans[index];
          out.buf.put(doc.subarray(s, e));
          out.count++;
        }
      } catch (e) {
        out.error(index, e);
      }
    });
  } else {
    RUNNERS[entry.shape](entry.fn, parsed.items, out);
  }
  return out.document();
}

// --- The component's export (sluice:plugin/guest@1.0.0) ---------------------------------

export const guest = {
  functions() {
    return [...FUNCTIONS.keys()].sort();
  },
  init(params) {
    try {
      const p = params.length ? decode(params) : {};
      for (const fn of INIT) fn(p === null ? {} : p);
    } catch (e) {
      throw errorText(e);
    }
  },
  call(fn, input) {
    try {
      return call(fn, input);
    } catch (e) {
      throw e instanceof CallFailed ? e.message : errorText(e);
    }
  },
};

