package awssqs

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

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
