package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

// The provisioning health checks: is the SCIM job actually running,
// succeeding, provisioning anyone, and reaching Cloudflare?

// jobSetting names a per-job setting; with one job (the usual case) the
// job ID is left out so the fingerprint survives a re-created job.
func jobSetting(prov *snapshot.Provisioning, job snapshot.SyncJob, name string) string {
	if len(prov.Jobs) == 1 {
		return name
	}
	return "jobs/" + job.ID + "/" + name
}

// provisioningApplies is the shared not-applicable logic: no SCIM app
// configured, or no job (ENTRA-SCIM-001 reports that).
func provisioningApplies(in Input) string {
	if in.Integration.SCIMAppID == "" {
		return "no scim_app_id configured"
	}
	if len(in.Integration.Provisioning.Jobs) == 0 {
		return "the SCIM app has no provisioning job (see ENTRA-SCIM-001)"
	}
	return ""
}

// when renders a time for a finding, or "an unknown time".
func when(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

func errorText(code, message string) string {
	switch {
	case code == "" && message == "":
		return ""
	case message == "":
		return code
	case code == "":
		return message
	}
	return code + ": " + message
}

func scimJobRunning() Check {
	c := Check{
		ID:       "ENTRA-SCIM-003",
		Title:    "SCIM provisioning job is not running",
		Severity: High,
		Description: "The provisioning job must be Active with an Active schedule, or nothing reaches Cloudflare: new staff get no " +
			"access, and people who leave keep theirs. A job Entra has quarantined (for example after repeated authentication " +
			"errors from the SCIM endpoint) or that someone paused stays that way until an administrator acts. A status this " +
			"version of driftd does not know is reported as Graph sent it.",
		Remediation: "Entra admin center > Enterprise applications > (the SCIM app) > Provisioning > Overview: read the quarantine " +
			"reason, fix its cause (usually the Tenant URL or Secret Token under Admin credentials: Test Connection), then Start " +
			"provisioning, or Restart provisioning to clear the quarantine (Graph: POST .../synchronization/jobs/{id}/restart).",
		Needs: []snapshot.DataKind{snapshot.EntraProvisioning},
	}
	c.Evaluate = func(in Input) Outcome {
		if why := provisioningApplies(in); why != "" {
			return Outcome{NotApplicable: why}
		}
		prov := in.Integration.Provisioning
		var out Outcome
		for _, job := range prov.Jobs {
			// An empty value is one Graph did not send: unknown, not stopped.
			stopped := job.Status != "" && job.Status != "Active"
			unscheduled := job.ScheduleState != "" && job.ScheduleState != "Active"
			if !stopped && !unscheduled {
				continue
			}
			var facts []string
			if stopped {
				fact := "status " + job.Status
				if q := job.Quarantine; q != nil && job.Status == "Quarantine" {
					fact += fmt.Sprintf(" since %s (reason %s", when(q.CurrentBegan), orNone(q.Reason))
					if e := errorText(q.ErrorCode, q.ErrorMessage); e != "" {
						fact += "; error " + e
					}
					fact += ")"
				}
				facts = append(facts, fact)
			}
			if unscheduled {
				facts = append(facts, "schedule "+job.ScheduleState)
			}
			actual := strings.Join(facts, "; ")
			out.Findings = append(out.Findings, c.finding(in, High, provisioningResource(in), jobSetting(prov, job, "status"),
				fmt.Sprintf("Provisioning job %s of %q is not running: %s", job.ID, prov.DisplayName, actual),
				"status Active and schedule Active", actual))
		}
		return out
	}
	return c
}

func scimJobFailing() Check {
	c := Check{
		ID:       "ENTRA-SCIM-004",
		Title:    "SCIM provisioning is failing or stale",
		Severity: Medium,
		Description: "An active provisioning job can still fail: its last run ended Failed or with errors for some users " +
			"(EntryLevelErrors), complete failures are piling up, or it has not succeeded for longer than [expiry] " +
			"scim_stale_after (default 24h; \"0\" turns that part off). Users and group memberships then drift apart between " +
			"Entra ID and Cloudflare. A job that is not running at all is ENTRA-SCIM-003.",
		Remediation: "Entra admin center > Enterprise applications > (the SCIM app) > Provisioning > View provisioning logs: filter " +
			"on Status Failure to see which users fail and why (often a missing mail attribute or a duplicate user); fix them, then " +
			"Provision on demand for one user to confirm. Graph: GET /servicePrincipals/{id}/synchronization/jobs shows status.lastExecution.",
		Needs: []snapshot.DataKind{snapshot.EntraProvisioning},
	}
	c.Evaluate = func(in Input) Outcome {
		if why := provisioningApplies(in); why != "" {
			return Outcome{NotApplicable: why}
		}
		prov := in.Integration.Provisioning
		now := in.Snapshot.TakenAt
		stale := in.Integration.Expiry.SCIMStaleAfter
		var out Outcome
		for _, job := range prov.Jobs {
			if job.Status != "Active" {
				continue // ENTRA-SCIM-003's, or unknown
			}
			var facts []string
			last := job.LastExecution
			if last != nil && (last.State == "Failed" || last.State == "EntryLevelErrors") {
				fact := fmt.Sprintf("the last run (began %s) ended %s", when(last.Began), last.State)
				if e := errorText(last.ErrorCode, last.ErrorMessage); e != "" {
					fact += " with " + e
				}
				facts = append(facts, fact)
			}
			if job.SuccessiveFailures > 0 {
				facts = append(facts, fmt.Sprintf("%d successive complete failures", job.SuccessiveFailures))
			}
			if stale > 0 && last != nil {
				if at := successTime(job.LastSuccess); at == nil {
					facts = append(facts, "no successful run on record")
				} else if age := now.Sub(*at); age > stale {
					facts = append(facts, fmt.Sprintf("the last successful run ended %s ago (%s), longer than scim_stale_after %s",
						humanDays(age), when(at), humanDays(stale)))
				}
			}
			if len(facts) == 0 {
				continue
			}
			counts := ""
			if last != nil {
				counts = fmt.Sprintf(" (last run: %d entitled, %d exported)", last.CountEntitled, last.CountExported)
			}
			actual := strings.Join(facts, "; ")
			out.Findings = append(out.Findings, c.finding(in, Medium, provisioningResource(in), jobSetting(prov, job, "last_execution"),
				fmt.Sprintf("Provisioning job %s of %q is failing: %s%s", job.ID, prov.DisplayName, actual, counts),
				"the last run Succeeded, no successive failures, a success within scim_stale_after", actual))
		}
		return out
	}
	return c
}

// successTime is when a successful run ended (or, if that is unknown,
// began); nil when there is none on record.
func successTime(run *snapshot.SyncExecution) *time.Time {
	switch {
	case run == nil:
		return nil
	case run.Ended != nil:
		return run.Ended
	}
	return run.Began
}

func scimNobodyAssigned() Check {
	c := Check{
		ID:       "ENTRA-SCIM-005",
		Title:    "Nobody is in scope of SCIM provisioning",
		Severity: Medium,
		Description: "The SCIM app provisions the users and groups assigned to it (or, with \"Sync all users and groups\", " +
			"everyone). When nobody is assigned and the last run entitled no one, the job runs but Cloudflare never receives a " +
			"user or group. Both must hold: a tenant that syncs everyone has no assignments but does entitle users.",
		Remediation: "Entra admin center > Enterprise applications > (the SCIM app) > Users and groups > Add user/group: assign the " +
			"groups whose members use Cloudflare (or set Provisioning > Settings > Scope to Sync all users and groups), then " +
			"Restart provisioning.",
		Needs: []snapshot.DataKind{snapshot.EntraProvisioning, snapshot.EntraProvisioningAssignments},
	}
	c.Evaluate = func(in Input) Outcome {
		if why := provisioningApplies(in); why != "" {
			return Outcome{NotApplicable: why}
		}
		prov := in.Integration.Provisioning
		if prov.Assigned == nil {
			return Outcome{NotApplicable: "the SCIM app's assignments were not read"}
		}
		if *prov.Assigned {
			return Outcome{}
		}
		for _, job := range prov.Jobs {
			// A job that never ran, or entitled someone, is no evidence
			// that nobody is in scope.
			if job.LastExecution == nil || job.LastExecution.CountEntitled > 0 {
				return Outcome{}
			}
		}
		return Outcome{Findings: []Finding{c.finding(in, Medium, provisioningResource(in), "scope",
			fmt.Sprintf("No user or group is assigned to %q and its last provisioning run entitled nobody, so nothing reaches Cloudflare", prov.DisplayName),
			"users or groups assigned to the SCIM app (or every user in scope)", "no assignment; the last run entitled 0 users and groups")}}
	}
	return c
}

// The SCIM log is compared with Entra's last run that exported changes.
const (
	// scimLogLag: a run that ended more recently may not be in
	// Cloudflare's log yet, so it is not judged.
	scimLogLag = 10 * time.Minute
	// scimClockSkew: how far Cloudflare's log time may be before the
	// run's start and still count as the run's request.
	scimClockSkew = 5 * time.Minute
)

// lastExport is the job's most recent run that exported changes, if its
// times are known.
func lastExport(job snapshot.SyncJob) *snapshot.SyncExecution {
	var best *snapshot.SyncExecution
	for _, run := range []*snapshot.SyncExecution{job.LastExport, job.LastExecution} {
		if run == nil || run.CountExported <= 0 || run.Began == nil || run.Ended == nil {
			continue
		}
		if best == nil || run.Ended.After(*best.Ended) {
			best = run
		}
	}
	return best
}

func scimNotReachingCloudflare() Check {
	c := Check{
		ID:       "ENTRA-SCIM-006",
		Title:    "Entra provisions changes but Cloudflare receives none",
		Severity: High,
		Description: "Cross-side: Entra's provisioning job is active and its last run exported changes, yet Cloudflare's SCIM " +
			"update log for the identity provider has no request since that run began (driftd reads the newest entry of the past " +
			"week; runs that ended in the last 10 minutes are not judged). The job is sending to a wrong Tenant URL or with a " +
			"token Cloudflare no longer accepts (regenerated in Cloudflare, not updated in Entra), so deprovisioning never reaches " +
			"Cloudflare. Entra's Tenant URL and Secret Token cannot be read through Graph, so this is how driftd detects it. Only " +
			"the time of the newest log entry is read: the entries name users and are never stored or reported.",
		Remediation: "Zero Trust > Settings > Authentication > (the Azure AD login method) > Edit > SCIM: copy the SCIM endpoint (and " +
			"regenerate the secret if unknown); then Entra admin center > Enterprise applications > (the SCIM app) > Provisioning > " +
			"Admin credentials: set Tenant URL and Secret Token to those values, Test Connection, Save, and Restart provisioning. " +
			"Zero Trust > Logs > SCIM provisioning shows whether requests arrive.",
		Needs: []snapshot.DataKind{snapshot.EntraProvisioning, snapshot.CloudflareIdPs, snapshot.CloudflareSCIMLogs},
	}
	c.Evaluate = func(in Input) Outcome {
		if why := provisioningApplies(in); why != "" {
			return Outcome{NotApplicable: why}
		}
		idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp == nil {
			return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
		}
		if idp.SCIM == nil || idp.SCIM.Enabled == nil || !*idp.SCIM.Enabled {
			return Outcome{NotApplicable: "SCIM is not enabled on the identity provider"}
		}
		log := idp.SCIMLog
		if log == nil {
			return Outcome{NotApplicable: "the identity provider's SCIM log was not read"}
		}
		prov := in.Integration.Provisioning
		var out Outcome
		for _, job := range prov.Jobs {
			run := lastExport(job)
			if job.Status != "Active" || run == nil {
				continue
			}
			if run.Ended.Before(log.Since) || in.Snapshot.TakenAt.Sub(*run.Ended) < scimLogLag {
				continue // outside what the log read covers
			}
			if log.Latest != nil && !log.Latest.Before(run.Began.Add(-scimClockSkew)) {
				continue
			}
			latest := "none since " + when(&log.Since)
			if log.Latest != nil {
				latest = "the newest at " + when(log.Latest)
			}
			endpoint := "the identity provider's SCIM endpoint"
			if idp.SCIM.BaseURL != "" {
				endpoint = idp.SCIM.BaseURL
			}
			out.Findings = append(out.Findings, c.finding(in, High, provisioningResource(in), jobSetting(prov, job, "scim_requests"),
				fmt.Sprintf("Provisioning job %s of %q exported %d changes in its run of %s, but Cloudflare logged no SCIM request for identity provider %q since then (%s)",
					job.ID, prov.DisplayName, run.CountExported, when(run.Began), idp.Name, latest),
				"Cloudflare logs the job's SCIM requests at "+endpoint,
				fmt.Sprintf("%d changes exported by Entra; Cloudflare SCIM log: %s", run.CountExported, latest)))
		}
		return out
	}
	return c
}
