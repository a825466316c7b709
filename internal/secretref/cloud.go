package secretref

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/apierror"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
)

// Auth methods of the cloud providers.
const (
	// AuthDefault takes the provider SDK's default credential chain: environment variables,
	// shared configuration files, the workload's role (an EC2/ECS/EKS role, GCP's metadata server
	// or workload identity, an Azure managed identity).
	AuthDefault = "default"
	// AuthStatic signs AWS requests with an access key id and secret access key.
	AuthStatic = "static"
	// AuthServiceAccount authenticates to GCP with a service account key (its JSON file).
	AuthServiceAccount = "service_account"
	// AuthClientSecret authenticates to Azure as an app registration (tenant, client id, secret).
	AuthClientSecret = "client_secret"
)

// AWSSettings configure AWS Secrets Manager; Region empty means none.
type AWSSettings struct {
	Region string `json:"region"`
	// Endpoint overrides the service's endpoint (a VPC endpoint); empty: AWS's for the region.
	Endpoint string `json:"endpoint,omitempty"`
	// Auth is AuthDefault or AuthStatic.
	Auth            string `json:"auth"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	SessionToken    string `json:"session_token,omitempty"`
}

// GCPSettings configure Google Cloud Secret Manager; Auth empty means none.
type GCPSettings struct {
	// Auth is AuthDefault or AuthServiceAccount.
	Auth string `json:"auth"`
	// CredentialsJSON is the service account key file of AuthServiceAccount.
	CredentialsJSON string `json:"credentials_json,omitempty"`
	// Endpoint overrides https://secretmanager.googleapis.com (a regional or private endpoint).
	Endpoint string `json:"endpoint,omitempty"`
}

// AzureSettings configure Azure Key Vault; Auth empty means none.
type AzureSettings struct {
	// Auth is AuthDefault or AuthClientSecret.
	Auth         string `json:"auth"`
	TenantID     string `json:"tenant_id,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	// VaultSuffix is the DNS suffix of key vaults (default vault.azure.net; vault.azure.cn,
	// vault.usgovcloudapi.net in other clouds).
	VaultSuffix string `json:"vault_suffix,omitempty"`
	// AuthorityHost is Microsoft Entra ID's address (default https://login.microsoftonline.com/).
	AuthorityHost string `json:"authority_host,omitempty"`
}

// DefaultAzureVaultSuffix is the DNS suffix of key vaults in Azure's public cloud.
const DefaultAzureVaultSuffix = "vault.azure.net"

func (a AWSSettings) validate() []string {
	var p []string
	if a.Region == "" {
		if a.Auth != "" || a.AccessKeyID != "" || a.Endpoint != "" {
			p = append(p, "aws.region: is required to use AWS Secrets Manager")
		}
		return p
	}
	if !awsRegion.MatchString(a.Region) {
		p = append(p, "aws.region: is not a region name (us-east-1)")
	}
	if a.Endpoint != "" && !isHTTPURL(a.Endpoint) {
		p = append(p, "aws.endpoint: must be an http:// or https:// URL")
	}
	switch a.Auth {
	case AuthDefault:
	case AuthStatic:
		if a.AccessKeyID == "" {
			p = append(p, "aws.access_key_id: is required with static auth")
		}
		if a.SecretAccessKey == "" {
			p = append(p, "aws.secret_access_key: is required with static auth")
		}
	default:
		p = append(p, `aws.auth: must be "default" or "static"`)
	}
	return p
}

func (g GCPSettings) validate() []string {
	var p []string
	switch g.Auth {
	case "":
		return nil
	case AuthDefault:
	case AuthServiceAccount:
		if g.CredentialsJSON == "" {
			p = append(p, "gcp.credentials_json: is required with service account auth")
		} else {
			var key struct {
				Type        string `json:"type"`
				ClientEmail string `json:"client_email"`
				PrivateKey  string `json:"private_key"`
			}
			if err := json.Unmarshal([]byte(g.CredentialsJSON), &key); err != nil || key.Type != "service_account" || key.ClientEmail == "" || key.PrivateKey == "" {
				p = append(p, `gcp.credentials_json: must be a service account key file (JSON with "type": "service_account", client_email and private_key)`)
			}
		}
	default:
		p = append(p, `gcp.auth: must be "default" or "service_account"`)
	}
	if g.Endpoint != "" && !isHTTPURL(g.Endpoint) {
		p = append(p, "gcp.endpoint: must be an http:// or https:// URL")
	}
	return p
}

func (a AzureSettings) validate() []string {
	var p []string
	switch a.Auth {
	case "":
		return nil
	case AuthDefault:
	case AuthClientSecret:
		if a.TenantID == "" {
			p = append(p, "azure.tenant_id: is required with client secret auth")
		}
		if a.ClientID == "" {
			p = append(p, "azure.client_id: is required with client secret auth")
		}
		if a.ClientSecret == "" {
			p = append(p, "azure.client_secret: is required with client secret auth")
		}
	default:
		p = append(p, `azure.auth: must be "default" or "client_secret"`)
	}
	if a.VaultSuffix != "" && !dnsSuffix.MatchString(a.VaultSuffix) {
		p = append(p, "azure.vault_suffix: must be a DNS suffix (vault.azure.net)")
	}
	if a.AuthorityHost != "" && !strings.HasPrefix(a.AuthorityHost, "https://") {
		p = append(p, "azure.authority_host: must be an https:// URL")
	}
	return p
}

var (
	awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	dnsSuffix = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
)

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// cloudClients are the cloud providers' clients, built on first use.
type cloudClients struct {
	mu     sync.Mutex
	aws    *secretsmanager.Client
	gcp    *secretmanager.Client
	azure  map[string]*azsecrets.Client // by vault name
	azCred azcore.TokenCredential
}

// fromKey returns the secret's text, or the value of key in it (a JSON object) when key is set.
func fromKey(ref, text, key string) (string, error) {
	if key == "" {
		return text, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return "", fail(ref, ErrKeyMissing, "the secret is not a JSON object, so it has no key "+key)
	}
	raw, ok := obj[key]
	if !ok {
		return "", fail(ref, ErrKeyMissing, "")
	}
	s, ok := raw.(string)
	if !ok {
		return "", fail(ref, ErrKeyMissing, "the key's value is not a string")
	}
	return s, nil
}

func checkSize(ref string, n int) error {
	if n > MaxFileBytes {
		return fail(ref, ErrRefused, fmt.Sprintf("larger than %d bytes", MaxFileBytes))
	}
	return nil
}

// --- AWS Secrets Manager ---

func (r *Resolver) awsClient(ctx context.Context, ref string) (*secretsmanager.Client, error) {
	r.cloud.mu.Lock()
	defer r.cloud.mu.Unlock()
	if r.cloud.aws != nil {
		return r.cloud.aws, nil
	}
	a := r.set.AWS
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(a.Region),
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if a.Auth == AuthStatic {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, a.SessionToken)))
	}
	// The default chain's own lookups (instance metadata, STS, SSO) use the SDK's client: the
	// metadata address is what they must reach, and the guarded client refuses it by design.
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fail(ref, ErrPermission, "the AWS configuration could not be loaded: "+firstLine(err.Error()))
	}
	r.cloud.aws = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if a.Endpoint != "" {
			o.BaseEndpoint = aws.String(a.Endpoint)
		}
		if r.http != nil {
			o.HTTPClient = r.withTimeout()
		}
	})
	return r.cloud.aws, nil
}

// awsSM reads an AWS Secrets Manager reference: GetSecretValue of the secret's current version.
func (r *Resolver) awsSM(ctx context.Context, p Ref) (string, error) {
	if r.set.AWS.Region == "" {
		return "", fail(p.Raw, ErrNotConfigured, "AWS Secrets Manager is not set up; an administrator sets it under Secret managers")
	}
	ctx, cancel := context.WithTimeout(ctx, vaultTimeout)
	defer cancel()
	c, err := r.awsClient(ctx, p.Raw)
	if err != nil {
		return "", err
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.Name)})
	if err != nil {
		return "", awsErr(p.Raw, err)
	}
	var text string
	switch {
	case out.SecretString != nil:
		text = *out.SecretString
	case out.SecretBinary != nil && utf8.Valid(out.SecretBinary):
		text = string(out.SecretBinary)
	default:
		return "", fail(p.Raw, ErrKeyMissing, "the secret holds binary data that is not text")
	}
	if err := checkSize(p.Raw, len(text)); err != nil {
		return "", err
	}
	return fromKey(p.Raw, text, p.Key)
}

func awsErr(ref string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		detail := ae.ErrorCode()
		switch ae.ErrorCode() {
		case "ResourceNotFoundException":
			return fail(ref, ErrNotFound, "")
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
			"ExpiredTokenException", "IncompleteSignature", "InvalidClientTokenId", "DecryptionFailure", "SignatureDoesNotMatch":
			return fail(ref, ErrPermission, detail)
		case "InternalServiceError", "InternalFailure", "ServiceUnavailable", "ThrottlingException":
			return fail(ref, ErrUnreachable, detail)
		default:
			if m := ae.ErrorMessage(); m != "" {
				detail += ": " + truncate(m, 200)
			}
			return fail(ref, ErrRefused, detail)
		}
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return fail(ref, ErrUnreachable, fmt.Sprintf("HTTP %d", re.HTTPStatusCode()))
	}
	return fail(ref, ErrUnreachable, lastPart(err.Error()))
}

// --- Google Cloud Secret Manager ---

const gcpScope = "https://www.googleapis.com/auth/cloud-platform"

func (r *Resolver) gcpClient(ctx context.Context, ref string) (*secretmanager.Client, error) {
	r.cloud.mu.Lock()
	defer r.cloud.mu.Unlock()
	if r.cloud.gcp != nil {
		return r.cloud.gcp, nil
	}
	g := r.set.GCP
	base := http.DefaultClient
	if r.http != nil {
		base = r.withTimeout()
	}
	var creds *google.Credentials
	var err error
	if g.Auth == AuthServiceAccount {
		// The token exchange goes through the same client as the calls.
		tctx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
		creds, err = google.CredentialsFromJSONWithType(tctx, []byte(g.CredentialsJSON), google.ServiceAccount, gcpScope)
	} else {
		// Application default credentials: the metadata server or workload identity, reached by
		// the library's own client (the guarded client refuses the metadata address by design).
		creds, err = google.FindDefaultCredentials(context.Background(), gcpScope)
	}
	if err != nil {
		return nil, fail(ref, ErrPermission, "the GCP credentials could not be loaded: "+firstLine(err.Error()))
	}
	authed := &http.Client{Timeout: vaultTimeout, Transport: &oauth2.Transport{Source: creds.TokenSource, Base: transportOf(base)}}
	opts := []option.ClientOption{option.WithHTTPClient(authed)}
	if g.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(g.Endpoint))
	}
	c, err := secretmanager.NewRESTClient(ctx, opts...)
	if err != nil {
		return nil, fail(ref, ErrUnreachable, firstLine(err.Error()))
	}
	r.cloud.gcp = c
	return c, nil
}

// gcpSM reads a GCP Secret Manager reference: AccessSecretVersion, the payload checked against
// its CRC32C when the service sends one.
func (r *Resolver) gcpSM(ctx context.Context, p Ref) (string, error) {
	if r.set.GCP.Auth == "" {
		return "", fail(p.Raw, ErrNotConfigured, "GCP Secret Manager is not set up; an administrator sets it under Secret managers")
	}
	ctx, cancel := context.WithTimeout(ctx, vaultTimeout)
	defer cancel()
	c, err := r.gcpClient(ctx, p.Raw)
	if err != nil {
		return "", err
	}
	name := "projects/" + p.Project + "/secrets/" + p.Secret + "/versions/" + p.Version
	res, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name}, gax.WithRetry(nil))
	if err != nil {
		return "", gcpErr(p.Raw, err)
	}
	data := res.GetPayload().GetData()
	if sum := res.GetPayload().DataCrc32C; sum != nil && int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))) != *sum {
		return "", fail(p.Raw, ErrUnreachable, "the payload's CRC32C does not match: corrupted in transit")
	}
	if !utf8.Valid(data) {
		return "", fail(p.Raw, ErrKeyMissing, "the secret holds binary data that is not text")
	}
	if err := checkSize(p.Raw, len(data)); err != nil {
		return "", err
	}
	return fromKey(p.Raw, string(data), p.Key)
}

func gcpErr(ref string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		return fail(ref, ErrPermission, "the token exchange was refused"+statusDetail(rerr.Response))
	}
	if ae, ok := apierror.FromError(err); ok {
		code := ae.HTTPCode()
		if code <= 0 {
			code = grpcToHTTP[ae.GRPCStatus().Code()]
		}
		detail := fmt.Sprintf("HTTP %d", code)
		if m := ae.Reason(); m != "" {
			detail += ": " + m
		}
		switch {
		case code == http.StatusNotFound:
			return fail(ref, ErrNotFound, "")
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return fail(ref, ErrPermission, detail)
		case code >= 500 || code == http.StatusTooManyRequests:
			return fail(ref, ErrUnreachable, detail)
		case code > 0:
			return fail(ref, ErrRefused, detail)
		}
	}
	return fail(ref, ErrUnreachable, lastPart(err.Error()))
}

// grpcToHTTP maps the status codes a REST error may carry only as a status (google.rpc.Code).
var grpcToHTTP = map[codes.Code]int{
	codes.NotFound: http.StatusNotFound, codes.PermissionDenied: http.StatusForbidden, codes.Unauthenticated: http.StatusUnauthorized,
	codes.Unavailable: http.StatusServiceUnavailable, codes.Internal: http.StatusInternalServerError, codes.ResourceExhausted: http.StatusTooManyRequests,
	codes.InvalidArgument: http.StatusBadRequest, codes.FailedPrecondition: http.StatusBadRequest, codes.DeadlineExceeded: http.StatusGatewayTimeout,
}

func statusDetail(res *http.Response) string {
	if res == nil {
		return ""
	}
	return fmt.Sprintf(" (HTTP %d)", res.StatusCode)
}

// --- Azure Key Vault ---

func (r *Resolver) azureClient(ref, vaultName string) (*azsecrets.Client, error) {
	r.cloud.mu.Lock()
	defer r.cloud.mu.Unlock()
	if c, ok := r.cloud.azure[vaultName]; ok {
		return c, nil
	}
	a := r.set.Azure
	co := azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}
	if r.http != nil {
		co.Transport = r.withTimeout()
	}
	if a.AuthorityHost != "" {
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: a.AuthorityHost, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}
	}
	if r.cloud.azCred == nil {
		var cred azcore.TokenCredential
		var err error
		if a.Auth == AuthClientSecret {
			cred, err = azidentity.NewClientSecretCredential(a.TenantID, a.ClientID, a.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: a.AuthorityHost != ""})
		} else {
			// Managed identity and the other default sources use the library's own client: the
			// metadata address is what they must reach, and the guarded client refuses it.
			dco := co
			dco.Transport = nil
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: dco, DisableInstanceDiscovery: a.AuthorityHost != ""})
		}
		if err != nil {
			return nil, fail(ref, ErrPermission, "the Azure credentials could not be set up: "+firstLine(err.Error()))
		}
		r.cloud.azCred = cred
	}
	suffix := a.VaultSuffix
	if suffix == "" {
		suffix = DefaultAzureVaultSuffix
	}
	c, err := azsecrets.NewClient("https://"+vaultName+"."+suffix, r.cloud.azCred, &azsecrets.ClientOptions{ClientOptions: co})
	if err != nil {
		return nil, fail(ref, ErrRefused, firstLine(err.Error()))
	}
	if r.cloud.azure == nil {
		r.cloud.azure = map[string]*azsecrets.Client{}
	}
	r.cloud.azure[vaultName] = c
	return c, nil
}

// azureKV reads an Azure Key Vault reference: Get Secret, its current or named version.
func (r *Resolver) azureKV(ctx context.Context, p Ref) (string, error) {
	if r.set.Azure.Auth == "" {
		return "", fail(p.Raw, ErrNotConfigured, "Azure Key Vault is not set up; an administrator sets it under Secret managers")
	}
	ctx, cancel := context.WithTimeout(ctx, vaultTimeout)
	defer cancel()
	c, err := r.azureClient(p.Raw, p.Vault)
	if err != nil {
		return "", err
	}
	res, err := c.GetSecret(ctx, p.Name, p.Version, nil)
	if err != nil {
		return "", azureErr(p.Raw, err)
	}
	if res.Value == nil {
		return "", fail(p.Raw, ErrKeyMissing, "the secret has no value")
	}
	if err := checkSize(p.Raw, len(*res.Value)); err != nil {
		return "", err
	}
	return fromKey(p.Raw, *res.Value, p.Key)
}

func azureErr(ref string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		return fail(ref, ErrPermission, "Microsoft Entra ID refused the credentials"+statusDetail(af.RawResponse))
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		detail := fmt.Sprintf("HTTP %d", re.StatusCode)
		if re.ErrorCode != "" {
			detail += ": " + re.ErrorCode
		}
		switch {
		case re.StatusCode == http.StatusNotFound:
			return fail(ref, ErrNotFound, "")
		case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
			return fail(ref, ErrPermission, detail)
		case re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests:
			return fail(ref, ErrUnreachable, detail)
		default:
			return fail(ref, ErrRefused, detail)
		}
	}
	if strings.Contains(err.Error(), "DefaultAzureCredential") {
		return fail(ref, ErrPermission, "no Azure credential is available: "+firstLine(err.Error()))
	}
	return fail(ref, ErrUnreachable, lastPart(err.Error()))
}

// --- shared ---

// withTimeout is the resolver's client bounded by the per-call timeout.
func (r *Resolver) withTimeout() *http.Client {
	c := *r.http
	c.Timeout = vaultTimeout
	return &c
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return truncate(s, 300)
}

func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return truncate(msg, 200)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
