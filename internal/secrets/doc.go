// Package secrets seals and opens small secret values (saved connectors' credentials) with
// AES-256-GCM under keys derived from operator-supplied key material (ENCRYPTION_KEY).
//
// Contract:
//   - A Keyring holds one current key, which Seal uses, and any number of previous keys, which
//     Open still accepts, so that keys can be rotated without downtime.
//   - Every key has a key id derived from its material (not the key itself and not reversible);
//     a sealed value is stored with the id of the key that sealed it. Open with an id the
//     keyring does not hold returns an error matching ErrUnknownKey.
//   - Seal binds the ciphertext to caller-chosen associated data (for example a row id): a
//     value copied to another row does not open. A tampered value does not open
//     (ErrCorrupt).
//   - Nothing in this package logs, and no error carries key material or plaintext.
package secrets
