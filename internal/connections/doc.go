// Package connections owns saved connectors: the use cases behind the API's /connectors routes
// and the resolution of `connector: <name>` references in pipeline specs.
//
// Contract:
//   - Save (create, update) validates the config against the connector type's config spec, splits
//     every secret field (configspec's Secret) out of it and seals those values with the keyring
//     (AES-256-GCM, bound to the connector's id); the store sees only the non-secret config and the
//     sealed value with its key id.
//   - Reads (Get, List, Create and Update results) never carry a secret: secret fields show
//     configspec.Redacted. On update a secret left out, or sent back as configspec.Redacted, keeps
//     the stored value; any other value replaces it.
//   - Check, Discover and Resolve (for runs and validation) open the secrets and hand the full
//     config to the connector; nothing else sees it. A value sealed under a key the keyring does not
//     hold is an error naming the connector (ErrUnknownKey).
//   - Delete purges the config and secrets (the store keeps only the row's name and history).
//   - StartOAuth and CompleteOAuth run "Connect with ..." (the OAuth2 authorization code with PKCE)
//     for types that implement connector.OAuthConnector: a random state bound to the user, kept in
//     memory for OAuthStateTTL and used once; the code is exchanged through Env's guarded client and
//     the grant (the refresh token, sealed) saved into the connector (oauth.go).
//   - Verify, called at start, refuses a keyring that cannot open the stored secrets; Rotate reseals
//     every connector under the current key (and seals configs stored in plain text by earlier
//     versions) and reports counts.
package connections
