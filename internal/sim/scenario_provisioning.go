package sim

import "time"

// Scenarios built for one provisioning failure each: Healthy(now) with
// only the corp SCIM job (and what follows from it) changed.

// corpJob returns the corp SCIM app's provisioning job.
func (t *Tenant) corpJob() *SynchronizationJob {
	return &t.SynchronizationJobs[CorpSCIMSPID][0]
}

// SCIMQuarantined returns Healthy(now) whose corp provisioning job Entra
// quarantined three days ago: the SCIM endpoint rejects its token.
func SCIMQuarantined(now time.Time) *Tenant {
	t := Healthy(now)
	now = now.UTC().Truncate(time.Second)
	since := now.Add(-72 * time.Hour)
	credentials := []byte(`{"code":"SystemForCrossDomainIdentityManagementCredentialsNotValid","message":"The credentials provided are not valid (HTTP 401 from the SCIM endpoint).","tenantActionable":true}`)
	job := t.corpJob()
	job.Status.Code = "Quarantine"
	job.Status.CountSuccessiveCompleteFailures = 18
	job.Status.Quarantine = &SynchronizationQuarantine{
		CurrentBegan: since, SeriesBegan: since, NextAttempt: now.Add(6 * time.Hour), SeriesCount: 18,
		Reason: "EncounteredQuarantineException", Error: credentials,
	}
	failed := *job.Status.LastExecution
	failed.State, failed.Error = "Failed", credentials
	failed.CountExported, failed.CountExports = 0, 0
	job.Status.LastExecution = &failed
	return t
}

// SCIMFailing returns Healthy(now) whose corp provisioning job is active
// but its last run ended with errors for some users, and its last
// successful run was two days ago.
func SCIMFailing(now time.Time) *Tenant {
	t := Healthy(now)
	now = now.UTC().Truncate(time.Second)
	job := t.corpJob()
	last := *job.Status.LastExecution
	last.State = "EntryLevelErrors"
	last.Error = []byte(`{"code":"SystemForCrossDomainIdentityManagementServiceIncompatible","message":"2 users could not be provisioned: the target rejected a duplicate userName.","tenantActionable":true}`)
	job.Status.LastExecution = &last
	ok := *job.Status.LastSuccessfulExecution
	ok.TimeBegan, ok.TimeEnded = now.Add(-49*time.Hour), now.Add(-48*time.Hour)
	job.Status.LastSuccessfulExecution = &ok
	return t
}

// SCIMUnassigned returns Healthy(now) with nobody assigned to the corp
// SCIM app, so its runs entitle no one and export nothing.
func SCIMUnassigned(now time.Time) *Tenant {
	t := Healthy(now)
	kept := t.AppRoleAssignments[:0]
	for _, a := range t.AppRoleAssignments {
		if a.ResourceID != CorpSCIMSPID {
			kept = append(kept, a)
		}
	}
	t.AppRoleAssignments = kept
	job := t.corpJob()
	for _, run := range []**SynchronizationTaskExecution{&job.Status.LastExecution, &job.Status.LastSuccessfulExecution} {
		idle := **run
		idle.CountEntitled, idle.CountEntitledForProvisioning, idle.CountExported, idle.CountExports = 0, 0, 0, 0
		*run = &idle
	}
	// Nothing was ever exported, so Cloudflare logged nothing either.
	job.Status.LastSuccessfulExecutionWithExports = nil
	job.Status.SynchronizedEntryCountByType = []StringKeyLongValuePair{}
	t.SCIMUpdateLogs = nil
	return t
}
