package awssqs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// This file decodes the one response on the hot path, ReceiveMessage's, in
// a single pass over the bytes. encoding/json scans the input twice (once to
// validate, once to decode) and, for a string with escapes, which every JSON
// message body has, unescapes it into one buffer and then copies that into
// the string; the SDK's decoder copies more. Here each string costs one
// allocation of its final size. Keys are matched exactly, as the SDK does;
// unknown keys are skipped, so new fields in SQS responses do no harm.
// Where the SDK and encoding/json disagree, it does as the SDK does: a
// repeated member replaces the earlier one (a second "Attributes" is not
// merged into the first), a null member leaves the field as it was, and a
// null map or list element is the zero value ("" for a string).
// FuzzDecodeReceive checks it against encoding/json and the SDK, and
// TestDecodeReceiveMatchesSDK against the SDK on real emulator responses.

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

// str decodes the string that is next, into one allocation of its final
// size. Invalid UTF-8 and lone surrogates become U+FFFD, as encoding/json
// does.
func (d *jsonDecoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.fail("expected a string")
	}
	start := d.i + 1
	// Fast path: nothing to unescape and valid UTF-8, so the bytes are the
	// string.
	ascii := true
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		switch {
		case c == '"':
			raw := d.b[start:j]
			if ascii || utf8.Valid(raw) {
				d.i = j + 1
				return string(raw), nil
			}
			return d.strSlow(start)
		case c == '\\':
			return d.strSlow(start)
		case c < ' ':
			d.i = j
			return "", d.fail("control character in string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	d.i = len(d.b)
	return "", d.fail("unterminated string")
}

func (d *jsonDecoder) strSlow(start int) (string, error) {
	// The unescaped string is never longer than the escaped one, except for
	// invalid bytes that grow into U+FFFD; the builder copes with that.
	end := start
	for end < len(d.b) && d.b[end] != '"' {
		if d.b[end] == '\\' {
			end++
		}
		end++
	}
	var sb strings.Builder
	sb.Grow(min(end, len(d.b)) - start)
	j := start
	for {
		if j >= len(d.b) {
			d.i = j
			return "", d.fail("unterminated string")
		}
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			return sb.String(), nil
		case c == '\\':
			if j+1 >= len(d.b) {
				d.i = j
				return "", d.fail("unterminated escape")
			}
			j++
			switch e := d.b[j]; e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, ok := hex4(d.b, j+1)
				if !ok {
					d.i = j
					return "", d.fail("bad \\u escape")
				}
				j += 4
				if utf16.IsSurrogate(r) {
					// A pair is two escapes; anything else is a lone half.
					if r2, ok := hex4(d.b, j+3); ok && j+2 < len(d.b) && d.b[j+1] == '\\' && d.b[j+2] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							sb.WriteRune(dec)
							j += 6
							break
						}
					}
					r = utf8.RuneError
				}
				sb.WriteRune(r)
			default:
				d.i = j
				return "", d.fail("bad escape")
			}
			j++
		case c < ' ':
			d.i = j
			return "", d.fail("control character in string")
		case c < utf8.RuneSelf:
			sb.WriteByte(c)
			j++
		default:
			r, size := utf8.DecodeRune(d.b[j:])
			sb.WriteRune(r) // RuneError for an invalid byte, as encoding/json
			j += size
		}
	}
}

// hex4 reads the four hex digits of a \u escape starting at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
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

// optString decodes a string into *dst; a null leaves *dst as it was, as
// the SDK skips null members.
func (d *jsonDecoder) optString(dst **string) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	s, err := d.str()
	if err == nil {
		*dst = &s
	}
	return err
}

// strOrNull decodes a string; null is "", as the SDK decodes a null map or
// list element.
func (d *jsonDecoder) strOrNull() (string, error) {
	if isNull, err := d.null(); isNull || err != nil {
		return "", err
	}
	return d.str()
}

// optBlob decodes a blob into *dst; a null leaves *dst as it was.
func (d *jsonDecoder) optBlob(dst *[]byte) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	b, err := d.blob()
	if err == nil {
		*dst = b
	}
	return err
}

// blob decodes a base64 string (awsJson1_0 blobs are standard base64), or
// null as nil.
func (d *jsonDecoder) blob() ([]byte, error) {
	if isNull, err := d.null(); isNull || err != nil {
		return nil, err
	}
	s, err := d.str()
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return b, nil
}

// decodeReceiveJSON decodes a ReceiveMessage response body into out.
func decodeReceiveJSON(b []byte, out *sqs.ReceiveMessageOutput) error {
	d := &jsonDecoder{b: b}
	err := d.object(func(key []byte) error {
		if string(key) != "Messages" {
			return d.skip()
		}
		if isNull, err := d.null(); isNull || err != nil {
			return err // null: left as it was
		}
		// A fresh slice: a repeated "Messages" replaces the earlier list
		// (and must not overwrite messages already handed out), and an
		// empty array is not null.
		out.Messages = make([]types.Message, 0, 10)
		return d.array(func() error {
			var m types.Message
			if err := d.message(&m); err != nil {
				return err
			}
			out.Messages = append(out.Messages, m)
			return nil
		})
	})
	if err != nil {
		return err
	}
	// Not peek() != 0: peek's 0 for the end is also a NUL byte.
	if d.ws(); d.i != len(d.b) {
		return d.fail("data after the response")
	}
	return nil
}

func (d *jsonDecoder) message(m *types.Message) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	return d.object(func(key []byte) (err error) {
		switch string(key) {
		case "MessageId":
			err = d.optString(&m.MessageId)
		case "ReceiptHandle":
			err = d.optString(&m.ReceiptHandle)
		case "Body":
			err = d.optString(&m.Body)
		case "MD5OfBody":
			err = d.optString(&m.MD5OfBody)
		case "MD5OfMessageAttributes":
			err = d.optString(&m.MD5OfMessageAttributes)
		case "Attributes":
			err = d.stringMap(&m.Attributes)
		case "MessageAttributes":
			err = d.attributeMap(&m.MessageAttributes)
		default:
			err = d.skip()
		}
		return err
	})
}

// stringMap decodes an object of strings into a new map at *dst. A null
// leaves *dst as it was; a null value is "", and of a repeated key the
// last value wins.
func (d *jsonDecoder) stringMap(dst *map[string]string) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	m := map[string]string{}
	*dst = m
	return d.object(func(key []byte) error {
		v, err := d.strOrNull()
		k, ok := systemAttributeNames[string(key)] // no allocation for the usual names
		if !ok {
			k = string(key)
		}
		m[k] = v
		return err
	})
}

// systemAttributeNames holds the names SQS sends in Attributes, so that
// decoding them does not allocate a new key string per message.
var systemAttributeNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range types.MessageSystemAttributeName("").Values() {
		m[string(n)] = string(n)
	}
	return m
}()

// attributeMap decodes message attributes into a new map at *dst, with the
// null rules of stringMap (a null value is the zero attribute).
func (d *jsonDecoder) attributeMap(dst *map[string]types.MessageAttributeValue) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	m := map[string]types.MessageAttributeValue{}
	*dst = m
	return d.object(func(key []byte) error {
		var v types.MessageAttributeValue
		if isNull, err := d.null(); isNull || err != nil {
			m[string(key)] = v
			return err
		}
		err := d.object(func(field []byte) (err error) {
			switch string(field) {
			case "DataType":
				err = d.optString(&v.DataType)
			case "StringValue":
				err = d.optString(&v.StringValue)
			case "BinaryValue":
				err = d.optBlob(&v.BinaryValue)
			case "StringListValues":
				err = list(d, &v.StringListValues, d.strOrNull)
			case "BinaryListValues":
				err = list(d, &v.BinaryListValues, d.blob)
			default:
				err = d.skip()
			}
			return err
		})
		m[string(key)] = v
		return err
	})
}

// list decodes an array into a new slice at *dst with elem, which must
// decode a null element as the zero value. A null leaves *dst as it was.
func list[T any](d *jsonDecoder, dst *[]T, elem func() (T, error)) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	l := []T{}
	err := d.array(func() error {
		v, err := elem()
		l = append(l, v)
		return err
	})
	*dst = l
	return err
}
