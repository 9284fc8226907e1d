package sim

// Microsoft Graph's application ID and the IDs of the permissions the
// scenarios use. These are the real, tenant-independent IDs Microsoft
// Graph publishes.
const (
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// microsoftServicesTenantID owns Microsoft's first-party apps.
	microsoftServicesTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

	// Delegated permissions (oauth2PermissionScopes).
	ScopeEmail              = "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"
	ScopeOfflineAccess      = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
	ScopeOpenID             = "37f7f235-527c-4136-accd-4a02d197296e"
	ScopeProfile            = "14dad69e-099b-42c9-810b-d002981feec1"
	ScopeUserRead           = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
	ScopeDirectoryReadAll   = "06da0dbc-49e2-44d2-8312-53f166ab848a"
	ScopeGroupMemberReadAll = "bc024368-1153-4739-b217-4326f2e966d0"
	ScopeCalendarsRead      = "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42"

	// Application permissions (appRoles).
	RoleDirectoryReadAll       = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
	RoleGroupMemberReadAll     = "98830695-27a2-44f7-8c18-0c3ebc9698f6"
	RoleApplicationReadAll     = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
	RoleSynchronizationReadAll = "5ba43d2f-fa88-4db2-bd1c-a67c5f0fb1ce"
)

// GraphDelegatedScopes returns the delegated permissions the simulated
// Microsoft Graph service principal publishes (a realistic subset).
func GraphDelegatedScopes() []PermissionScope {
	type row struct{ id, value, typ, admin, adminDesc, user, userDesc string }
	rows := []row{
		{"e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20", "AuditLog.Read.All", "Admin", "Read audit log data", "Allows the app to read and query your audit log activities, on behalf of the signed-in user.", "Read audit log data", "Allows the app to read and query your audit log activities, on your behalf."},
		{"c79f8feb-a9db-4090-85f9-90d820caa0eb", "Application.Read.All", "Admin", "Read applications", "Allows the app to read applications and service principals on behalf of the signed-in user.", "Read applications", "Allows the app to read applications and service principals on your behalf."},
		{ScopeCalendarsRead, "Calendars.Read", "User", "Read user calendars", "Allows the app to read events in user calendars.", "Read your calendars", "Allows the app to read events in your calendars."},
		{"ff74d97f-43af-4b68-9f2a-b77ee6968c5d", "Contacts.Read", "User", "Read user contacts", "Allows the app to read user contacts.", "Read your contacts", "Allows the app to read contacts in your contact folders."},
		{"0e263e50-5827-48a4-b97c-d940288653c7", "Directory.AccessAsUser.All", "Admin", "Access directory as the signed in user", "Allows the app to have the same access to information in the directory as the signed-in user.", "Access the directory as you", "Allows the app to have the same access to information in your work or school directory as you do."},
		{ScopeDirectoryReadAll, "Directory.Read.All", "Admin", "Read directory data", "Allows the app to read data in your organization's directory, such as users, groups and apps.", "Read directory data", "Allows the app to read data in your organization's directory."},
		{"c5366453-9fb0-48a5-a156-24f0c49a4b84", "Directory.ReadWrite.All", "Admin", "Read and write directory data", "Allows the app to read and write data in your organization's directory, such as users, and groups.", "Read and write directory data", "Allows the app to read and write data in your organization's directory, such as other users, groups."},
		{ScopeEmail, "email", "User", "View users' email address", "Allows the app to read your users' primary email address", "View your email address", "Allows the app to read your primary email address"},
		{"10465720-29dd-4523-a11a-6a75c743c9d9", "Files.Read", "User", "Read user files", "Allows the app to read the signed-in user's files.", "Read your files", "Allows the app to read your files."},
		{"5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Group.Read.All", "Admin", "Read all groups", "Allows the app to list groups, and to read their properties and all group memberships on behalf of the signed-in user.", "Read all groups", "Allows the app to list groups, and to read their properties and all group memberships on your behalf."},
		{ScopeGroupMemberReadAll, "GroupMember.Read.All", "Admin", "Read group memberships", "Allows the app to list groups, read basic group properties and read membership of all groups the signed-in user has access to.", "Read group memberships", "Allows the app to list groups, read basic group properties and read membership of all your groups."},
		{"570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "Mail.Read", "User", "Read user mail", "Allows the app to read the signed-in user's mailbox.", "Read your mail", "Allows the app to read email in your mailbox."},
		{"e383f46e-2787-4529-855e-0e479a3ffac0", "Mail.Send", "User", "Send mail as a user", "Allows the app to send mail as users in the organization.", "Send mail as you", "Allows the app to send mail as you."},
		{ScopeOfflineAccess, "offline_access", "User", "Maintain access to data you have given it access to", "Allows the app to see and update the data you gave it access to, even when users are not currently using the app. This does not give the app any additional permissions.", "Maintain access to data you have given it access to", "Allows the app to see and update the data you gave it access to, even when you are not currently using the app. This does not give the app any additional permissions."},
		{ScopeOpenID, "openid", "User", "Sign users in", "Allows users to sign in to the app with their work or school accounts and allows the app to see basic user profile information.", "Sign you in", "Allows you to sign in to the app with your work or school account and allows the app to read your basic profile information."},
		{"ba47897c-39ec-4d83-8086-ee8256fa737d", "People.Read", "User", "Read users' relevant people lists", "Allows the app to read a ranked list of relevant people of the signed-in user.", "Read your relevant people list", "Allows the app to read a list of people in the order that's most relevant to you."},
		{"572fea84-0151-49b2-9301-11cb16974376", "Policy.Read.All", "Admin", "Read your organization's policies", "Allows the app to read your organization's policies on behalf of the signed-in user.", "Read your organization's policies", "Allows the app to read your organization's policies on your behalf."},
		{ScopeProfile, "profile", "User", "View users' basic profile", "Allows the app to see your users' basic profile (e.g., name, picture, user name, email address)", "View your basic profile", "Allows the app to see your basic profile (e.g., name, picture, user name, email address)"},
		{"205e70e5-aba6-4c52-a976-6d2d46c48043", "Sites.Read.All", "User", "Read items in all site collections", "Allows the app to read documents and list items in all site collections on behalf of the signed-in user.", "Read items in all site collections", "Allows the app to read documents and list items in all site collections on your behalf."},
		{"7aa02aeb-824f-4fbe-a3f7-611f751f5b55", "Synchronization.Read.All", "Admin", "Read all Azure AD synchronization data", "Allows the app to read Azure AD synchronization information, on behalf of the signed-in user.", "Read all Azure AD synchronization data", "Allows the app to read Azure AD synchronization information, on your behalf."},
		{ScopeUserRead, "User.Read", "User", "Sign in and read user profile", "Allows users to sign-in to the app, and allows the app to read the profile of signed-in users. It also allows the app to read basic company information of signed-in users.", "Sign in and read your profile", "Allows you to sign in to the app with your organizational account and let the app read your profile. It also allows the app to read basic company information."},
		{"a154be20-db9c-4678-8ab7-66f6cc099a59", "User.Read.All", "Admin", "Read all users' full profiles", "Allows the app to read the full set of profile properties, reports, and managers of other users in your organization, on behalf of the signed-in user.", "Read all users' full profiles", "Allows the app to read the full set of profile properties, reports, and managers of other users in your organization, on your behalf."},
		{"b340eb25-3456-403f-be2f-af7a0d370277", "User.ReadBasic.All", "User", "Read all users' basic profiles", "Allows the app to read a basic set of profile properties of other users in your organization on behalf of the signed-in user. This includes display name, first and last name, email address and photo.", "Read all users' basic profiles", "Allows the app to read a basic set of profile properties of other users in your organization on your behalf. Includes display name, first and last name, email address and photo."},
		{"b4e74841-8e56-480b-be8b-910348b18b4c", "User.ReadWrite", "User", "Read and write access to user profile", "Allows the app to read the signed-in user's full profile. It also allows the app to update the signed-in user's profile information on their behalf.", "Read and update your profile", "Allows the app to read your profile, and discover group membership, reports and manager. It also allows the app to update your profile information on your behalf."},
	}
	out := make([]PermissionScope, 0, len(rows))
	for _, r := range rows {
		out = append(out, PermissionScope{
			AdminConsentDescription: r.adminDesc,
			AdminConsentDisplayName: r.admin,
			ID:                      r.id,
			IsEnabled:               true,
			Type:                    r.typ,
			UserConsentDescription:  r.userDesc,
			UserConsentDisplayName:  r.user,
			Value:                   r.value,
		})
	}
	return out
}

// GraphAppRoles returns the application permissions the simulated
// Microsoft Graph service principal publishes (a realistic subset).
func GraphAppRoles() []AppRole {
	type row struct{ id, value, display, desc string }
	rows := []row{
		{"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications", "Allows the app to create, read, update and delete applications and service principals without a signed-in user. Does not allow management of consent grants."},
		{RoleApplicationReadAll, "Application.Read.All", "Read all applications", "Allows the app to read all applications and service principals without a signed-in user."},
		{"06b708a9-e830-4db3-a914-8e69da51d44f", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments", "Allows the app to manage permission grants for application permissions to any API (including Microsoft Graph) and application assignments for any app, without a signed-in user."},
		{"b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data", "Allows the app to read and query your audit log activities, without a signed-in user."},
		{RoleDirectoryReadAll, "Directory.Read.All", "Read directory data", "Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user."},
		{"19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data", "Allows the app to read and write data in your organization's directory, such as users, and groups, without a signed-in user. Does not allow user or group deletion."},
		{"5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups", "Allows the app to read group properties and memberships, and read conversations for all groups, without a signed-in user."},
		{RoleGroupMemberReadAll, "GroupMember.Read.All", "Read all group memberships", "Allows the app to read memberships and basic group properties for all groups without a signed-in user."},
		{"810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read", "Read mail in all mailboxes", "Allows the app to read mail in all mailboxes without a signed-in user."},
		{"246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All", "Read your organization's policies", "Allows the app to read all your organization's policies without a signed in user."},
		{RoleSynchronizationReadAll, "Synchronization.Read.All", "Read all Azure AD synchronization data", "Allows the application to read Azure AD synchronization information, without a signed-in user."},
		{"df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles", "Allows the app to read user profiles without a signed in user."},
	}
	out := make([]AppRole, 0, len(rows))
	for _, r := range rows {
		out = append(out, AppRole{
			AllowedMemberTypes: []string{"Application"},
			Description:        r.desc,
			DisplayName:        r.display,
			ID:                 r.id,
			IsEnabled:          true,
			Origin:             "Application",
			Value:              r.value,
		})
	}
	return out
}
