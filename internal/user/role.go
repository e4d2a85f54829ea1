package user

import (
	"errors"
	"fmt"
)

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

var (
	// ErrRoleAboveOwn: nobody gives a role above their own.
	ErrRoleAboveOwn = errors.New("you cannot give a role above your own")
	// ErrOwnerMakesOwners: only an owner makes owners, by invitation or by
	// a role change.
	ErrOwnerMakesOwners = errors.New("only an owner can make someone an owner")
	// ErrAdminsOnly: only owners and admins invite people and change roles.
	ErrAdminsOnly = errors.New("only an owner or admin can invite people or change roles")
	// ErrLastOwner: a shop always keeps an active owner.
	ErrLastOwner = errors.New("the shop's last owner cannot be demoted or disabled")
)

// CanGrant is the rule for giving role to someone, by invitation or role
// change: only owners and admins do, only an owner makes owners, and
// nobody gives a role above their own.
func CanGrant(actor *User, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if !actor.Role.AtLeast(RoleAdmin) {
		return ErrAdminsOnly
	}
	if role == RoleOwner && actor.Role != RoleOwner {
		return ErrOwnerMakesOwners
	}
	if !actor.Role.AtLeast(role) {
		return ErrRoleAboveOwn
	}
	return nil
}

// CanChangeRole is the rule for changing target's role to role: the role
// must be one actor may grant (CanGrant), and an owner's role is changed
// only by an owner. Whether the shop keeps an owner is the use case's
// check, which counts them inside its transaction.
func CanChangeRole(actor, target *User, role Role) error {
	if err := CanGrant(actor, role); err != nil {
		return err
	}
	if target.Role == RoleOwner && actor.Role != RoleOwner {
		return ErrOwnerOnly
	}
	return nil
}
