package notify

import (
	"encoding/json"
	"errors"
	"fmt"
)

// BatchVersion is the version of the stored batch encoding. A driftd
// that reads a newer one leaves the row pending rather than guess.
const BatchVersion = 1

// storedBatch is a batch as the outbox holds it.
type storedBatch struct {
	Version int   `json:"version"`
	Batch   Batch `json:"batch"`
}

// EncodeBatch is the outbox encoding of b.
func EncodeBatch(b Batch) ([]byte, error) {
	return json.Marshal(storedBatch{Version: BatchVersion, Batch: b})
}

// DecodeBatch reads what EncodeBatch wrote.
func DecodeBatch(data []byte) (Batch, error) {
	var s storedBatch
	if err := json.Unmarshal(data, &s); err != nil {
		return Batch{}, errors.New("stored batch is unreadable")
	}
	if s.Version != BatchVersion {
		return Batch{}, fmt.Errorf("stored batch has version %d; this driftd reads %d", s.Version, BatchVersion)
	}
	return s.Batch, nil
}
