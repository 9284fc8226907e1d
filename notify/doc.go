// Package notify holds what notification transports share: the batch of
// findings a route is told about (which the outbox stores as is, and each
// transport renders when it sends it), the deep link of a finding, and
// the error a transport returns so that retrying is decided in one place
// (the dispatcher), not in every integration.
package notify
