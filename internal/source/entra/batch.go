package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/driftd/driftd/internal/fanout"
)

// maxBatch is Microsoft Graph's limit of requests in one JSON batch.
const maxBatch = 20

// maxItemAttempts bounds retries of throttled batch items: the SDK retries
// the $batch call itself, but not a 429 inside it.
const maxItemAttempts = 4

// maxRetryAfter caps how long driftd waits on one Retry-After; the run's
// context bounds the total.
const maxRetryAfter = time.Minute

// graphGet is one GET request sent inside a JSON batch, and its outcome:
// the raw JSON body of a successful answer, or an error.
type graphGet struct {
	info *abs.RequestInformation

	body []byte
	err  error
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

// errorMappings decodes a failed $batch or page request into Graph's
// OData error, whatever its status.
func errorMappings() abs.ErrorMappings {
	return abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
}

// getAll sends the requests as JSON batches of up to 20, up to
// s.inFlight batches at once, and fills in each one's body or error.
// Throttled items are retried after Retry-After; the longest wait Graph
// asked for holds back every batch of the run, not just the throttled
// one, so concurrency never turns into hammering.
func (s *Source) getAll(ctx context.Context, gets []*graphGet) {
	g := fanout.New(s.inFlight)
	for start := 0; start < len(gets); start += maxBatch {
		chunk := gets[start:min(start+maxBatch, len(gets))]
		g.Go(func() { s.getBatch(ctx, chunk) })
	}
	g.Wait()
}

// getBatch sends one batch of up to 20 requests, retrying throttled items.
func (s *Source) getBatch(ctx context.Context, chunk []*graphGet) {
	pending := chunk
	for attempt := 1; len(pending) > 0; attempt++ {
		if err := s.gate.wait(ctx); err != nil {
			for _, g := range pending {
				g.body, g.err = nil, err
			}
			return
		}
		retry, wait := s.sendBatch(ctx, pending)
		if len(retry) == 0 {
			return
		}
		if attempt == maxItemAttempts {
			for _, g := range retry {
				g.err = fmt.Errorf("still throttled after %d attempts: %w", attempt, g.err)
			}
			return
		}
		s.gate.hold(wait)
		pending = retry
	}
}

// sendBatch sends one batch and returns the items to retry and how long
// to wait first. The SDK builds and sends the $batch request; its answer
// is decoded here, because the SDK's own batch parser panics on a null
// item and re-parses every body.
func (s *Source) sendBatch(ctx context.Context, gets []*graphGet) ([]*graphGet, time.Duration) {
	batch := core.NewBatchRequest(s.adapter)
	byID := map[string]*graphGet{}
	for _, g := range gets {
		g.body, g.err = nil, nil
		item, err := batch.AddBatchRequestStep(*g.info)
		if err != nil {
			g.err = err
			continue
		}
		byID[*item.GetId()] = g
	}
	items, err := s.postBatch(ctx, batch)
	if err != nil {
		for _, g := range byID {
			g.err = err
		}
		return nil, 0
	}
	var retry []*graphGet
	var wait time.Duration
	for id, g := range byID {
		item, ok := items[id]
		if !ok {
			g.err = fmt.Errorf("%w: the $batch response has no valid answer for a request", errMalformed)
			continue
		}
		switch status := item.Status; {
		case status >= 200 && status < 300:
			g.body = item.Body
		case status == 429 || status == 503 || status == 504:
			g.err = graphItemError(status, item.Body)
			retry = append(retry, g)
			wait = max(wait, retryAfter(item.Headers, time.Now()))
		default:
			g.err = graphItemError(status, item.Body)
		}
	}
	return retry, wait
}

// batchItem is one answer inside a $batch response.
type batchItem struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// postBatch sends the batch through the SDK and decodes the answers by
// id. A body that is not a batch response is an error for every item; an
// answer that is null, malformed or lacks an id or status is dropped, so
// its request reads as unanswered.
func (s *Source) postBatch(ctx context.Context, batch core.BatchRequest) (map[string]batchItem, error) {
	info := abs.NewRequestInformation()
	info.Method = abs.POST
	info.UrlTemplate = "{+baseurl}/$batch"
	if err := info.SetContentFromParsable(ctx, s.adapter, "application/json", batch); err != nil {
		return nil, err
	}
	info.Headers.TryAdd("Accept", "application/json")
	raw, err := s.adapter.SendPrimitive(ctx, info, "[]byte", errorMappings())
	if err != nil {
		return nil, err
	}
	body, _ := raw.([]byte)
	return decodeBatchResponse(body)
}

// decodeBatchResponse decodes a $batch response body into its answers by
// id.
func decodeBatchResponse(body []byte) (map[string]batchItem, error) {
	var envelope struct {
		Responses *[]json.RawMessage `json:"responses"`
		Error     *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := decodeObject(body, &envelope); err != nil {
		return nil, fmt.Errorf("the $batch response: %w", err)
	}
	if envelope.Error != nil {
		return nil, fmt.Errorf("%w: the $batch request answered success with an error: %s: %s", errMalformed, envelope.Error.Code, envelope.Error.Message)
	}
	if envelope.Responses == nil {
		return nil, fmt.Errorf("%w: the $batch response has no responses array", errMalformed)
	}
	out := map[string]batchItem{}
	for _, raw := range *envelope.Responses {
		var item batchItem
		if len(bytes.TrimSpace(raw)) == 0 || raw[0] != '{' || json.Unmarshal(raw, &item) != nil {
			continue
		}
		if item.ID == "" || item.Status < 100 || item.Status > 599 {
			continue
		}
		if _, dup := out[item.ID]; !dup {
			out[item.ID] = item
		}
	}
	return out, nil
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

// retryAfter reads a batch item's Retry-After, in seconds or as an HTTP
// date; 2 s if absent or unreadable, never more than maxRetryAfter.
func retryAfter(headers map[string]string, now time.Time) time.Duration {
	for k, v := range headers {
		if !strings.EqualFold(k, "Retry-After") {
			continue
		}
		v = strings.TrimSpace(v)
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return min(time.Duration(secs)*time.Second, maxRetryAfter)
		}
		if at, err := http.ParseTime(v); err == nil {
			return min(max(at.Sub(now), 0), maxRetryAfter)
		}
	}
	return 2 * time.Second
}

// getPage fetches one next-page link through the SDK's pipeline (so it
// is authenticated, retried and counted like every Graph request).
func (s *Source) getPage(ctx context.Context, link *url.URL) ([]byte, error) {
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.SetUri(*link)
	info.Headers.TryAdd("Accept", "application/json")
	raw, err := s.adapter.SendPrimitive(ctx, info, "[]byte", errorMappings())
	if err != nil {
		return nil, err
	}
	body, _ := raw.([]byte)
	if body == nil {
		return nil, errors.New("an empty page")
	}
	return body, nil
}
