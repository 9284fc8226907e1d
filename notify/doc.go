// Package notify holds what notification transports share: the batch of
// findings a route is told about, the rendered payload stored in the
// outbox, and the error a transport returns so that retrying is decided in
// one place (the dispatcher), not in every integration.
package notify
