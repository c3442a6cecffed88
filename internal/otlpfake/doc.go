// Package otlpfake is an in-process OTLP/HTTP trace receiver for tests: an
// httptest server that takes POST /v1/traces as a collector does (protobuf,
// optionally gzip-compressed), decodes each export with the OTLP protocol's
// own generated types and keeps the spans, so a test can assert on what an
// exporter really sent over the wire.
package otlpfake
