// Package schemachange classifies the differences between the schema a run reads, the schema of the
// destination's last successful run and the destination table, and decides what a destination's
// schema-change policy (evolve, fail, quarantine, review) does with each of them. It is pure: it
// reads no database; the engine asks the destination (connector.TargetInspector) for its table and
// applies the decision.
package schemachange
