package ascode

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/dataaggregator/aggregator/internal/apiclient"
)

// Server is what export, plan and apply need of a server.
type Server interface {
	// Objects returns every object of a kind with its full content (a pipeline's spec text, a
	// connector's config with secrets redacted) and its mark of the last apply.
	Objects(ctx context.Context, k Kind) ([]Object, error)
	Create(ctx context.Context, o Object) (id string, err error)
	Update(ctx context.Context, id string, o Object) error
	Delete(ctx context.Context, k Kind, id string) error
	// Mark records that the object was written from the file at path now.
	Mark(ctx context.Context, k Kind, id, path string) error
}

// API is a Server reached through its REST API.
type API struct{ C *apiclient.Client }

type apiManaged struct {
	Path    string `json:"path"`
	Drifted *bool  `json:"drifted"`
}

type apiObject struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Description string         `json:"description"`
	Config      map[string]any `json:"config"`
	SpecText    string         `json:"spec_text"`
	Managed     *apiManaged    `json:"managed"`
}

// Objects lists a kind page by page, then reads each object.
func (a API) Objects(ctx context.Context, k Kind) ([]Object, error) {
	var ids []string
	for page := 1; ; page++ {
		var p struct {
			Items []apiObject `json:"items"`
			Total int         `json:"total"`
		}
		if err := a.C.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/%s?per_page=200&page=%d", k.Dir(), page), &p); err != nil {
			return nil, fmt.Errorf("list %s: %w", k.Dir(), err)
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if len(p.Items) == 0 || len(ids) >= p.Total {
			break
		}
	}
	out := make([]Object, 0, len(ids))
	for _, id := range ids {
		var o apiObject
		if err := a.C.Do(ctx, http.MethodGet, "/api/v1/"+k.Dir()+"/"+url.PathEscape(id), &o); err != nil {
			return nil, fmt.Errorf("read %s %s: %w", k, id, err)
		}
		obj := Object{Kind: k, ID: o.ID, Name: o.Name, Type: o.Type, Description: o.Description, Config: o.Config, Text: o.SpecText}
		if o.Managed != nil {
			obj.Managed = &Managed{Path: o.Managed.Path, Drifted: o.Managed.Drifted != nil && *o.Managed.Drifted}
		}
		out = append(out, obj)
	}
	return out, nil
}

func body(o Object) map[string]any {
	return map[string]any{"name": o.Name, "type": o.Type, "description": o.Description, "config": orEmpty(o.Config)}
}

// Create creates the object and returns its id.
func (a API) Create(ctx context.Context, o Object) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	var err error
	if o.Kind == KindPipeline {
		err = a.C.DoBody(ctx, http.MethodPost, "/api/v1/pipelines", "application/yaml", []byte(o.Text), &out)
	} else {
		err = a.C.DoJSON(ctx, http.MethodPost, "/api/v1/"+o.Kind.Dir(), body(o), &out)
	}
	return out.ID, err
}

// Update replaces the object.
func (a API) Update(ctx context.Context, id string, o Object) error {
	path := "/api/v1/" + o.Kind.Dir() + "/" + url.PathEscape(id)
	if o.Kind == KindPipeline {
		return a.C.DoBody(ctx, http.MethodPut, path, "application/yaml", []byte(o.Text), nil)
	}
	return a.C.DoJSON(ctx, http.MethodPut, path, body(o), nil)
}

// Delete deletes the object.
func (a API) Delete(ctx context.Context, k Kind, id string) error {
	return a.C.Do(ctx, http.MethodDelete, "/api/v1/"+k.Dir()+"/"+url.PathEscape(id), nil)
}

// Mark records the file the object was applied from.
func (a API) Mark(ctx context.Context, k Kind, id, path string) error {
	return a.C.DoJSON(ctx, http.MethodPut, "/api/v1/"+k.Dir()+"/"+url.PathEscape(id)+"/managed", map[string]string{"path": path}, nil)
}
