// Package salesforce is the Salesforce source (type "salesforce") on the shared HTTP kit
// (httpkit: OAuth2, retries, size caps, the outbound guard).
//
// Contract:
//   - Auth is OAuth2: a refresh token (granted in the web app with "Connect with Salesforce"),
//     client credentials or a JWT bearer assertion. The API address is the token response's
//     instance_url unless instance_url is set.
//   - Discover describes objects (GET /sobjects, then /sobjects/{name}/describe): fields with their
//     kinds, the key Id, the cursors SystemModstamp and LastModifiedDate.
//   - A read runs one SOQL query: through the REST query API page by page (nextRecordsUrl), or
//     through a Bulk API 2.0 query job (CSV result pages by Sforce-Locator) when bulk is always, or
//     auto and a COUNT() of the query passes bulk_threshold. An incremental read asks for records
//     modified at or after the last run's cursor and skips the ids that run read at that time.
//   - include_deleted reads through queryAll and adds _op (delete or upsert) from IsDeleted.
//   - Error bodies ([{"message","errorCode"}]) become errors that lead with the code;
//     REQUEST_LIMIT_EXCEEDED says the org's API allowance is spent.
package salesforce
