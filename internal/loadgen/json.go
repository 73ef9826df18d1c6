package loadgen

import "encoding/json"

// jsonMarshal is reflection-based; the load generator is not the hot path
// under test (the collector is).
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
