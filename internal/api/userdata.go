package api

import (
	"context"
	"encoding/json"
	"time"

	"golang.org/x/text/language"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Preferences and dashboard layouts: every route here acts on the caller's
// own data only; the user id always comes from the token, never the request.

type Preferences struct {
	Theme     string     `json:"theme" enum:"light,dark,system"`
	Language  string     `json:"language" minLength:"2" maxLength:"35" doc:"BCP 47 language tag, e.g. en or de-CH"`
	Timezone  string     `json:"timezone" minLength:"1" maxLength:"64" doc:"IANA time zone, e.g. Europe/Paris"`
	UpdatedAt *time.Time `json:"updated_at,omitempty" readOnly:"true"`
}

type preferencesOutput struct {
	Body Preferences
}

func toPreferencesDTO(p store.Preferences) Preferences {
	d := Preferences{Theme: p.Theme, Language: p.Language, Timezone: p.Timezone}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt
		d.UpdatedAt = &t
	}
	return d
}

func (s *Server) getPreferences(ctx context.Context, _ *struct{}) (*preferencesOutput, error) {
	p, err := s.store.GetPreferences(ctx, principalFrom(ctx).UserID)
	if err != nil {
		return nil, err
	}
	return &preferencesOutput{Body: toPreferencesDTO(p)}, nil
}

type putPreferencesInput struct {
	Body struct {
		Theme    string `json:"theme" enum:"light,dark,system"`
		Language string `json:"language" minLength:"2" maxLength:"35" doc:"BCP 47 language tag, e.g. en or de-CH"`
		Timezone string `json:"timezone" minLength:"1" maxLength:"64" doc:"IANA time zone, e.g. Europe/Paris"`
	}
}

func (s *Server) putPreferences(ctx context.Context, in *putPreferencesInput) (*preferencesOutput, error) {
	if _, err := language.Parse(in.Body.Language); err != nil {
		return nil, invalid("body.language", "not a BCP 47 language tag", in.Body.Language)
	}
	if _, err := time.LoadLocation(in.Body.Timezone); err != nil || in.Body.Timezone == "Local" {
		return nil, invalid("body.timezone", "not an IANA time zone", in.Body.Timezone)
	}
	p, err := s.store.PutPreferences(ctx, store.Preferences{
		UserID: principalFrom(ctx).UserID, Theme: in.Body.Theme, Language: in.Body.Language, Timezone: in.Body.Timezone,
	})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("preferences", p.UserID)
	return &preferencesOutput{Body: toPreferencesDTO(p)}, nil
}

type DashboardLayout struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Layout    json.RawMessage `json:"layout"`
	IsDefault bool            `json:"is_default"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func toLayoutDTO(d store.DashboardLayout) DashboardLayout {
	return DashboardLayout{ID: d.ID, Name: d.Name, Layout: d.Layout, IsDefault: d.IsDefault, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// layoutBody is what a client sends. Layout is any JSON object (widget
// positions); the server stores it as given.
type layoutBody struct {
	Name      string         `json:"name" minLength:"1" maxLength:"100"`
	Layout    map[string]any `json:"layout" doc:"Free-form JSON object describing the widgets"`
	IsDefault bool           `json:"is_default,omitempty" doc:"Make this the default layout (the first one always is)"`
}

func (b layoutBody) raw() (json.RawMessage, error) {
	if b.Layout == nil {
		return json.RawMessage("{}"), nil
	}
	return json.Marshal(b.Layout)
}

type layoutOutput struct {
	Body DashboardLayout
}

type layoutListOutput struct {
	Body struct {
		Items []DashboardLayout `json:"items" nullable:"false"`
		Total int               `json:"total"`
	}
}

type layoutIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) listLayouts(ctx context.Context, _ *struct{}) (*layoutListOutput, error) {
	ls, err := s.store.ListDashboardLayouts(ctx, principalFrom(ctx).UserID)
	if err != nil {
		return nil, err
	}
	out := &layoutListOutput{}
	out.Body.Items = make([]DashboardLayout, len(ls))
	for i, l := range ls {
		out.Body.Items[i] = toLayoutDTO(l)
	}
	out.Body.Total = len(ls)
	return out, nil
}

type createLayoutInput struct {
	Body layoutBody
}

func (s *Server) createLayout(ctx context.Context, in *createLayoutInput) (*layoutOutput, error) {
	raw, err := in.Body.raw()
	if err != nil {
		return nil, invalid("body.layout", "cannot be encoded as JSON", nil)
	}
	l, err := s.store.CreateDashboardLayout(ctx, store.DashboardLayout{
		UserID: principalFrom(ctx).UserID, Name: in.Body.Name, Layout: raw, IsDefault: in.Body.IsDefault,
	})
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setTarget("dashboard_layout", l.ID)
	return &layoutOutput{Body: toLayoutDTO(l)}, nil
}

func (s *Server) getLayout(ctx context.Context, in *layoutIDInput) (*layoutOutput, error) {
	l, err := s.store.GetDashboardLayout(ctx, principalFrom(ctx).UserID, in.ID)
	if err != nil {
		return nil, err
	}
	return &layoutOutput{Body: toLayoutDTO(l)}, nil
}

type updateLayoutInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body layoutBody
}

func (s *Server) updateLayout(ctx context.Context, in *updateLayoutInput) (*layoutOutput, error) {
	raw, err := in.Body.raw()
	if err != nil {
		return nil, invalid("body.layout", "cannot be encoded as JSON", nil)
	}
	l, err := s.store.UpdateDashboardLayout(ctx, store.DashboardLayout{
		ID: in.ID, UserID: principalFrom(ctx).UserID, Name: in.Body.Name, Layout: raw, IsDefault: in.Body.IsDefault,
	})
	if err != nil {
		return nil, err
	}
	return &layoutOutput{Body: toLayoutDTO(l)}, nil
}

func (s *Server) setDefaultLayout(ctx context.Context, in *layoutIDInput) (*layoutOutput, error) {
	uid := principalFrom(ctx).UserID
	if err := s.store.SetDefaultDashboardLayout(ctx, uid, in.ID); err != nil {
		return nil, err
	}
	l, err := s.store.GetDashboardLayout(ctx, uid, in.ID)
	if err != nil {
		return nil, err
	}
	return &layoutOutput{Body: toLayoutDTO(l)}, nil
}

// noContent is the output of routes that answer 204.
type noContent struct{}

func (s *Server) deleteLayout(ctx context.Context, in *layoutIDInput) (*noContent, error) {
	if err := s.store.DeleteDashboardLayout(ctx, principalFrom(ctx).UserID, in.ID); err != nil {
		return nil, err
	}
	return &noContent{}, nil
}
