// go-reverse: a Sluice transform plugin in Go, written from docs/abi.md alone (no SDK).
//
// Exports (docs/abi.md §1): memory, sluice_abi_version, sluice_alloc, sluice_free,
// _initialize (from -buildmode=c-shared: starts Go's runtime and runs init functions),
// and two transforms:
//
//	reverse  each string record reversed by code points; any other record is a
//	         per-record error "expected a string, found <type>"
//	inits    ignores its records and outputs one record: how many times this
//	         instance's init() ran (1 when the host called _initialize once)
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o go-reverse.wasm .
package main

import "unsafe"

// live keeps every buffer handed to the host reachable until sluice_free: Go's
// collector does not move objects, so a reachable slice keeps its address.
var live = map[uintptr][]byte{}

var initRuns int

func init() { initRuns++ }

// main is never called in a reactor (c-shared) module.
func main() {}

//go:wasmexport sluice_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport sluice_alloc
func sluiceAlloc(n int32) int32 {
	return keep(make([]byte, max(int(uint32(n)), 1)))
}

//go:wasmexport sluice_free
func sluiceFree(ptr, _ int32) {
	delete(live, uintptr(uint32(ptr)))
}

// keep registers b as live and returns its address.
func keep(b []byte) int32 {
	if len(b) == 0 {
		b = make([]byte, 1)
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	live[p] = b
	return int32(uint32(p))
}

// input is the document the host wrote at (ptr, n); only read during the call.
func input(ptr, n int32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(uint32(ptr)))), int(uint32(n)))
}

// ret keeps the output document alive and packs (out_ptr << 32) | out_len.
func ret(out []byte) int64 {
	n := len(out)
	p := keep(out[:n:n])
	return int64(uint64(uint32(p))<<32 | uint64(n))
}

type recordError struct {
	index   int
	message string
}

// output writes [items, errors]; items are already encoded, count of them.
func output(count int, items []byte, errs []recordError) []byte {
	out := make([]byte, 0, len(items)+16+64*len(errs))
	out = append(out, 0x92)
	out = appendArrayHeader(out, count)
	out = append(out, items...)
	out = appendArrayHeader(out, len(errs))
	for _, e := range errs {
		out = append(out, 0x92)
		out = appendUint(out, uint64(e.index))
		out = appendStr(out, []byte(e.message))
	}
	return out
}

// callError is a whole-call error: [[], [[nil, message]]].
func callError(message string) []byte {
	out := []byte{0x92, 0x90, 0x91, 0x92, 0xc0}
	return appendStr(out, []byte(message))
}

// items reads the header of [items, ctx] and returns the reader at the first item and
// the item count; ctx and any trailing elements are never read.
func items(doc []byte) (*reader, uint64, error) {
	r := &reader{buf: doc}
	n, err := r.arrayLen()
	if err != nil {
		return nil, 0, err
	}
	if n < 2 {
		return nil, 0, errorString("input document has fewer than 2 elements")
	}
	count, err := r.arrayLen()
	return r, count, err
}

type errorString string

func (e errorString) Error() string { return string(e) }

//go:wasmexport reverse
func reverse(ptr, n int32) int64 {
	r, count, err := items(input(ptr, n))
	if err != nil {
		return ret(callError("input: " + err.Error()))
	}
	var out []byte
	var errs []recordError
	produced := 0
	for i := 0; uint64(i) < count; i++ {
		s, ok, err := r.str()
		if err == nil && !ok {
			m, _ := r.peek()
			errs = append(errs, recordError{i, "expected a string, found " + typeName(m)})
			err = r.skip()
		}
		if err != nil {
			return ret(callError("input: item " + itoa(i) + ": " + err.Error()))
		}
		if !ok {
			continue
		}
		runes := []rune(string(s))
		for a, b := 0, len(runes)-1; a < b; a, b = a+1, b-1 {
			runes[a], runes[b] = runes[b], runes[a]
		}
		out = appendStr(out, []byte(string(runes)))
		produced++
	}
	return ret(output(produced, out, errs))
}

//go:wasmexport inits
func inits(ptr, n int32) int64 {
	return ret(output(1, appendUint(nil, uint64(initRuns)), nil))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
