package awssqs

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
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
		`{"Messages":[{"Attributes":{"a":"1"},"Attributes":{"b":"2"}}]}`,
		`{"Messages":[{"Body":"first"}],"Messages":[{"Body":"second"}]}`,
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
		`{"Messages":[{"MessageAttributes":{"b":{"BinaryValue":"not base64!"}}}]}`,
		`{"Other":tru}`,
		`{"Other":1.2.3}`,
	}
	for _, doc := range invalid {
		var out sqs.ReceiveMessageOutput
		if err := decodeReceiveJSON([]byte(doc), &out); err == nil {
			t.Errorf("decode %q: no error", doc)
		}
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
		if err := decodeReceiveJSON([]byte(doc), &out); err == nil && !json.Valid([]byte(doc)) {
			t.Fatalf("accepted invalid JSON %q", doc)
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
