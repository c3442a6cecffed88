package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/viper"
)

var (
	stringType   = reflect.TypeFor[string]()
	intType      = reflect.TypeFor[int]()
	durationType = reflect.TypeFor[time.Duration]()

	// expected says what each field type takes, in the user's terms.
	expected = map[reflect.Type]string{
		stringType:                  "a string",
		intType:                     "an integer",
		reflect.TypeFor[bool]():     "true or false",
		durationType:                `a duration such as "20s" or "15m"`,
		reflect.TypeFor[[]string](): "a list of strings or a string",
		reflect.TypeFor[[]int]():    "a list of integers",
	}
)

// decode unmarshals the value v holds for k, from whichever source wins,
// into c's field. The field keeps its value when v holds none, and when
// the value does not decode: then the error says why in the user's terms.
func (k key) decode(v *viper.Viper, c *Config) error {
	if !v.IsSet(k.name) {
		return nil // as UnmarshalKey would, without building a decoder
	}
	f := k.field(c)
	if err := v.UnmarshalKey(k.name, f.Addr().Interface(), viper.DecodeHook(convert)); err != nil {
		return errors.Unwrap(err) // convert's, inside mapstructure's DecodeError
	}
	if f.Kind() == reflect.String {
		// Env values from secrets and templated manifests often carry a
		// trailing newline, and no scalar key has meaningful surrounding
		// whitespace. List elements (argv) keep theirs, which is why this
		// is not done in convert: it converts each element too.
		f.SetString(strings.TrimSpace(f.String()))
	}
	return nil
}

// convert is the decode hook viper's UnmarshalKey runs: it turns a value
// from any source (a YAML node, an env var's text, a flag's text or texts)
// into the type of the field it is decoded into.
func convert(from, to reflect.Value) (any, error) {
	raw, t := from.Interface(), to.Type()
	if t.Kind() != reflect.Slice {
		return scalar(raw, t)
	}
	if s, ok := raw.(string); ok && t.Elem() == stringType {
		// No shell: whitespace splitting only, so quoting is not supported
		// here; use a YAML list for arguments that contain spaces.
		return strings.Fields(s), nil
	}
	if s, ok := raw.(string); ok {
		fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		out := make([]int, len(fields))
		for i, f := range fields {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("must be a list of integers, got %q", f)
			}
			out[i] = n
		}
		return out, nil
	}
	list := reflect.ValueOf(raw)
	switch raw.(type) {
	case int, int64, uint64, float64: // a lone status
		if t.Elem() == intType {
			n, err := scalar(raw, intType)
			if err != nil {
				return nil, err
			}
			return []int{n.(int)}, nil
		}
	}
	if list.Kind() != reflect.Slice {
		return nil, fmt.Errorf("must be %s, got %s", expected[t], describe(raw))
	}
	out := reflect.MakeSlice(t, list.Len(), list.Len())
	for i := range list.Len() {
		x, err := scalar(list.Index(i).Interface(), t.Elem())
		if err != nil {
			return nil, fmt.Errorf("element %d %w", i, err)
		}
		out.Index(i).Set(reflect.ValueOf(x))
	}
	return out.Interface(), nil
}

// scalar converts one value into t. YAML has already typed 8080 or true
// while env vars and flags give text, so both are read as the text a user
// would have typed, with the surrounding whitespace of env values ignored.
func scalar(raw any, t reflect.Type) (any, error) {
	wrong := fmt.Errorf("must be %s, got %s", expected[t], describe(raw))
	switch x := raw.(type) {
	case string, int, int64, uint64, bool:
	case float64:
		if t == intType && x == math.Trunc(x) && x >= math.MinInt && x < math.MaxInt {
			return int(x), nil
		}
		if t != stringType {
			return nil, wrong
		}
	default:
		return nil, wrong
	}
	text := fmt.Sprint(raw)
	var out any
	var err error
	switch t {
	case stringType:
		return text, nil
	case intType:
		out, err = strconv.Atoi(strings.TrimSpace(text))
	case durationType:
		// Go's syntax takes a bare number only for the unambiguous zero:
		// 20 could mean seconds or nanoseconds.
		out, err = time.ParseDuration(strings.TrimSpace(text))
	default:
		// strconv's set (true, false, 1, 0, t, f, in any case people type
		// them in a manifest) rather than YAML 1.1's yes/no/on/off, which
		// viper does not apply to env values either.
		out, err = strconv.ParseBool(strings.TrimSpace(text))
	}
	if err != nil {
		return nil, wrong
	}
	return out, nil
}

// describe renders a bad value for an error message without dumping a whole
// YAML subtree into one line.
func describe(raw any) string {
	switch x := raw.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(truncate(x))
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case int, int64, uint64, float64, bool, time.Duration:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("a %T", raw)
}

func truncate(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
