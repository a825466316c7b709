package api

import (
	"context"
	"fmt"

	"github.com/dataaggregator/aggregator/internal/mapping"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Schema mapping: POST /api/v1/mappings/suggest proposes source ->
// destination field pairs (internal/mapping), each with a confidence and a
// reason, for the UI's mapping editor.

// MappingField is a field of a schema to map.
type MappingField struct {
	Name string `json:"name" minLength:"1" maxLength:"256"`
	Type string `json:"type,omitempty" maxLength:"32" doc:"bool, int, float, decimal, string, bytes, date, timestamp or json (default string)"`
}

type suggestMappingInput struct {
	Body struct {
		Source        []MappingField `json:"source" maxItems:"2000" doc:"The source schema's fields"`
		Destination   []MappingField `json:"destination" maxItems:"2000" doc:"The destination schema's fields"`
		MinConfidence float64        `json:"min_confidence,omitempty" minimum:"0" maximum:"1" doc:"Drop pairs below this confidence (default 0.5)"`
	}
}

// MappingSuggestion is one proposed pair.
type MappingSuggestion struct {
	Source          string  `json:"source"`
	Destination     string  `json:"destination"`
	SourceType      string  `json:"source_type"`
	DestinationType string  `json:"destination_type"`
	Confidence      float64 `json:"confidence" doc:"0..1"`
	Match           string  `json:"match" enum:"exact,case_insensitive,normalized,abbreviation,similar"`
	Cast            bool    `json:"cast" doc:"The value must be converted to the destination type"`
	TypeCompatible  bool    `json:"type_compatible" doc:"False when no conversion between the types exists"`
	Reason          string  `json:"reason"`
}

// MappingResult is every suggestion, best first, and the fields left over.
type MappingResult struct {
	Suggestions          []MappingSuggestion `json:"suggestions"`
	UnmatchedSource      []string            `json:"unmatched_source"`
	UnmatchedDestination []string            `json:"unmatched_destination"`
}

func mappingFields(in []MappingField, location string) ([]record.Field, error) {
	out := make([]record.Field, len(in))
	for i, f := range in {
		k := record.KindString
		if f.Type != "" {
			var err error
			if k, err = record.ParseKind(f.Type); err != nil {
				return nil, invalid(fmt.Sprintf("%s[%d].type", location, i), err.Error(), f.Type)
			}
		}
		out[i] = record.Field{Name: f.Name, Kind: k, Nullable: true}
	}
	return out, nil
}

func (s *Server) suggestMapping(_ context.Context, in *suggestMappingInput) (*struct{ Body MappingResult }, error) {
	src, err := mappingFields(in.Body.Source, "body.source")
	if err != nil {
		return nil, err
	}
	dst, err := mappingFields(in.Body.Destination, "body.destination")
	if err != nil {
		return nil, err
	}
	res := mapping.Suggest(src, dst, mapping.Options{MinConfidence: in.Body.MinConfidence})
	out := MappingResult{Suggestions: []MappingSuggestion{}, UnmatchedSource: nonNil(res.UnmatchedSource),
		UnmatchedDestination: nonNil(res.UnmatchedDestination)}
	for _, sg := range res.Suggestions {
		out.Suggestions = append(out.Suggestions, MappingSuggestion{Source: sg.Source, Destination: sg.Destination,
			SourceType: sg.SourceType.String(), DestinationType: sg.DestinationType.String(), Confidence: sg.Confidence,
			Match: string(sg.Match), Cast: sg.Cast, TypeCompatible: sg.TypeCompatible, Reason: sg.Reason})
	}
	return &struct{ Body MappingResult }{Body: out}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
