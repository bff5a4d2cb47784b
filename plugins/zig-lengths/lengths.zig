//! zig-lengths: a Sluice transform plugin in Zig, written from docs/abi.md alone (no SDK).
//!
//! Exports (docs/abi.md §1): memory, sluice_abi_version, sluice_alloc, sluice_free and the
//! transform `lengths`: each string record `s` becomes the pair `[s, len(s)]` (length in
//! bytes of its UTF-8); any other record is a per-record error
//! "expected a string, found <type>".
//!
//! Build: zig build-exe -target wasm32-freestanding -O ReleaseSmall -fno-entry -rdynamic
//!        lengths.zig -femit-bin=zig-lengths.wasm

const std = @import("std");

const gpa = std.heap.wasm_allocator;

export fn sluice_abi_version() i32 {
    return 1;
}

export fn sluice_alloc(len: i32) i32 {
    const buf = gpa.alloc(u8, @as(u32, @bitCast(len))) catch return 0;
    // A zero-length slice has a dangling, non-zero address: valid per docs/abi.md §2.
    return @bitCast(@as(u32, @intCast(@intFromPtr(buf.ptr))));
}

export fn sluice_free(ptr: i32, len: i32) void {
    const p: [*]u8 = @ptrFromInt(@as(u32, @bitCast(ptr)));
    gpa.free(p[0..@as(u32, @bitCast(len))]);
}

const Error = error{ Truncated, InvalidMarker, NotAnArray, TooShort, OutOfMemory };

/// A bounds-checked MessagePack reader.
const Reader = struct {
    buf: []const u8,
    pos: usize = 0,

    fn take(r: *Reader, n: u64) Error![]const u8 {
        if (n > r.buf.len - r.pos) return error.Truncated;
        const s = r.buf[r.pos .. r.pos + @as(usize, @intCast(n))];
        r.pos += s.len;
        return s;
    }

    fn uint(r: *Reader, n: u64) Error!u64 {
        var v: u64 = 0;
        for (try r.take(n)) |c| v = (v << 8) | c;
        return v;
    }

    fn peek(r: *Reader) Error!u8 {
        if (r.pos >= r.buf.len) return error.Truncated;
        return r.buf[r.pos];
    }

    /// An array header: fixarray, array16 or array32.
    fn arrayLen(r: *Reader) Error!u64 {
        const m = try r.uint(1);
        return switch (m) {
            0x90...0x9f => m & 0x0f,
            0xdc => r.uint(2),
            0xdd => r.uint(4),
            else => error.NotAnArray,
        };
    }

    /// A string (fixstr, str8/16/32), or null with nothing consumed for another type.
    fn str(r: *Reader) Error!?[]const u8 {
        const m = try r.peek();
        const n: u64 = switch (m) {
            0xa0...0xbf => blk: {
                r.pos += 1;
                break :blk m & 0x1f;
            },
            0xd9...0xdb => blk: {
                r.pos += 1;
                break :blk try r.uint(@as(u64, 1) << @intCast(m - 0xd9));
            },
            else => return null,
        };
        return try r.take(n);
    }

    /// Skips one value and everything nested in it, without recursion.
    fn skip(r: *Reader) Error!void {
        var pending: u64 = 1;
        while (pending > 0) : (pending -= 1) {
            const m: u8 = @intCast(try r.uint(1));
            const data: u64 = switch (m) {
                0x00...0x7f, 0xc0, 0xc2, 0xc3, 0xe0...0xff => 0,
                0x80...0x8f => blk: {
                    pending += 2 * @as(u64, m & 0x0f);
                    break :blk 0;
                },
                0x90...0x9f => blk: {
                    pending += m & 0x0f;
                    break :blk 0;
                },
                0xa0...0xbf => m & 0x1f,
                0xc4...0xc6 => try r.uint(@as(u64, 1) << @intCast(m - 0xc4)),
                0xc7...0xc9 => 1 + try r.uint(@as(u64, 1) << @intCast(m - 0xc7)),
                0xca => 4,
                0xcb => 8,
                0xcc...0xcf => @as(u64, 1) << @intCast(m - 0xcc),
                0xd0...0xd3 => @as(u64, 1) << @intCast(m - 0xd0),
                0xd4...0xd8 => 1 + (@as(u64, 1) << @intCast(m - 0xd4)),
                0xd9...0xdb => try r.uint(@as(u64, 1) << @intCast(m - 0xd9)),
                0xdc, 0xdd => blk: {
                    pending += try r.uint(@as(u64, 2) << @intCast(m - 0xdc));
                    break :blk 0;
                },
                0xde, 0xdf => blk: {
                    pending += 2 * try r.uint(@as(u64, 2) << @intCast(m - 0xde));
                    break :blk 0;
                },
                0xc1 => return error.InvalidMarker,
            };
            _ = try r.take(data);
        }
    }
};

/// The type of the value starting with marker `m`, for error messages.
fn typeName(m: u8) []const u8 {
    return switch (m) {
        0x00...0x7f, 0xcc...0xd3, 0xe0...0xff => "an integer",
        0x80...0x8f, 0xde, 0xdf => "a map",
        0x90...0x9f, 0xdc, 0xdd => "an array",
        0xa0...0xbf, 0xd9...0xdb => "a string",
        0xc0 => "nil",
        0xc2, 0xc3 => "a boolean",
        0xc4...0xc6 => "binary",
        0xca, 0xcb => "a float",
        0xc1 => "an invalid marker",
        else => "an extension",
    };
}

/// A growable output buffer on the wasm allocator.
const Writer = struct {
    buf: []u8 = &.{},
    len: usize = 0,

    fn bytes(w: *Writer, s: []const u8) Error!void {
        if (w.len + s.len > w.buf.len) {
            const cap = @max(64, 2 * (w.len + s.len));
            w.buf = try gpa.realloc(w.buf, cap);
        }
        @memcpy(w.buf[w.len .. w.len + s.len], s);
        w.len += s.len;
    }

    fn byte(w: *Writer, b: u8) Error!void {
        try w.bytes(&.{b});
    }

    /// `marker` then `v` big-endian in `n` bytes.
    fn be(w: *Writer, marker: u8, v: u64, comptime n: usize) Error!void {
        var b: [n + 1]u8 = undefined;
        b[0] = marker;
        inline for (0..n) |i| b[n - i] = @truncate(v >> (8 * i));
        try w.bytes(&b);
    }

    fn arrayHeader(w: *Writer, n: u64) Error!void {
        if (n < 16) return w.byte(0x90 | @as(u8, @intCast(n)));
        if (n <= 0xffff) return w.be(0xdc, n, 2);
        return w.be(0xdd, n, 4);
    }

    fn str(w: *Writer, s: []const u8) Error!void {
        const n = s.len;
        if (n < 32) {
            try w.byte(0xa0 | @as(u8, @intCast(n)));
        } else if (n <= 0xff) {
            try w.be(0xd9, n, 1);
        } else if (n <= 0xffff) {
            try w.be(0xda, n, 2);
        } else {
            try w.be(0xdb, n, 4);
        }
        try w.bytes(s);
    }

    fn uint(w: *Writer, v: u64) Error!void {
        if (v <= 0x7f) return w.byte(@intCast(v));
        if (v <= 0xff) return w.be(0xcc, v, 1);
        if (v <= 0xffff) return w.be(0xcd, v, 2);
        if (v <= 0xffffffff) return w.be(0xce, v, 4);
        return w.be(0xcf, v, 8);
    }

    /// Shrinks to the exact length (the host frees with it) and packs (ptr << 32) | len.
    fn finish(w: *Writer) Error!i64 {
        const out = try gpa.realloc(w.buf, w.len);
        const ptr: u64 = @intFromPtr(out.ptr);
        return @bitCast((ptr << 32) | out.len);
    }

    fn deinit(w: *Writer) void {
        gpa.free(w.buf);
    }
};

export fn lengths(ptr: i32, len: i32) i64 {
    const p: [*]const u8 = @ptrFromInt(@as(u32, @bitCast(ptr)));
    return run(p[0..@as(u32, @bitCast(len))]) catch |e| callError(e);
}

fn run(input: []const u8) Error!i64 {
    var r = Reader{ .buf = input };
    if (try r.arrayLen() < 2) return error.TooShort;
    const count = try r.arrayLen();
    // Items and errors go to separate buffers: their counts are known only at the end.
    var items = Writer{};
    defer items.deinit();
    var errors = Writer{};
    defer errors.deinit();
    var produced: u64 = 0;
    var failed: u64 = 0;
    var i: u64 = 0;
    while (i < count) : (i += 1) {
        if (try r.str()) |s| {
            try items.byte(0x92);
            try items.str(s);
            try items.uint(s.len);
            produced += 1;
        } else {
            const m = try r.peek();
            try errors.byte(0x92);
            try errors.uint(i);
            var msg: [64]u8 = undefined;
            const text = std.fmt.bufPrint(&msg, "expected a string, found {s}", .{typeName(m)}) catch unreachable;
            try errors.str(text);
            failed += 1;
            try r.skip();
        }
    }
    // ctx and any trailing elements (docs/abi.md §10) are never read.
    var out = Writer{};
    errdefer out.deinit();
    try out.byte(0x92);
    try out.arrayHeader(produced);
    try out.bytes(items.buf[0..items.len]);
    try out.arrayHeader(failed);
    try out.bytes(errors.buf[0..errors.len]);
    return out.finish();
}

/// A whole-call error `[[], [[nil, "input: <error>"]]]`; traps if even that cannot be
/// allocated.
fn callError(e: Error) i64 {
    var out = Writer{};
    out.bytes(&.{ 0x92, 0x90, 0x91, 0x92, 0xc0 }) catch @panic("out of memory");
    var msg: [64]u8 = undefined;
    const text = std.fmt.bufPrint(&msg, "input: {s}", .{@errorName(e)}) catch unreachable;
    out.str(text) catch @panic("out of memory");
    return out.finish() catch @panic("out of memory");
}
