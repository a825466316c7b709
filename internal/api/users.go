package api

import (
	"context"
	"errors"
	"strings"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// User management. RBAC (users:read / users:write) runs before these
// handlers; on top of it:
//   - only a caller holding users:admin (the admin role) may create, change,
//     deactivate or delete an admin user, or grant the admin role;
//   - nobody resets an admin's password through the API (the admin changes it
//     with the old one at POST /api/v1/auth/password);
//   - nobody deactivates, deletes or changes the role of their own account,
//     so the last admin cannot lock everyone out by mistake.

type listUsersInput struct {
	PageQuery
	Search string `query:"search" maxLength:"200" doc:"Substring of username, email or full name (case-insensitive)"`
	Role   string `query:"role" enum:"admin,developer,designer,executor,viewer,executive" doc:"Only users with this role"`
	Active string `query:"active" enum:"true,false" doc:"Only active (true) or inactive (false) users"`
}

type userListOutput struct {
	Body Page[User]
}

func (s *Server) listUsers(ctx context.Context, in *listUsersInput) (*userListOutput, error) {
	f := store.UserFilter{Search: strings.TrimSpace(in.Search), Role: in.Role, Page: in.store()}
	if in.Active != "" {
		active := in.Active == "true"
		f.Active = &active
	}
	users, total, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	items := make([]User, len(users))
	for i, u := range users {
		items[i] = toUserDTO(u)
	}
	return &userListOutput{Body: newPage(items, total, in.PageQuery)}, nil
}

type userIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type userOutput struct {
	Body User
}

func (s *Server) getUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	u, err := s.store.GetUser(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &userOutput{Body: toUserDTO(u)}, nil
}

type createUserInput struct {
	Body struct {
		Username string `json:"username" minLength:"3" maxLength:"64" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" doc:"Letters, digits, '.', '_' and '-'"`
		Email    string `json:"email" format:"email" maxLength:"254"`
		FullName string `json:"full_name,omitempty" maxLength:"200"`
		Role     string `json:"role" enum:"admin,developer,designer,executor,viewer,executive"`
		Password string `json:"password" minLength:"1" maxLength:"72" doc:"At least 12 characters; see docs/security.md for the policy"`
	}
}

func (s *Server) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	caller := principalFrom(ctx)
	b := in.Body
	if b.Role == string(auth.RoleAdmin) && !auth.Can(caller.Role, auth.PermUsersAdmin) {
		return nil, forbidden("only an admin can create admin users")
	}
	u, err := s.auth.CreateUser(ctx, auth.NewUser{
		Username: b.Username, Email: b.Email, FullName: b.FullName, Role: auth.Role(b.Role),
		Password: b.Password,
	})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("user", u.ID)
	return &userOutput{Body: toUserDTO(u)}, nil
}

type updateUserInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Email    *string `json:"email,omitempty" format:"email" maxLength:"254"`
		FullName *string `json:"full_name,omitempty" maxLength:"200"`
		Role     *string `json:"role,omitempty" enum:"admin,developer,designer,executor,viewer,executive"`
		Active   *bool   `json:"active,omitempty"`
	}
}

func (s *Server) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	b := in.Body
	if b.Email == nil && b.FullName == nil && b.Role == nil && b.Active == nil {
		return nil, invalid("body", "nothing to update: give at least one of email, full_name, role, active", nil)
	}
	target, err := s.manageable(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	caller := principalFrom(ctx)
	if b.Role != nil && *b.Role == string(auth.RoleAdmin) && !auth.Can(caller.Role, auth.PermUsersAdmin) {
		return nil, forbidden("only an admin can grant the admin role")
	}
	if target.ID == caller.UserID && ((b.Role != nil && *b.Role != target.Role) || (b.Active != nil && !*b.Active)) {
		return nil, conflict("you cannot change the role of, or deactivate, your own account")
	}
	u, err := s.store.UpdateUser(ctx, target.ID, store.UserUpdate{Email: b.Email, FullName: b.FullName, Role: b.Role, Active: b.Active})
	if err != nil {
		return nil, err
	}
	if (b.Role != nil && *b.Role != target.Role) || (b.Active != nil && !*b.Active) {
		// Sessions carry the old role or a disabled account: end them.
		if err := s.auth.RevokeSessions(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	return &userOutput{Body: toUserDTO(u)}, nil
}

func (s *Server) deactivateUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	target, err := s.manageable(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if target.ID == principalFrom(ctx).UserID {
		return nil, conflict("you cannot deactivate your own account")
	}
	inactive := false
	u, err := s.store.UpdateUser(ctx, target.ID, store.UserUpdate{Active: &inactive})
	if err != nil {
		return nil, err
	}
	if err := s.auth.RevokeSessions(ctx, u.ID); err != nil {
		return nil, err
	}
	return &userOutput{Body: toUserDTO(u)}, nil
}

func (s *Server) deleteUser(ctx context.Context, in *userIDInput) (*noContent, error) {
	target, err := s.manageable(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if target.ID == principalFrom(ctx).UserID {
		return nil, conflict("you cannot delete your own account")
	}
	if err := s.store.DeleteUser(ctx, target.ID); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

type resetPasswordInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Password string `json:"password" minLength:"1" maxLength:"72" doc:"The new password; the user must change it at next login"`
	}
}

// resetPassword sets a temporary password for another user. Admin accounts
// are refused for everyone: an admin changes their own password with the old
// one.
func (s *Server) resetPassword(ctx context.Context, in *resetPasswordInput) (*noContent, error) {
	target, err := s.manageable(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if target.Role == string(auth.RoleAdmin) {
		return nil, forbidden("an admin's password cannot be reset through the API; the admin changes it with the old password")
	}
	if target.ID == principalFrom(ctx).UserID {
		return nil, conflict("change your own password at POST /api/v1/auth/password")
	}
	if err := s.auth.SetPassword(ctx, target.ID, in.Body.Password, true); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// manageable loads the target user and refuses admin targets to callers
// without users:admin.
func (s *Server) manageable(ctx context.Context, id string) (store.User, error) {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, notFound("user " + id)
		}
		return store.User{}, err
	}
	if u.Role == string(auth.RoleAdmin) && !auth.Can(principalFrom(ctx).Role, auth.PermUsersAdmin) {
		return store.User{}, forbidden("only an admin can change, deactivate or delete an admin user")
	}
	return u, nil
}
