// The default of identityHeaders.removeHeaders: a config default, so it lives with the schema.
/**
 * Issue 13: what legacy stacks and other auth proxies read as the user or the
 * client address. Removed before forwarding like the identity prefix.
 */
export const SPOOFABLE_HEADERS = [
  // client address
  'Forwarded', 'X-Real-IP', 'True-Client-IP', 'X-Client-IP', 'CF-Connecting-IP', 'X-Cluster-Client-IP', 'Fastly-Client-IP',
  'X-Forwarded', 'Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Scheme', 'X-Forwarded-SSL', 'X-Forwarded-Server', 'X-Url-Scheme',
  'X-Original-Forwarded-For', 'X-ProxyUser-IP', 'Client-IP', 'Remote-Addr', 'X-Remote-Addr', 'X-Remote-IP',
  // user identity (Apache/CGI, oauth2-proxy, Pomerium, Azure, Google IAP, AWS ALB, Grafana, Gitea…)
  'Remote-User', 'X-Remote-User', 'X-Remote-Group', 'X-Remote-Groups', 'X-Forwarded-User', 'X-Forwarded-Email',
  'X-Forwarded-Preferred-Username', 'X-Forwarded-Groups', 'X-Forwarded-Access-Token', 'X-Authenticated-User',
  'X-Authenticated-Userid', 'X-Authenticated-Groups', 'X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups',
  'X-Auth-Request-Preferred-Username', 'X-Auth-Request-Access-Token', 'X-WebAuth-User', 'X-WebAuth-Email', 'X-User',
  'X-Username', 'X-User-Id', 'X-User-Email', 'X-Email', 'X-Pomerium-Jwt-Assertion', 'X-Pomerium-Claim-Email',
  'X-MS-Client-Principal', 'X-MS-Client-Principal-Name', 'X-MS-Client-Principal-Id', 'X-MS-Client-Principal-Idp',
  'X-Goog-Authenticated-User-Email', 'X-Goog-Authenticated-User-Id', 'X-Goog-IAP-JWT-Assertion',
  'X-Amzn-Oidc-Identity', 'X-Amzn-Oidc-Data', 'X-Amzn-Oidc-Accesstoken', 'X-Consumer-Username', 'X-Consumer-Id', 'X-Credential-Identifier',
  // client certificates vouched for by a TLS front end
  'X-Forwarded-Client-Cert', 'X-SSL-Client-Cert', 'X-Client-Cert', 'SSL-Client-Cert', 'X-SSL-Client-DN', 'X-SSL-Client-S-DN',
  'X-Client-DN', 'X-SSL-Client-Verify', 'SSL-Client-Verify', 'X-Client-Verify', 'X-ARR-ClientCert',
] as const
