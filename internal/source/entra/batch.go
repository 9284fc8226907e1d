package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// maxBatch is Microsoft Graph's limit of requests in one JSON batch.
const maxBatch = 20

// maxItemAttempts bounds retries of throttled batch items: the SDK retries
// the $batch call itself, but not a 429 inside it.
const maxItemAttempts = 4

// graphGet is one GET request sent inside a JSON batch, and its outcome.
type graphGet struct {
	info    *abs.RequestInformation
	factory absser.ParsableFactory

	result absser.Parsable
	err    error
}

// itemError is a failed request inside a batch. The SDK would report a
// bare error with status 0; driftd keeps Graph's status, code and message.
type itemError struct {
	Status  int
	Code    string
	Message string
}

func (e *itemError) Error() string {
	return strings.TrimSpace(fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message))
}

// getAll sends the requests as JSON batches of up to 20 and fills in each
// one's result or error. Throttled items are retried after Retry-After.
func (s *Source) getAll(ctx context.Context, gets []*graphGet) {
	for start := 0; start < len(gets); start += maxBatch {
		chunk := gets[start:min(start+maxBatch, len(gets))]
		pending := chunk
		for attempt := 1; len(pending) > 0; attempt++ {
			retry, wait := s.sendBatch(ctx, pending)
			if len(retry) == 0 {
				break
			}
			if attempt == maxItemAttempts {
				for _, g := range retry {
					g.err = fmt.Errorf("still throttled after %d attempts: %w", attempt, g.err)
				}
				break
			}
			select {
			case <-ctx.Done():
				for _, g := range retry {
					g.err = ctx.Err()
				}
				return
			case <-time.After(wait):
			}
			pending = retry
		}
	}
}

// sendBatch sends one batch and returns the items to retry and how long
// to wait first.
func (s *Source) sendBatch(ctx context.Context, gets []*graphGet) ([]*graphGet, time.Duration) {
	batch := core.NewBatchRequest(s.adapter)
	byID := map[string]*graphGet{}
	for _, g := range gets {
		item, err := batch.AddBatchRequestStep(*g.info)
		if err != nil {
			g.err = err
			continue
		}
		byID[*item.GetId()] = g
	}
	resp, err := batch.Send(ctx, s.adapter)
	if err != nil {
		for _, g := range byID {
			g.err = err
		}
		return nil, 0
	}
	var retry []*graphGet
	var wait time.Duration
	for id, g := range byID {
		item := resp.GetResponseById(id)
		if item == nil || item.GetStatus() == nil {
			g.err = fmt.Errorf("the batch response has no answer for a request")
			continue
		}
		status := int(*item.GetStatus())
		body, _ := json.Marshal(item.GetBody())
		switch {
		case status >= 200 && status < 300:
			g.result, g.err = decode(body, g.factory)
		case status == 429 || status == 503 || status == 504:
			g.err = graphItemError(status, body)
			retry = append(retry, g)
			wait = max(wait, retryAfter(item.GetHeaders()))
		default:
			g.err = graphItemError(status, body)
		}
	}
	return retry, wait
}

// decode parses a batch item's JSON body with the SDK's model factory.
func decode(body []byte, factory absser.ParsableFactory) (absser.Parsable, error) {
	node, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return nil, fmt.Errorf("decoding a Graph response: %w", err)
	}
	v, err := node.GetObjectValue(factory)
	if err != nil {
		return nil, fmt.Errorf("decoding a Graph response: %w", err)
	}
	return v, nil
}

func graphItemError(status int, body []byte) *itemError {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return &itemError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
}

// retryAfter reads a batch item's Retry-After (seconds), 2 s if absent.
func retryAfter(headers core.RequestHeader) time.Duration {
	for k, v := range headers {
		if strings.EqualFold(k, "Retry-After") {
			if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
				return min(time.Duration(secs)*time.Second, time.Minute)
			}
		}
	}
	return 2 * time.Second
}
