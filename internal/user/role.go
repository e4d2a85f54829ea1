package user

import "fmt"

// Role is what a desk user may do. The order matters: each role can do
// everything the roles below it can.
type Role string

const (
	RoleAgent   Role = "agent"
	RoleManager Role = "manager"
	RoleAdmin   Role = "admin"
	RoleOwner   Role = "owner"
)

var roleRank = map[Role]int{RoleAgent: 1, RoleManager: 2, RoleAdmin: 3, RoleOwner: 4}

// ParseRole accepts a role name in any case.
func ParseRole(s string) (Role, error) {
	r := Role(lower(s))
	if _, ok := roleRank[r]; !ok {
		return "", fmt.Errorf("unknown role %q (want owner, admin, manager or agent)", s)
	}
	return r, nil
}

// AtLeast reports whether r includes the rights of min.
func (r Role) AtLeast(min Role) bool { return roleRank[r] >= roleRank[min] && roleRank[r] > 0 }

// Label is the role's name for people.
func (r Role) Label() string {
	switch r {
	case RoleOwner:
		return "Owner"
	case RoleAdmin:
		return "Admin"
	case RoleManager:
		return "Manager"
	case RoleAgent:
		return "Agent"
	}
	return string(r)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
