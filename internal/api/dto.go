package api

import (
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// PageQuery is the pagination every list route accepts.
type PageQuery struct {
	Page    int `query:"page" minimum:"1" default:"1" doc:"Page number, from 1"`
	PerPage int `query:"per_page" minimum:"1" maximum:"200" default:"50" doc:"Items per page (at most 200)"`
}

func (q PageQuery) store() store.Page {
	page, per := q.Page, q.PerPage
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = 50
	}
	return store.Page{Limit: per, Offset: (page - 1) * per}
}

// Page is the body of every list response.
type Page[T any] struct {
	Items   []T `json:"items" nullable:"false"`
	Total   int `json:"total" doc:"Number of items matching the filter, over all pages"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

func newPage[T any](items []T, total int, q PageQuery) Page[T] {
	if items == nil {
		items = []T{}
	}
	return Page[T]{Items: items, Total: total, Page: max(q.Page, 1), PerPage: q.store().Limit}
}

// User is a user as the API shows it (never the password hash).
type User struct {
	ID                 string     `json:"id"`
	Username           string     `json:"username"`
	Email              string     `json:"email"`
	FullName           string     `json:"full_name"`
	Role               string     `json:"role"`
	Active             bool       `json:"active"`
	MustChangePassword bool       `json:"must_change_password"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
}

func toUserDTO(u store.User) User {
	return User{
		ID: u.ID, Username: u.Username, Email: u.Email, FullName: u.FullName, Role: u.Role,
		Active: u.Active, MustChangePassword: u.MustChangePassword,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt,
	}
}
