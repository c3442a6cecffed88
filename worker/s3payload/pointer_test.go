package s3payload

import (
	"testing"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		name, body string
		want       Pointer
		wantErr    bool
	}{
		{"java v2", `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"big-bodies","s3Key":"7c1e5a1e-0b7e-4bbd-9d0a-0e6f3f1c2a11"}]`,
			Pointer{"big-bodies", "7c1e5a1e-0b7e-4bbd-9d0a-0e6f3f1c2a11"}, false},
		{"java v1", `["com.amazon.sqs.javamessaging.MessageS3Pointer",{"s3BucketName":"b","s3Key":"k"}]`, Pointer{"b", "k"}, false},
		{"python spacing", `["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": "b", "s3Key": "prefix/k"}]`, Pointer{"b", "prefix/k"}, false},
		{"unknown field ignored", `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k","x":1}]`, Pointer{"b", "k"}, false},
		{"other class", `["com.example.Pointer",{"s3BucketName":"b","s3Key":"k"}]`, Pointer{}, true},
		{"no key", `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b"}]`, Pointer{}, true},
		{"empty bucket", `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"","s3Key":"k"}]`, Pointer{}, true},
		{"bare object", `{"s3BucketName":"b","s3Key":"k"}`, Pointer{}, true},
		{"three elements", `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"},1]`, Pointer{}, true},
		{"plain text", `hello`, Pointer{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePointer(tt.body)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParsePointer(%s) = %+v, %v; want %+v, error %v", tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParsePointer(f *testing.F) {
	f.Add(`["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]`)
	f.Add(`["com.amazon.sqs.javamessaging.MessageS3Pointer",{"s3BucketName":"b","s3Key":"k"}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		p, err := ParsePointer(body)
		if err == nil && (p.Bucket == "" || p.Key == "") {
			t.Fatalf("ParsePointer(%q) accepted an empty bucket or key: %+v", body, p)
		}
	})
}
