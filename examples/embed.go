// Package examples embeds the example pipelines and their sample data, so that the server can offer
// them as templates (GET /api/v1/pipeline-templates) without the source tree.
package examples

import "embed"

// FS holds *.yaml and data/*.
//
//go:embed *.yaml data
var FS embed.FS
