// Package mapping proposes field mappings between a source schema and a destination schema.
//
// Suggest compares every source field with every destination field by name (exact, ignoring case,
// ignoring separators and camel case, common abbreviations, then string and word similarity) and by
// type compatibility, gives each pair a confidence in 0..1 with a reason a person can read, and picks
// pairs so that each field is used at most once: pairs are taken in order of confidence, so a strong
// match is never given up for two weaker ones. Fields left without a partner are listed. It is pure
// logic with no I/O, safe for concurrent use.
package mapping
