package daemon

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// sd_notify states.
const (
	StateReady     = sd.SdNotifyReady
	StateReloading = sd.SdNotifyReloading
	StateStopping  = sd.SdNotifyStopping
	StateWatchdog  = sd.SdNotifyWatchdog
)

// Notifier tells the service manager about the daemon's state.
type Notifier interface {
	Notify(state string)
	// WatchdogInterval returns the watchdog timeout when one is enabled.
	WatchdogInterval() (time.Duration, bool)
}

// SystemdNotifier talks to systemd through $NOTIFY_SOCKET; outside systemd
// every call is a no-op.
type SystemdNotifier struct{}

// Notify sends one state; errors are ignored (there may be no manager).
func (SystemdNotifier) Notify(state string) { _, _ = sd.SdNotify(false, state) }

// WatchdogInterval reads $WATCHDOG_USEC for this process.
func (SystemdNotifier) WatchdogInterval() (time.Duration, bool) {
	d, err := sd.SdWatchdogEnabled(false)
	return d, err == nil && d > 0
}
