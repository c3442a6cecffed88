package awssqs

import (
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// This file, with the JSON cursor (jsoncursor.go) and its string and blob
// decoding (jsonstring.go), decodes the one response on the hot path,
// ReceiveMessage's, in a single pass over the bytes. encoding/json scans the input twice (once to
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
