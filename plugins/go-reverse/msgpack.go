// MessagePack reading and writing for the few shapes this plugin needs (docs/abi.md §4).

package main

import "errors"

var errTruncated = errors.New("truncated document")

// reader reads MessagePack values from a byte slice, bounds-checked.
type reader struct {
	buf []byte
	pos int
}

func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.buf)-r.pos) {
		return nil, errTruncated
	}
	b := r.buf[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

func (r *reader) uint(n int) (uint64, error) {
	b, err := r.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (r *reader) peek() (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, errTruncated
	}
	return r.buf[r.pos], nil
}

// arrayLen reads an array header (fixarray, array16, array32).
func (r *reader) arrayLen() (uint64, error) {
	m, err := r.uint(1)
	if err != nil {
		return 0, err
	}
	switch {
	case m >= 0x90 && m <= 0x9f:
		return m & 0x0f, nil
	case m == 0xdc:
		return r.uint(2)
	case m == 0xdd:
		return r.uint(4)
	}
	return 0, errors.New("expected an array, found " + typeName(byte(m)))
}

// str reads a string (fixstr, str8, str16, str32); ok is false, with nothing consumed,
// when the next value is not a string.
func (r *reader) str() (s []byte, ok bool, err error) {
	m, err := r.peek()
	if err != nil {
		return nil, false, err
	}
	var n uint64
	switch {
	case m >= 0xa0 && m <= 0xbf:
		r.pos++
		n = uint64(m & 0x1f)
	case m >= 0xd9 && m <= 0xdb:
		r.pos++
		if n, err = r.uint(1 << (m - 0xd9)); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, nil
	}
	s, err = r.take(n)
	return s, err == nil, err
}

// skip skips one value, nested ones included, without recursion.
func (r *reader) skip() error {
	for pending := uint64(1); pending > 0; pending-- {
		m, err := r.uint(1)
		if err != nil {
			return err
		}
		var data uint64 // payload bytes after the header
		switch {
		case m <= 0x7f || m >= 0xe0 || (m >= 0xc0 && m <= 0xc3 && m != 0xc1):
		case m >= 0x80 && m <= 0x8f:
			pending += 2 * (m & 0x0f)
		case m >= 0x90 && m <= 0x9f:
			pending += m & 0x0f
		case m >= 0xa0 && m <= 0xbf:
			data = m & 0x1f
		case m >= 0xc4 && m <= 0xc6: // bin 8/16/32
			data, err = r.uint(1 << (m - 0xc4))
		case m >= 0xc7 && m <= 0xc9: // ext 8/16/32: length, type, data
			data, err = r.uint(1 << (m - 0xc7))
			data++
		case m == 0xca:
			data = 4
		case m == 0xcb:
			data = 8
		case m >= 0xcc && m <= 0xcf:
			data = 1 << (m - 0xcc)
		case m >= 0xd0 && m <= 0xd3:
			data = 1 << (m - 0xd0)
		case m >= 0xd4 && m <= 0xd8: // fixext 1..16 plus the type byte
			data = 1 + 1<<(m-0xd4)
		case m >= 0xd9 && m <= 0xdb:
			data, err = r.uint(1 << (m - 0xd9))
		case m == 0xdc || m == 0xdd:
			var n uint64
			n, err = r.uint(2 << (m - 0xdc))
			pending += n
		case m == 0xde || m == 0xdf:
			var n uint64
			n, err = r.uint(2 << (m - 0xde))
			pending += 2 * n
		default:
			return errors.New("invalid marker 0xc1")
		}
		if err != nil {
			return err
		}
		if _, err := r.take(data); err != nil {
			return err
		}
	}
	return nil
}

// typeName names the type of the value starting with marker m.
func typeName(m byte) string {
	switch {
	case m <= 0x7f || m >= 0xe0 || (m >= 0xcc && m <= 0xd3):
		return "an integer"
	case m <= 0x8f || m == 0xde || m == 0xdf:
		return "a map"
	case m <= 0x9f || m == 0xdc || m == 0xdd:
		return "an array"
	case m <= 0xbf || (m >= 0xd9 && m <= 0xdb):
		return "a string"
	case m == 0xc0:
		return "nil"
	case m == 0xc2 || m == 0xc3:
		return "a boolean"
	case m >= 0xc4 && m <= 0xc6:
		return "binary"
	case m == 0xca || m == 0xcb:
		return "a float"
	case m == 0xc1:
		return "an invalid marker"
	}
	return "an extension"
}

// Writers, shortest encodings.

func be(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= 0xffff:
		return be(append(b, 0xdc), uint64(n), 2)
	}
	return be(append(b, 0xdd), uint64(n), 4)
}

func appendStr(b []byte, s []byte) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= 0xff:
		b = append(b, 0xd9, byte(n))
	case n <= 0xffff:
		b = be(append(b, 0xda), uint64(n), 2)
	default:
		b = be(append(b, 0xdb), uint64(n), 4)
	}
	return append(b, s...)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= 0xff:
		return append(b, 0xcc, byte(v))
	case v <= 0xffff:
		return be(append(b, 0xcd), v, 2)
	case v <= 0xffffffff:
		return be(append(b, 0xce), v, 4)
	}
	return be(append(b, 0xcf), v, 8)
}
