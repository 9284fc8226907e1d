package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NetworkError names a transport failure (the error of an HTTP client's
// round trip) in a fixed phrase, never the error's text, which holds the
// request URL. Certificate problems need an operator: they are permanent.
func NetworkError(err error) *SendError {
	var dns *net.DNSError
	var certInvalid x509.CertificateInvalidError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return &SendError{Reason: "canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &SendError{Reason: "timeout"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &SendError{Reason: "connection refused"}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return &SendError{Reason: "connection reset"}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &SendError{Reason: "network unreachable"}
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return &SendError{Reason: "DNS: no such host"}
		}
		return &SendError{Reason: "DNS lookup failed"}
	case errors.As(err, &verify), errors.As(err, &certInvalid), errors.As(err, &unknownCA), errors.As(err, &hostname):
		// Trust is configuration (a CA file, an intercepting proxy).
		return &SendError{Reason: "TLS certificate not trusted", Permanent: true}
	case errors.As(err, &record):
		return &SendError{Reason: "TLS handshake failed", Permanent: true}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &SendError{Reason: "timeout"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &SendError{Reason: "connection closed"}
	case err != nil && strings.Contains(err.Error(), "unsupported protocol scheme"):
		return &SendError{Reason: "invalid URL", Permanent: true}
	}
	return &SendError{Reason: "network error"}
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date,
// at least a second and at most limit. Absent or unreadable, it is 0
// (the dispatcher backs off on its own).
func RetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return time.Second
		}
		if s > int64(limit/time.Second) {
			return limit
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0
	}
	return min(max(d, time.Second), limit)
}
