// Package telemetry exports driftd's traces, metrics and finding events
// over OTLP (gRPC or HTTP/protobuf).
//
// Everything goes through the providers of one Telemetry instance; the
// OpenTelemetry globals are never set, so other code in the process is
// unaffected. Export runs in the background (batching span and log
// processors, a periodic metric reader) with bounded timeouts: an
// unreachable or slow collector costs dropped telemetry, never a blocked
// or failed audit.
//
// # Metrics
//
//	| Name                           | Instrument      | Unit           | Attributes                                                     |
//	|--------------------------------|-----------------|----------------|----------------------------------------------------------------|
//	| driftd.findings.open           | gauge           | {finding}      | check_id, severity, integration, suppressed                    |
//	| driftd.findings.opened         | counter         | {finding}      | check_id, severity, integration, reopened                      |
//	| driftd.findings.resolved       | counter         | {finding}      | check_id, severity, integration                                |
//	| driftd.credential.expiry       | gauge           | d              | app_id, app_name, key_id, credential_type, integration         |
//	| driftd.run.duration            | histogram       | s              | status, trigger                                                |
//	| driftd.runs                    | counter         | {run}          | status, trigger                                                |
//	| driftd.runs.skipped            | counter         | {run}          |                                                                |
//	| driftd.api.requests            | counter         | {request}      | service                                                        |
//	| driftd.api.throttled           | counter         | {request}      | service                                                        |
//	| driftd.notifications.sent      | counter         | {notification} | route                                                          |
//	| driftd.notifications.failed    | counter         | {notification} | route                                                          |
//	| driftd.notifications.pending   | gauge           | {notification} | route                                                          |
//	| driftd.telemetry.export_errors | counter         | {error}        | signal                                                         |
//
// Attribute values:
//
//   - severity: low, medium, high, critical.
//   - suppressed: true when a configured suppression covers the finding.
//   - reopened: true when a resolved finding came back.
//   - credential_type: client_secret or certificate. The value is days from
//     the snapshot's time to the credential's end date, negative once
//     expired.
//   - status: complete, incomplete or failed; trigger: what started the run.
//   - service: graph, cloudflare or token.
//   - signal: traces, metrics or logs. This counter is itself exported over
//     OTLP, so it is best effort; export failures are also logged, at most
//     once per minute.
//
// Gauges report the latest state handed to the Set* methods; a series
// that is no longer in that state disappears rather than reporting 0
// (except notifications.pending, which keeps reporting a route once set).
// Counters are cumulative. HTTP clients wrapped with WrapTransport also
// produce otelhttp's http.client.* metrics, with driftd.service added.
//
// # Traces
//
// Tracer returns driftd's tracer; WrapTransport adds a client span per API
// request named "<service> <METHOD> <path template>", e.g.
// "graph GET /v1.0/applications(...)", with attribute driftd.service.
//
// # Logs
//
// FindingEvent emits one log record per finding transition, body
// "finding opened", "finding resolved" or "finding reopened", with
// attributes event, check_id, severity, integration, resource.side,
// resource.kind, resource.id, resource.name, fingerprint, message,
// expected, actual, suppressed (and suppression.reason); and "finding
// attributed" when a later run found who changed an open finding. A
// finding with audit-log entries carries the newest one's
// driftd.changed_by, driftd.changed_by_type, driftd.changed_at,
// driftd.change_activity, and when present driftd.changed_by_id and
// driftd.change_ip. SlogHandler lets
// the daemon send its own log lines to OTLP as well.
//
// # Resource
//
// service.name=driftd, service.version, host.name and the SDK's
// telemetry.sdk.* attributes; OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES add to or override them.
package telemetry
