package auth

import (
	"slices"
	"testing"
)

// TestPermissionMatrix states, independently of PermissionsOf, what each role
// may do, so a change to the table is a deliberate change to this test too.
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	const (
		A = 1 << iota // admin
		D             // developer
		G             // designer
		X             // executor
		V             // viewer
		E             // executive
	)
	all := A | D | G | X | V | E
	want := map[Permission]int{
		PermProfileSelf:     all,
		PermTokensSelf:      all,
		PermPreferencesSelf: all,
		PermLayoutsSelf:     all,

		PermUsersRead:      A | D,
		PermUsersWrite:     A | D,
		PermUsersAdmin:     A,
		PermAuditRead:      A | D,
		PermSettingsRead:   A | D,
		PermSettingsWrite:  A | D,
		PermCleanup:        A | D,
		PermSystemLogsRead: A,

		PermPipelinesRead:   A | D | G | X | V,
		PermPipelinesWrite:  A | D | G,
		PermPipelinesRun:    A | D | G | X,
		PermPipelinesCancel: A | D | G | X,
		PermRunsControl:     A | D | G | X,
		PermRunsRead:        A | D | G | X | V,
		PermRunsReplay:      A | D | G,
		PermRunsReview:      A | D | G,
		PermWorkersRead:     A | D | G | X,

		PermConnectorsRead:       A | D | G | V,
		PermConnectorsReadConfig: A | D | G,
		PermConnectorsWrite:      A | D | G,

		PermTransformationsRead:  A | D | G,
		PermTransformationsWrite: A | D | G,
		PermMappingsRead:         A | D | G,
		PermMappingsWrite:        A | D | G,
		PermFilesRead:            A | D | G,
		PermFilesWrite:           A | D | G,

		PermMonitoringRead: A | D | G | X,
		PermAlertsRead:     A | D | G | X | V,
		PermAlertsAck:      A | D | G | X,
		PermAlertsWrite:    A | D,
		PermDashboardsRead: A | D | G | X | V | E,
		PermReportsRead:    A | D | V | E,
		PermAnalyticsRead:  A | D | G | X | V | E,
		PermAnalyticsQuery: A | D | G | E,
	}
	bits := map[Role]int{RoleAdmin: A, RoleDeveloper: D, RoleDesigner: G, RoleExecutor: X, RoleViewer: V, RoleExecutive: E}

	if len(want) != len(AllPermissions()) {
		t.Fatalf("matrix covers %d permissions, AllPermissions has %d: add the new one to this test", len(want), len(AllPermissions()))
	}
	for _, p := range AllPermissions() {
		mask, ok := want[p]
		if !ok {
			t.Errorf("permission %s missing from the expected matrix", p)
			continue
		}
		for _, r := range Roles() {
			if got, exp := Can(r, p), mask&bits[r] != 0; got != exp {
				t.Errorf("Can(%s, %s) = %v, want %v", r, p, got, exp)
			}
		}
	}
}

func TestCanRejectsUnknownRoleAndPermission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role Role
		perm Permission
		want bool
	}{
		{"", PermProfileSelf, false},
		{"root", PermUsersRead, false},
		{"ADMIN", PermUsersRead, false}, // roles are canonical lower case; ParseRole normalises input
		{RoleAdmin, "users:delete_everything", false},
		{RoleAdmin, "", true},
		{"nobody", "", false},
	}
	for _, tt := range tests {
		if got := Can(tt.role, tt.perm); got != tt.want {
			t.Errorf("Can(%q, %q) = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
}

func TestPermissionsOfIsACopy(t *testing.T) {
	t.Parallel()
	p := PermissionsOf(RoleViewer)
	p[0] = PermUsersAdmin
	if Can(RoleViewer, PermUsersAdmin) {
		t.Fatal("mutating the returned slice changed the table")
	}
	for _, r := range Roles() {
		perms := PermissionsOf(r)
		for _, q := range perms {
			if !q.Valid() {
				t.Errorf("%s holds undeclared permission %q", r, q)
			}
		}
		if slices.Contains(perms, PermConnectorsReadConfig) && (r == RoleViewer || r == RoleExecutive || r == RoleExecutor) {
			t.Errorf("%s must never see connector configs", r)
		}
	}
}
