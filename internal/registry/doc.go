// Package registry is the one name -> component table that the connector and transformation
// registries share. A Registry is a value built by the composition root (internal/app) with the
// components the application offers; tests build one with only what they need. Names are unique and
// non-empty; lookups of an unknown name fail with an error listing the known names. A Registry is
// not safe for concurrent Add; once built, Get, Names and All may be called from any goroutine.
package registry
