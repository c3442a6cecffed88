package awssqs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// decodeBoth decodes doc with decodeReceiveJSON and with encoding/json (whose
// treatment of the SDK's output type matches the SDK's decoder: see
// TestDecodeReceiveMatchesSDK).
func decodeBoth(doc []byte) (got, want sqs.ReceiveMessageOutput, gotErr, wantErr error) {
	gotErr = decodeReceiveJSON(doc, &got)
	wantErr = json.Unmarshal(doc, &want)
	return
}

func TestDecodeReceiveJSONCases(t *testing.T) {
	valid := []string{
		`{}`,
		`{"Messages":[]}`,
		`{"Messages":null}`,
		` { "Messages" : [ { "Body" : "a" } , {"Body":null} ] } `,
		`{"Other":{"x":[1,-2.5e3,true,false,null,"s",{"y":{}}]},"Messages":[{"Body":"b","Unknown":[{}]}]}`,
		`{"Other":[0,-0,0.5,-0.5e-3,10E+2,1e2,123.456]}`,
		`{"Messages":[{"Body":"esc \" \\ \/ \b \f \n \r \t \u00e9 \u20ac \ud83d\ude00 end"}]}`,
		`{"Messages":[{"Body":"lone \ud83d then \ude00 and \ud83d\u0041 pair-less"}]}`,
		"{\"Messages\":[{\"Body\":\"invalid utf8 \xff\xfe and valid é\"}]}",
		"{\"Messages\":[{\"Body\":\"invalid \xc3 with escape \\n\"}]}",
		`{"Messages":[{"MessageId":"id","ReceiptHandle":"rh","MD5OfBody":"m","MD5OfMessageAttributes":"ma",
		  "Attributes":{"SentTimestamp":"1","ApproximateReceiveCount":"2"},
		  "MessageAttributes":{"s":{"DataType":"String","StringValue":"v"},
		    "b":{"DataType":"Binary","BinaryValue":"AAEC/w=="},
		    "esc":{"DataType":"Binary","BinaryValue":"AAEC\/w=="},
		    "l":{"DataType":"String","StringListValues":["a","b"],"BinaryListValues":["AA==","AQ=="]},
		    "n":null}}]}`,
		`{"Messages":[{"Body":"first"}],"Messages":[{"Body":"second"}]}`,
		`{"Messages":[{"Attributes":{"a":"1","a":"2"},"MessageAttributes":{"x":{"DataType":"String"},"x":{"StringValue":"v"}}}]}`,
		`{"Messages":[{"Attributes":{"a":null},"MessageAttributes":{"x":null}}]}`,
	}
	for _, doc := range valid {
		got, want, gotErr, wantErr := decodeBoth([]byte(doc))
		if wantErr != nil {
			t.Fatalf("test case is not valid JSON: %v\n%s", wantErr, doc)
		}
		if gotErr != nil {
			t.Errorf("decode %s: %v", doc, gotErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("decode %s:\n got %+v\nwant %+v", doc, got, want)
		}
	}

	invalid := []string{
		``,
		`[]`,
		`{"Messages":[{"Body":"unterminated}]}`,
		`{"Messages":[{"Body":"bad \x escape"}]}`,
		`{"Messages":[{"Body":"bad \u12g4"}]}`,
		"{\"Messages\":[{\"Body\":\"raw \x01 control\"}]}",
		`{"Messages":[{"Body":1}]}`,
		`{"Messages":[{"Body":"a"}]`,
		`{"Messages":[{"Body":"a"},]}`,
		`{"Messages":[{"Body":"a"}]} trailing`,
		"{}\x00",
		`{"Messages":[{"MessageAttributes":{"b":{"BinaryValue":"not base64!"}}}]}`,
		`{"Other":tru}`,
		`{"Other":1.2.3}`,
		// strconv.ParseFloat takes these; JSON does not.
		`{"Other":00}`,
		`{"Other":01}`,
		`{"Other":1.}`,
		`{"Other":-.5}`,
		`{"Other":+1}`,
		`{"Other":1e}`,
		`{"Other":1e+}`,
		`{"Other":-}`,
	}
	for _, doc := range invalid {
		var out sqs.ReceiveMessageOutput
		if err := decodeReceiveJSON([]byte(doc), &out); err == nil {
			t.Errorf("decode %q: no error", doc)
		}
	}
}

// cannedResponse answers every request with the body it is given, as a
// successful ReceiveMessage response, without a network.
type cannedResponse struct{ body []byte }

func (c cannedResponse) Do(req *http.Request) (*http.Response, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	return &http.Response{StatusCode: 200, Header: h, ContentLength: int64(len(c.body)),
		Body: io.NopCloser(bytes.NewReader(c.body)), Request: req}, nil
}

// sdkDecode decodes a ReceiveMessage response body with the SDK's own
// decoder, the reference for what decodeReceiveJSON must give.
func sdkDecode(doc []byte) ([]types.Message, error) {
	c := sqs.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		HTTPClient:       cannedResponse{doc},
		RetryMaxAttempts: 1,
	}, func(o *sqs.Options) { o.DisableMessageChecksumValidation = true })
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String("http://127.0.0.1:1/1/q")})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// TestDecodeReceiveMatchesSDKWhereJSONDiffers: where the SDK's decoder and
// encoding/json disagree, decodeReceiveJSON does as the SDK does. A repeated
// Attributes or MessageAttributes replaces the first (encoding/json merges
// them); a null attribute value or list element is "" (this decoder used to
// reject it); a null member leaves what came before.
func TestDecodeReceiveMatchesSDKWhereJSONDiffers(t *testing.T) {
	for _, doc := range []string{
		`{"Messages":[{"Attributes":{"a":"1","b":"x"},"Attributes":{"b":"2"}}]}`,
		`{"Messages":[{"MessageAttributes":{"a":{"DataType":"String","StringValue":"1"}},"MessageAttributes":{"b":{"DataType":"Number","StringValue":"2"}}}]}`,
		`{"Messages":[{"Attributes":{"SenderId":null,"a":"1","a":"2"}}]}`,
		`{"Messages":[{"MessageAttributes":{"l":{"DataType":"String","StringListValues":["a",null],"BinaryListValues":[null,"AA=="]}}}]}`,
		`{"Messages":[{"Body":"kept","Body":null,"Attributes":{"a":"1"},"Attributes":null,
		  "MessageAttributes":{"s":{"DataType":"String","DataType":null,"StringValue":"v","BinaryValue":"AA==","BinaryValue":null}}}]}`,
		`{"Messages":[{"Body":"kept"}],"Messages":null}`,
		`{"Messages":[null,{"Body":"b"}]}`,
	} {
		want, wantErr := sdkDecode([]byte(doc))
		if wantErr != nil {
			t.Fatalf("the SDK rejects %s: %v", doc, wantErr)
		}
		var got sqs.ReceiveMessageOutput
		if err := decodeReceiveJSON([]byte(doc), &got); err != nil {
			t.Errorf("decode %s: %v", doc, err)
			continue
		}
		if !reflect.DeepEqual(got.Messages, want) {
			t.Errorf("decode %s:\n got %+v\nwant %+v (the SDK)", doc, got.Messages, want)
		}
	}
}

// nested returns a response whose unknown member holds depth-1 nested
// arrays, so the document nests depth levels in all.
func nested(depth int) []byte {
	return []byte(`{"Other":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `,"Messages":[]}`)
}

// TestDecodeReceiveDepthLimit: nesting is bounded as encoding/json and the
// SDK bound it (10,000 levels): one level more is refused with a clear
// error, and a response of 200,000 nested arrays is refused without growing
// the stack by megabytes (it grew by 64 MiB, and a 24 MiB response could
// grow it by gigabytes).
func TestDecodeReceiveDepthLimit(t *testing.T) {
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		doc := nested(depth)
		var out sqs.ReceiveMessageOutput
		err := decodeReceiveJSON(doc, &out)
		if ok := err == nil; ok != json.Valid(doc) {
			t.Errorf("depth %d: error %v, but encoding/json says valid=%v", depth, err, json.Valid(doc))
		}
		if _, sdkErr := sdkDecode(doc); (sdkErr == nil) != (err == nil) {
			t.Errorf("depth %d: error %v, the SDK's %v", depth, err, sdkErr)
		}
		if depth > maxDepth && (!errors.Is(err, errTooDeep) || !strings.Contains(err.Error(), "nested deeper than 10000")) {
			t.Errorf("depth %d: error %v, want one saying it is nested too deep", depth, err)
		}
	}

	// In a goroutine of its own, so that its stack is the decoder's alone.
	type result struct {
		err   error
		grown uint64
	}
	done := make(chan result)
	go func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var out sqs.ReceiveMessageOutput
		err := decodeReceiveJSON(nested(200_000), &out)
		runtime.ReadMemStats(&after) // before the stack can shrink again
		done <- result{err, after.StackInuse - min(after.StackInuse, before.StackInuse)}
	}()
	r := <-done
	if !errors.Is(r.err, errTooDeep) {
		t.Errorf("200,000 nested arrays: error %v, want %v", r.err, errTooDeep)
	}
	// 10,000 levels take a few MiB of stack; unbounded, 200,000 took 64.
	if r.grown > 16<<20 {
		t.Errorf("200,000 nested arrays grew the stack by %d MiB", r.grown>>20)
	}
}

// FuzzDecodeReceive: whatever the body and attribute values, decoding a
// response that carries them gives what encoding/json gives, both for
// encoding/json's escaping (which escapes <, > and & as \u) and for a
// minimal escaping that leaves non-ASCII and invalid bytes raw. Arbitrary
// documents must not panic, and only valid JSON may be accepted.
func FuzzDecodeReceive(f *testing.F) {
	f.Add("hello", "v", []byte{0, 1}, `{"Messages":[]}`)
	f.Add(`{"json":"body <&>"}`, "é\u2028", []byte{}, `{"Messages":[{"Body":"\ud800"}]}`)
	f.Add("\xff\xfe", "\t\n", []byte("x"), `{"a":[1,{"b":null}]}`)
	f.Add("", "", []byte{}, `{"Messages":[{"Attributes":{"a":"1"},"Attributes":{"b":null}}]}`)
	f.Add("", "", []byte{}, `{"Messages":[{"Body":"b","Body":null,"MessageAttributes":{"x":{"StringListValues":[null]}}}]}`)
	f.Add("", "", []byte{}, `{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`)
	f.Fuzz(func(t *testing.T, body, str string, bin []byte, doc string) {
		for _, enc := range []func(string) string{jsonString, minimalString} {
			resp := `{"Messages":[{"MessageId":"id","Body":` + enc(body) +
				`,"Attributes":{` + enc(str) + `:` + enc(body) + `},"MessageAttributes":{` + enc(str) +
				`:{"DataType":"Binary","StringValue":` + enc(str) + `,"BinaryValue":` + enc(b64(bin)) +
				`,"StringListValues":[` + enc(str) + `,` + enc(body) + `]}}}]}`
			got, want, gotErr, wantErr := decodeBoth([]byte(resp))
			if wantErr != nil {
				t.Fatalf("encoding/json rejects the generated response: %v\n%q", wantErr, resp)
			}
			if gotErr != nil {
				t.Fatalf("decode %q: %v", resp, gotErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decode %q:\n got %+v\nwant %+v", resp, got, want)
			}
		}

		// encoding/json matches keys case-insensitively and the SDK does
		// not, so on arbitrary documents the two only agree on validity.
		var out sqs.ReceiveMessageOutput
		err := decodeReceiveJSON([]byte(doc), &out)
		if err == nil && !json.Valid([]byte(doc)) {
			t.Fatalf("accepted invalid JSON %q", doc)
		}
		// The SDK is the reference for what a valid response means. It
		// keeps invalid UTF-8 as it is where encoding/json (and this
		// decoder) write U+FFFD, a difference SQS, which sends only valid
		// Unicode, never shows.
		if err != nil || !utf8.ValidString(doc) {
			return
		}
		want, sdkErr := sdkDecode([]byte(doc))
		if sdkErr != nil {
			t.Fatalf("decoded %q, the SDK fails: %v", doc, sdkErr)
		}
		if !reflect.DeepEqual(out.Messages, want) {
			t.Fatalf("decode %q:\n got %+v\nwant %+v (the SDK)", doc, out.Messages, want)
		}
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// minimalString escapes only what JSON requires.
func minimalString(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < ' ':
			sb.WriteString(`\u00`)
			sb.WriteByte("0123456789abcdef"[c>>4])
			sb.WriteByte("0123456789abcdef"[c&15])
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return strings.Trim(string(out), `"`)
}

// BenchmarkDecodeReceive decodes a full ReceiveMessage response (ten
// messages with system and message attributes, JSON bodies that need
// unescaping), as the adapter does on every receive.
func BenchmarkDecodeReceive(b *testing.B) {
	for _, size := range []int{256, 64 << 10} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			body := `{"i":1,"pad":"` + strings.Repeat("x", size-16) + `"}`
			var msgs []string
			for i := range 10 {
				msgs = append(msgs, `{"MessageId":"`+strconv.Itoa(i)+`-5fea7756-0ea4-451a-a703-a558b933e274","ReceiptHandle":"`+strings.Repeat("AQEB", 40)+
					`","MD5OfBody":"0123456789abcdef0123456789abcdef","Body":`+jsonString(body)+
					`,"Attributes":{"SenderId":"AIDAEXAMPLE","ApproximateFirstReceiveTimestamp":"1700000000000","ApproximateReceiveCount":"1","SentTimestamp":"1700000000000"}`+
					`,"MD5OfMessageAttributes":"0123456789abcdef0123456789abcdef","MessageAttributes":{"kind":{"StringValue":"order","DataType":"String"}}}`)
			}
			doc := []byte(`{"Messages":[` + strings.Join(msgs, ",") + `]}`)
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				var out sqs.ReceiveMessageOutput
				if err := decodeReceiveJSON(doc, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
