package awssqs

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects. The decoder recurses
// once per level, so without a bound a response of nested brackets (24 MiB
// of them fit under maxReceiveResponse) would grow the goroutine's stack by
// gigabytes. 10,000 is the limit of encoding/json and of the SDK's own
// decoder, so no response either accepts is refused here.
const maxDepth = 10_000

// jsonDecoder is a cursor over one JSON document.
type jsonDecoder struct {
	b     []byte
	i     int
	depth int // arrays and objects open around the cursor
}

var (
	errSyntax  = errors.New("malformed JSON")
	errTooDeep = fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
)

// enter counts one more level of nesting, failing past maxDepth; the caller
// calls leave when the level closes.
func (d *jsonDecoder) enter() error {
	if d.depth++; d.depth > maxDepth {
		return fmt.Errorf("%w at offset %d", errTooDeep, d.i)
	}
	return nil
}

func (d *jsonDecoder) leave() { d.depth-- }

func (d *jsonDecoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, d.i)
}

func (d *jsonDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *jsonDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// null consumes a null literal if one is next.
func (d *jsonDecoder) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	if len(d.b)-d.i < 4 || string(d.b[d.i:d.i+4]) != "null" {
		return false, d.fail("bad literal")
	}
	d.i += 4
	return true, nil
}

// object calls member for each key of the object that is next; member must
// consume the value.
func (d *jsonDecoder) object(member func(key []byte) error) error {
	if d.peek() != '{' {
		return d.fail("expected an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	defer d.leave()
	d.i++
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.rawKey()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.fail("expected ':'")
		}
		d.i++
		if err := member(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.fail("expected ',' or '}'")
		}
	}
}

// array calls elem for each element of the array that is next.
func (d *jsonDecoder) array(elem func() error) error {
	if d.peek() != '[' {
		return d.fail("expected an array")
	}
	if err := d.enter(); err != nil {
		return err
	}
	defer d.leave()
	d.i++
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.fail("expected ',' or ']'")
		}
	}
}

// rawKey returns an object key. Without escapes (every key SQS sends) it is
// a view into the input, so matching it allocates nothing.
func (d *jsonDecoder) rawKey() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.fail("expected a key")
	}
	for j := d.i + 1; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			k := d.b[d.i+1 : j]
			d.i = j + 1
			return k, nil
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
	}
	s, err := d.str()
	return []byte(s), err
}

// skip consumes any value.
func (d *jsonDecoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func([]byte) error { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, err := d.str()
		return err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
				d.i += len(lit)
				return nil
			}
		}
		return d.fail("bad literal")
	case c == '-' || c >= '0' && c <= '9':
		j, ok := numberEnd(d.b, d.i)
		if !ok {
			return d.fail("bad number")
		}
		d.i = j
		return nil
	default:
		return d.fail("expected a value")
	}
}

// numberEnd returns where the JSON number starting at b[i] ends, and
// whether it is one. It follows JSON's grammar (RFC 8259 section 6), which
// is stricter than strconv.ParseFloat: no leading zeros ("00"), no bare
// dot ("1.", "-.5"), no plus sign.
func numberEnd(b []byte, i int) (int, bool) {
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}
