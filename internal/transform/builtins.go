package transform

// Builtins returns every built-in transformation definition, for the registry that internal/app
// builds: transform.NewRegistry(transform.Builtins()...).
func Builtins() []Definition {
	return []Definition{
		mapDefinition(),
		expressionDefinition(),
		filterDefinition(),
		validateDefinition(),
		cleanseDefinition(),
		dedupDefinition(),
		unionDefinition(),
		joinDefinition(),
		aggregateDefinition(),
		windowDefinition(),
		streamDedupDefinition(),
	}
}
