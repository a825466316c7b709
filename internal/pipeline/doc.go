// Package pipeline is the pipeline spec: the one format (YAML or JSON) the API, the UI and the CLI
// share. Parse decodes a document strictly (unknown keys are errors, each with its line and column);
// Validate checks a Spec against the connector and transformation registries and reports every
// problem at once, each with its path (`transforms[0].config.expression: ...`); on success it returns
// a Plan: the nodes in topological order with their connectors and transformation definitions
// resolved, ready for the engine. Saved connectors and transformations are resolved through a
// Resolver the caller provides (the server has one; the CLI has none). Nothing here opens a
// connection or reads data.
package pipeline
