// Package awsfake serves fakes of the AWS endpoints the scaler calls, on
// httptest servers, for tests.
//
// The fakes speak each service's real wire protocol, so tests drive the
// real SDK clients and the real endpoint resolution (Config points them at
// the fakes through AWS_ENDPOINT_URL_<SERVICE>, as an operator would point
// the daemon at a VPC endpoint or an emulator):
//   - CloudWatch: rpc-v2 CBOR (the operation in the path, CBOR bodies,
//     decoded with smithy-go's cbor package);
//   - Auto Scaling: the AWS query protocol (form-encoded request, XML
//     response);
//   - ECS: JSON 1.1 (the operation in X-Amz-Target);
//   - the EC2 instance metadata service (IMDSv2: a token PUT, then GETs
//     carrying it), the ECS task metadata endpoint v4 and the ECS agent's
//     task scale-in protection endpoint: plain HTTP.
//
// Answers are minimal but well-formed: only the members the scaler reads,
// in the shapes the services document. Like internal/fauxqs it lives in
// non-test files so that the tests of several packages can share it.
package awsfake
