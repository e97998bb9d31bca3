// The one test client registered with server.mjs (a confidential client-credentials client,
// client_secret_basic). Test-only values: never use them outside this fixture.
export const CLIENT_ID = "interop-client";
export const CLIENT_SECRET = "jwks-auth-interop-client-secret-not-for-production";
