// Package cognitotest provides an in-process fake of Amazon Cognito user
// pools for tests, benchmarks and demos, shaped like net/http/httptest.
//
// NewServer starts an HTTP server on a loopback address that speaks the
// awsJson1_1 protocol exactly as the real aws-sdk-go-v2 client expects it
// (reference §5): POST / routed on the X-Amz-Target header
// "AWSCognitoIdentityProviderService.<Operation>", JSON bodies with
// PascalCase keys, dates as epoch seconds, errors as HTTP 400 (500 for
// InternalErrorException) with a body {"__type": code, "message": text} and
// an X-Amzn-ErrorType header. Server.Client returns a real
// *cognitoidentityprovider.Client aimed at it, using the SDK's default HTTP
// client and retryer, so tests exercise the real serializers, deserializers
// and retry logic.
//
// Implemented operations: AdminGetUser, AdminSetUserMFAPreference,
// AdminSetUserSettings, ListUsers and AdminCreateUser; for preflight and the
// self-test also DescribeUserPool (EstimatedNumberOfUsers, MfaConfiguration),
// ListUserPools, AdminDeleteUser, AdminUpdateUserAttributes,
// AdminDeleteUserAttributes, AdminSetUserPassword, AdminResetUserPassword,
// SignUp, CreateUserPoolClient, DeleteUserPoolClient, AdminInitiateAuth
// (ADMIN_USER_PASSWORD_AUTH), AssociateSoftwareToken and VerifySoftwareToken
// (a real RFC 6238 check of the code; TOTPOptions). Any other target is
// answered with UnknownOperationException. The server also answers STS
// GetCallerIdentity (AWS query protocol: a form-encoded POST answered in
// XML) with AccountID and CallerARN, so an STS client aimed at Server.URL
// (AWS_ENDPOINT_URL_STS) works.
//
// # Account, Region and IAM
//
// A call signed (SigV4 credential scope) for another Region than the one a
// pool ID names is answered ResourceNotFoundException, as real Cognito
// answers for a pool that does not exist in the Region called, and
// ListUserPools lists only the pools of the Region it is signed for, so one
// Server stands for one account (AccountID) in several Regions behind one
// endpoint; AddPool adds pools with a name, an MFA configuration and an
// estimated number of users (PoolInfo). Deny makes an
// operation fail with AccessDeniedException naming the action and the pool's
// ARN, as a missing IAM permission does. SetQuirks makes the server disagree
// with one documented or inferred behaviour (Quirks), so that a self-test can
// be shown to notice. SignUp, AssociateSoftwareToken and VerifySoftwareToken
// are called unsigned, with a user's token, as the SDK sends them.
//
// # Model of MFA state
//
// A User carries both the legacy MFAOptions (set by the deprecated
// AdminSetUserSettings) and the flags reported in UserMFASettingList
// (SMS_MFA, SOFTWARE_TOKEN_MFA, EMAIL_OTP) with one PreferredMfaSetting.
// A user seeded with an SMS MFAOptions entry and SMSEnabled false is the
// legacy state real Cognito reports: MFAOptions present, no SMS_MFA in
// UserMFASettingList, no PreferredMfaSetting (reference §1,
// aws/aws-sdk-java-v2#4869, aws/aws-sdk#693).
//
// Where the reference documents no behaviour, the fake infers it from the
// evidence in the reference or errs on the side that makes a client's
// mistakes visible. These choices are:
//
//   - Legacy and new SMS settings are two views of one per-user SMS flag
//     (reference §1, inferred from aws-amplify/amplify-js#1259 and #447).
//     Enabling SMS with AdminSetUserMFAPreference never removes a legacy
//     MFAOptions entry, and adds {SMS, phone_number} when there was none,
//     as Cognito did in 2018 (amplify-js#1259; amplify-js PR #2707:
//     MFAOptions "will only be defined if SMS MFA settings are enabled").
//     Disabling SMS with AdminSetUserMFAPreference (an SMSMfaSettings object
//     without Enabled) also removes SMS MFAOptions entries.
//     AdminSetUserSettings stores MFAOptions verbatim and, when the new list
//     has no SMS entry, also disables SMS_MFA and clears an SMS preference:
//     the cautious reading of "clearing MFAOptions may switch SMS MFA off".
//     Setting an SMS MFAOptions entry does not add SMS_MFA to the list.
//   - AdminSetUserMFAPreference applies only the settings objects present in
//     the request; an absent (or JSON null) object leaves that factor
//     unchanged (reference §2). A present object is applied in full, so the
//     {} the Go SDK sends for {Enabled:false} disables the factor, and
//     {Enabled:true} without PreferredMfa on the preferred factor clears the
//     preference. Any SMSMfaSettings object, even {}, needs a phone_number
//     attribute (amplify-js#846). Enabling TOTP needs TOTPRegistered;
//     enabling email needs an email attribute. PreferredMfa true on a
//     disabled factor, or on more than one factor, is rejected with
//     InvalidParameterException. WebAuthnMfaSettings{Enabled:true} is stored
//     in User.WebAuthnEnabled (never reported by AdminGetUser) and needs
//     another factor enabled, as the SDK documentation demands; pool
//     WebAuthn and tier configuration are not modeled. Users with status
//     RESET_REQUIRED get PasswordResetRequiredException and UNCONFIRMED
//     users get UserNotConfirmedException: the reference lists these as
//     possible rejections without saying when, so this pairing is inferred;
//     the fake reads it from the same table as the job's planner (package
//     job/internal/rejection). Pool MFA configuration ("required") is not
//     modeled.
//   - ListUsers pages stored users in insertion order with opaque tokens
//     (users a SetUserSource function could generate are not listed); an
//     unknown or malformed token, or a Limit outside 0..60, is rejected with
//     InvalidParameterException. Filter supports = and ^= on username,
//     email, phone_number, name, given_name, family_name,
//     preferred_username, sub, status and cognito:user_status (all matched
//     case-sensitively); other attributes are rejected. AttributesToGet
//     naming an attribute that is not searchable (such as a custom
//     attribute) fails when a returned user lacks it, reading the SDK
//     documentation cautiously (reference §3).
//   - Request validation is stricter than the Go SDK's client-side checks:
//     pool IDs and usernames must match the model's patterns (reference §7),
//     or the call fails with InvalidParameterException, as a constraint
//     violation does on real Cognito.
//   - Requests must carry a SigV4 Authorization header; a missing one gets
//     MissingAuthenticationTokenException. Only the access key ID is
//     checked, and only when WithAccessKey is given.
//
// # Faults, quotas and observation
//
// Throttling (ThrottleNext, FailNext, SetQuota) answers
// TooManyRequestsException "Rate exceeded" with HTTP 400 before anything
// changes, exactly as Cognito does (reference §4). The SDK models that error
// for AdminGetUser and ListUsers, so clients see a
// *types.TooManyRequestsException there, but not for
// AdminSetUserMFAPreference or AdminSetUserSettings, where clients see a
// *smithy.GenericAPIError with that code (reference §5). SetFaults injects
// 500 InternalErrorException, TCP resets before or after a change is
// applied, and latency, from a seeded random source. Quotas are token
// buckets per Category, pooled across the server's pools like the account
// quotas they model (reference §4).
//
// Every request is counted (Calls, Stats) and, unless SetRecording(false),
// recorded with its raw body (Requests). PerSecond and MaxInWindow report
// arrival rates per Category for checking a client's rate limiting.
//
// # Production traffic and usage metrics
//
// SetProduction simulates production's own calls of a Category at a rate
// that may change at any time; they take tokens from the same quota buckets
// as the requests the server receives, and their throttled calls are
// counted apart (Usage). Every call is counted per metric period
// (SetUsageMetrics: the period, the lag before a period is published, and
// periods that are never published), and the server answers, on its URL,
// CloudWatch's ListMetrics and GetMetricData (Smithy RPC v2 CBOR, AWS/Usage
// CallCount and ThrottleCount, Sum, dimensions Service, Type, Resource,
// Class) and Service Quotas' ListServiceQuotas and GetServiceQuota (JSON
// 1.1, service code cognito-idp, the quotas of SetQuota or Cognito's
// defaults), so that the real SDK clients of both services can be aimed at
// it and tests compress minutes into seconds. Deny also applies to these
// operations, named alone ("GetMetricData") or as IAM actions
// ("cloudwatch:GetMetricData").
//
// # Clients not built by Server
//
// A loopback server answers faster than any real endpoint, which exposes a
// race in the SDK's request body handling that can cut off large responses
// (ListUsers pages) with "use of closed network connection"; see
// AvoidRequestBodyRace. Server.Config, Server.Client and job.NewClient
// install the workaround. A client built another way (for example straight
// from config.LoadDefaultConfig with the endpoint set to Server.URL) should
// add it with config.WithAPIOptions; without it, the SDK's retryer usually
// hides the failure (the error is retryable), and the server holds back
// large responses for 2 ms to make it rare.
//
// All methods of Server are safe for concurrent use.
package cognitotest
