package auth

import (
	"fmt"
	"strings"
)

// Role is one of the six fixed roles of the platform. The role -> permission
// table lives in permissions.go next to this file.
type Role string

// The six roles, from most to least privileged in day-to-day use.
const (
	RoleAdmin     Role = "admin"
	RoleDeveloper Role = "developer"
	RoleDesigner  Role = "designer"
	RoleExecutor  Role = "executor"
	RoleViewer    Role = "viewer"
	RoleExecutive Role = "executive"
)

// Roles returns every role in a stable order (a new slice on each call).
func Roles() []Role {
	return []Role{RoleAdmin, RoleDeveloper, RoleDesigner, RoleExecutor, RoleViewer, RoleExecutive}
}

// Valid reports whether r is one of the six roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleDeveloper, RoleDesigner, RoleExecutor, RoleViewer, RoleExecutive:
		return true
	}
	return false
}

// String returns the role name.
func (r Role) String() string { return string(r) }

// ParseRole parses a role name, case-insensitively and ignoring surrounding
// spaces. The error lists the accepted names.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		names := make([]string, 0, 6)
		for _, v := range Roles() {
			names = append(names, string(v))
		}
		return "", fmt.Errorf("unknown role %q: must be one of %s", s, strings.Join(names, ", "))
	}
	return r, nil
}
