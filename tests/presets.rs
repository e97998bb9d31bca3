//! Provider presets: a provider added with a TOML file only, error messages for bad
//! files, and the facts the three built-in presets encode.

use std::path::PathBuf;

use jwks_auth::testing::{MockProvider, MOCK_AUDIENCE};
use jwks_auth::{Algorithm, AudienceRule, ErrorKind, Provider, TokenSource, Verifier};
use serde_json::json;

const CUSTOM: &str = "fixtures/custom-provider.toml";

/// A preset file in the temp directory, removed on drop.
struct TempPreset(PathBuf);

impl TempPreset {
    fn new(name: &str, contents: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("jwks-auth-presets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        TempPreset(path)
    }

    fn label(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempPreset {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The config error for a preset file, as text.
fn preset_error(name: &str, contents: &str) -> (String, String) {
    let file = TempPreset::new(name, contents);
    let err = Provider::from_toml_file(&file.0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    (err.to_string(), file.label())
}

const VALID: &str = r#"
name = "idp"
jwks_url = "https://idp.example.test/keys"
issuer = "https://idp.example.test"
audience = "none"
algorithms = ["ES256"]
"#;

// A provider from a TOML file only.

#[tokio::test]
async fn a_custom_preset_file_verifies_mock_tokens() {
    let mock = MockProvider::custom(CUSTOM).await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let token = mock
        .token()
        .claim("uid", "acme_42")
        .claim("mail", "ada@acme.test")
        .claim("roles", json!(["editor", "viewer"]))
        .sign();
    let user = verifier.verify(&token).await.unwrap();
    assert_eq!(user.id, "acme_42");
    assert_eq!(user.email.as_deref(), Some("ada@acme.test"));
    assert_eq!(user.scopes, ["editor", "viewer"]);
    assert_eq!(verifier.provider_name(), "acme-idp");
}

#[tokio::test]
async fn a_custom_preset_falls_back_to_its_second_user_id_claim() {
    let mock = MockProvider::custom(CUSTOM).await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let user = verifier.verify(&mock.token().sign()).await.unwrap();
    assert_eq!(user.id, "user_test");
}

#[tokio::test]
async fn a_custom_preset_enforces_its_audience() {
    let mock = MockProvider::custom(CUSTOM).await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let token = mock.token().audience("https://other.acme.test").sign();
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn a_custom_preset_mock_serves_keys_at_the_files_path() {
    let mock = MockProvider::custom(CUSTOM).await;
    assert_eq!(mock.jwks_url(), format!("{}/oauth2/keys", mock.uri()));
    assert_eq!(mock.issuer(), format!("{}/oauth2", mock.uri()));
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    verifier.warm_up().await.unwrap();
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn a_custom_preset_file_with_params_verifies_through_from_toml_file() {
    let mock = MockProvider::custom(CUSTOM).await;
    let source = std::fs::read_to_string(CUSTOM).unwrap();
    let file = TempPreset::new(
        "with-params.toml",
        &format!("{source}\n[params]\norigin = \"{}\"\n", mock.uri()),
    );
    let provider = Provider::from_toml_file(&file.0).unwrap();
    assert_eq!(provider.jwks_url(), Some(mock.jwks_url().as_str()));
    let verifier = Verifier::builder(provider).build().unwrap();
    let user = verifier
        .verify(&mock.token().claim("uid", "acme_1").sign())
        .await
        .unwrap();
    assert_eq!(user.id, "acme_1");
}

#[test]
fn a_custom_preset_file_sets_every_field() {
    let source = std::fs::read_to_string(CUSTOM).unwrap();
    let provider =
        Provider::from_toml_str_with(&source, CUSTOM, &[("origin", "https://idp.acme.test")])
            .unwrap();
    assert_eq!(provider.name(), "acme-idp");
    assert_eq!(
        provider.jwks_url(),
        Some("https://idp.acme.test/oauth2/keys")
    );
    assert_eq!(provider.issuer(), Some("https://idp.acme.test/oauth2"));
    assert_eq!(provider.audience_rule(), AudienceRule::Required);
    assert_eq!(provider.audiences(), ["https://api.acme.test"]);
    assert_eq!(provider.algorithms(), [Algorithm::ES256, Algorithm::RS256]);
    assert_eq!(provider.leeway().as_secs(), 30);
    assert_eq!(
        provider.token_sources(),
        [
            TokenSource::Bearer,
            TokenSource::Cookie("acme_session".into())
        ]
    );
    assert_eq!(provider.claims().user_id, ["uid", "sub"]);
    assert_eq!(provider.claims().email.as_deref(), Some("mail"));
    assert_eq!(provider.claims().scopes, ["roles"]);
}

#[test]
fn call_params_win_over_the_files_params() {
    let source = format!("{}\n[params]\norigin = \"https://from-file.test\"\n", {
        std::fs::read_to_string(CUSTOM).unwrap()
    });
    let provider =
        Provider::from_toml_str_with(&source, "x.toml", &[("origin", "https://from-call.test")])
            .unwrap();
    assert_eq!(
        provider.jwks_url(),
        Some("https://from-call.test/oauth2/keys")
    );
}

// Bad preset files.

#[test]
fn a_field_of_the_wrong_type_names_file_field_and_expectation() {
    let (message, label) = preset_error(
        "wrong-type.toml",
        &format!("{VALID}leeway_secs = \"thirty\"\n"),
    );
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("leeway_secs"), "{message}");
    assert!(message.contains("expected"), "{message}");
}

#[test]
fn a_list_field_given_a_string_names_file_field_and_expectation() {
    let source = VALID.replace(r#"algorithms = ["ES256"]"#, r#"algorithms = "ES256""#);
    let (message, label) = preset_error("string-list.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("algorithms"), "{message}");
    assert!(message.contains("expected"), "{message}");
}

#[test]
fn an_unknown_algorithm_names_file_field_value_and_expectation() {
    let source = VALID.replace(r#"["ES256"]"#, r#"["ES256", "XS999"]"#);
    let (message, label) = preset_error("unknown-alg.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("algorithms"), "{message}");
    assert!(message.contains("XS999"), "{message}");
    assert!(message.contains("expected"), "{message}");
}

#[test]
fn an_hmac_algorithm_in_a_preset_is_refused() {
    let source = VALID.replace(r#"["ES256"]"#, r#"["HS256"]"#);
    let (message, label) = preset_error("hmac.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("algorithms"), "{message}");
    assert!(message.contains("asymmetric"), "{message}");
}

#[test]
fn an_unknown_field_names_file_and_field() {
    let (message, label) = preset_error("unknown-field.toml", &format!("{VALID}colour = 1\n"));
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("colour"), "{message}");
    assert!(message.contains("expected one of"), "{message}");
}

#[test]
fn an_unknown_claims_field_names_file_and_field() {
    let (message, label) = preset_error(
        "unknown-claim-field.toml",
        &format!("{VALID}\n[claims]\nuser = [\"sub\"]\n"),
    );
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("user"), "{message}");
    assert!(message.contains("expected"), "{message}");
}

#[test]
fn a_missing_placeholder_value_names_file_field_and_placeholder() {
    let source = VALID.replace("https://idp.example.test/keys", "{origin}/keys");
    let (message, label) = preset_error("placeholder.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("jwks_url"), "{message}");
    assert!(message.contains("{origin}"), "{message}");
    assert!(message.contains("[params]"), "{message}");
}

#[test]
fn a_missing_required_field_names_file_and_field() {
    let source = VALID.replace("jwks_url = \"https://idp.example.test/keys\"\n", "");
    let (message, label) = preset_error("missing-field.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("jwks_url"), "{message}");
}

#[test]
fn an_unknown_audience_rule_names_file_value_and_choices() {
    let source = VALID.replace("audience = \"none\"", "audience = \"sometimes\"");
    let (message, label) = preset_error("audience.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("sometimes"), "{message}");
    assert!(message.contains("required"), "{message}");
}

#[test]
fn a_bad_token_source_names_file_field_and_format() {
    let (message, label) = preset_error(
        "token-source.toml",
        &format!("{VALID}token_sources = [\"header\"]\n"),
    );
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("token_sources"), "{message}");
    assert!(message.contains("cookie:<name>"), "{message}");
}

#[test]
fn an_invalid_jwks_url_names_file_and_field() {
    let source = VALID.replace("https://idp.example.test/keys", "not a url");
    let (message, label) = preset_error("bad-url.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("jwks_url"), "{message}");
    assert!(message.contains("expected a URL"), "{message}");
}

#[test]
fn a_missing_file_is_named_in_the_error() {
    let path = std::env::temp_dir().join("jwks-auth-no-such-preset.toml");
    let err = Provider::from_toml_file(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn an_unknown_builtin_preset_lists_the_known_ones() {
    let err = Provider::preset("no-such-idp", &[("origin", "https://x.test")]).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("no-such-idp"), "{message}");
    for name in Provider::builtin_names() {
        assert!(message.contains(name), "{message}");
    }
}

// Built-in presets.

#[test]
fn the_builtin_presets_include_better_auth_auth0_and_clerk() {
    let names: Vec<_> = Provider::builtin_names().collect();
    for name in ["auth0", "better-auth", "clerk"] {
        assert!(names.contains(&name), "{names:?}");
    }
}

#[test]
fn better_auth_keys_live_under_api_auth_jwks() {
    let provider = Provider::better_auth("https://auth.example.com").unwrap();
    assert_eq!(
        provider.jwks_url(),
        Some("https://auth.example.com/api/auth/jwks")
    );
}

#[test]
fn better_auth_issuer_and_audience_are_the_origin() {
    let provider = Provider::better_auth("https://auth.example.com/").unwrap();
    assert_eq!(provider.issuer(), Some("https://auth.example.com"));
    assert_eq!(provider.audience_rule(), AudienceRule::Issuer);
    assert_eq!(provider.claims().user_id, ["sub", "id"]);
    assert_eq!(provider.algorithms()[0], Algorithm::EdDSA);
}

#[test]
fn auth0_keys_live_under_well_known_jwks_json() {
    let provider = Provider::auth0("tenant.eu.auth0.com", "https://api.example.com").unwrap();
    assert_eq!(
        provider.jwks_url(),
        Some("https://tenant.eu.auth0.com/.well-known/jwks.json")
    );
}

#[test]
fn auth0_issuer_has_a_trailing_slash_and_the_audience_is_required() {
    let provider =
        Provider::auth0("https://tenant.eu.auth0.com", "https://api.example.com").unwrap();
    assert_eq!(provider.issuer(), Some("https://tenant.eu.auth0.com/"));
    assert_eq!(provider.audience_rule(), AudienceRule::Required);
    assert_eq!(provider.audiences(), ["https://api.example.com"]);
    assert_eq!(provider.algorithms(), [Algorithm::RS256]);
}

#[test]
fn auth0_without_an_audience_fails_at_build() {
    let provider = Provider::auth0("tenant.eu.auth0.com", "").unwrap();
    let err = Verifier::builder(provider).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("audience"), "{err}");
}

#[test]
fn clerk_keys_live_under_the_frontend_apis_well_known_jwks_json() {
    let provider = Provider::clerk("clerk.example.com").unwrap();
    assert_eq!(
        provider.jwks_url(),
        Some("https://clerk.example.com/.well-known/jwks.json")
    );
    assert_eq!(provider.issuer(), Some("https://clerk.example.com"));
}

#[test]
fn clerk_has_no_audience_rule_and_reads_the_session_cookie() {
    let provider = Provider::clerk("https://clerk.example.com").unwrap();
    assert_eq!(provider.audience_rule(), AudienceRule::None);
    assert!(provider.audiences().is_empty());
    assert_eq!(
        provider.token_sources(),
        [TokenSource::Bearer, TokenSource::Cookie("__session".into())]
    );
    let site = Verifier::builder(provider.clone())
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap();
    assert_eq!(site.token_sources(), provider.token_sources());
}

/// A cookie arrives with requests other sites start: only an `azp` check makes it safe
/// (Clerk's backend SDK warns of CSRF without `authorizedParties`).
#[test]
fn cookie_token_sources_need_authorized_parties() {
    let provider = Provider::clerk("https://clerk.example.com").unwrap();
    let bearer_only = Verifier::builder(provider.clone()).build().unwrap();
    assert_eq!(bearer_only.token_sources(), [TokenSource::Bearer]);
    let session = TokenSource::Cookie("__session".into());
    let err = Verifier::builder(provider.clone())
        .token_sources([TokenSource::Bearer, session.clone()])
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains(".authorized_parties("), "{err}");
    let bearer = Verifier::builder(provider.clone())
        .token_sources([TokenSource::Bearer])
        .build()
        .unwrap();
    assert_eq!(bearer.token_sources(), [TokenSource::Bearer]);
    let cookie_only = Verifier::builder(Provider::better_auth("https://auth.example.com").unwrap())
        .token_sources([session.clone()])
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap();
    assert_eq!(cookie_only.token_sources(), [session]);
}

#[tokio::test]
async fn a_better_auth_mock_token_verifies_through_the_preset() {
    let mock = MockProvider::better_auth().await;
    let provider = Provider::better_auth(&mock.uri()).unwrap();
    let verifier = Verifier::builder(provider).build().unwrap();
    let token = mock.token().sub("ba_user").sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "ba_user");
    assert_eq!(mock.token().claims()["aud"], json!(mock.uri()));
}

#[tokio::test]
async fn an_auth0_mock_token_verifies_through_the_preset() {
    let mock = MockProvider::auth0().await;
    let provider = Provider::auth0(&mock.uri(), MOCK_AUDIENCE).unwrap();
    let verifier = Verifier::builder(provider).build().unwrap();
    let token = mock.token().sub("auth0|123").sign();
    assert_eq!(verifier.verify(&token).await.unwrap().id, "auth0|123");
    assert_eq!(
        mock.token().claims()["iss"],
        json!(format!("{}/", mock.uri()))
    );
}

#[tokio::test]
async fn a_clerk_mock_token_verifies_through_the_preset() {
    let mock = MockProvider::clerk().await;
    let provider = Provider::clerk(&mock.uri()).unwrap();
    let verifier = Verifier::builder(provider).build().unwrap();
    let token = mock.token().sub("user_2abc").sid("sess_1").sign();
    let user = verifier.verify(&token).await.unwrap();
    assert_eq!(user.id, "user_2abc");
    assert_eq!(user.claims.get_str("sid"), Some("sess_1"));
}

#[test]
fn the_three_core_presets_parse_with_an_origin_and_audience() {
    for name in ["auth0", "better-auth", "clerk"] {
        let provider = Provider::preset(
            name,
            &[("origin", "https://idp.example.test"), ("audience", "api")],
        )
        .unwrap();
        assert_eq!(provider.name(), name);
        assert!(provider
            .jwks_url()
            .unwrap()
            .starts_with("https://idp.example.test/"));
    }
}

// Template filling.

#[test]
fn an_unclosed_placeholder_is_a_config_error_naming_file_and_field() {
    for (field, source) in [
        (
            "jwks_url",
            VALID.replace(
                "https://idp.example.test/keys",
                "https://idp.example.test/{origin/keys",
            ),
        ),
        (
            "issuer",
            VALID.replace(
                "issuer = \"https://idp.example.test\"",
                "issuer = \"https://idp.example.test/{tenant\"",
            ),
        ),
        (
            "audiences",
            format!("{VALID}audiences = [\"api-{{audience\"]\n"),
        ),
    ] {
        let (message, label) = preset_error(&format!("unclosed-{field}.toml"), &source);
        assert!(message.contains(&label), "{message}");
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(message.contains("unclosed `{`"), "{message}");
    }
}

#[test]
fn a_token_placeholder_outside_the_issuer_is_refused() {
    for (field, source) in [
        (
            "jwks_url",
            VALID.replace(
                "https://idp.example.test/keys",
                "https://idp.example.test/{token.tid}/keys",
            ),
        ),
        (
            "audiences",
            format!("{VALID}audiences = [\"api-{{token.aud}}\"]\n"),
        ),
    ] {
        let (message, label) = preset_error(&format!("token-in-{field}.toml"), &source);
        assert!(message.contains(&label), "{message}");
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(message.contains("only in `issuer`"), "{message}");
    }
}

#[test]
fn two_token_placeholders_in_the_issuer_are_refused() {
    let source = VALID.replace(
        "issuer = \"https://idp.example.test\"",
        "issuer = \"https://idp.example.test/{token.tid}/{token.org}\"",
    );
    let (message, label) = preset_error("two-token-placeholders.toml", &source);
    assert!(message.contains(&label), "{message}");
    assert!(message.contains("`issuer`"), "{message}");
    assert!(message.contains("at most one"), "{message}");
}

#[test]
fn parameter_values_are_inserted_literally_and_never_re_expanded() {
    let source = format!(
        "{}\naudiences = [\"{{audience}}\"]\n",
        VALID
            .replace("https://idp.example.test/keys", "{origin}/keys")
            .replace(
                "issuer = \"https://idp.example.test\"",
                "issuer = \"{origin}/{tenant}\""
            )
    );
    let provider = Provider::from_toml_str_with(
        &source,
        "literal.toml",
        &[
            ("origin", "https://idp.example.test"),
            ("tenant", "{origin}{token.tid}"),
            ("audience", "{origin}"),
        ],
    )
    .unwrap();
    assert_eq!(provider.jwks_url(), Some("https://idp.example.test/keys"));
    assert_eq!(
        provider.issuer(),
        Some("https://idp.example.test/{origin}{token.tid}")
    );
    assert_eq!(provider.audiences(), ["{origin}"]);
}

#[tokio::test]
async fn a_token_placeholder_from_a_parameter_value_is_compared_literally() {
    let mock = MockProvider::custom(CUSTOM).await;
    let source = r#"
name = "literal"
jwks_url = "{origin}/oauth2/keys"
issuer = "{origin}/{tenant}"
audience = "none"
algorithms = ["ES256", "RS256"]
"#;
    let origin = mock.uri();
    let provider = Provider::from_toml_str_with(
        source,
        "literal.toml",
        &[("origin", &origin), ("tenant", "{token.tid}")],
    )
    .unwrap();
    // The mock's tokens carry an `aud`; this preset sets no audience rule.
    let verifier = Verifier::builder(provider).any_audience().build().unwrap();
    // The value is not a per-token placeholder: a token cannot pick its own issuer with `tid`.
    let chosen = mock
        .token()
        .issuer(&format!("{origin}/evil"))
        .claim("tid", "evil")
        .sign();
    assert_eq!(
        verifier.verify(&chosen).await.unwrap_err().kind(),
        ErrorKind::InvalidIssuer
    );
    let literal = mock
        .token()
        .issuer(&format!("{origin}/{{token.tid}}"))
        .sign();
    verifier.verify(&literal).await.unwrap();
}

#[tokio::test]
async fn a_clerk_session_token_without_aud_still_verifies() {
    // Clerk session tokens carry no `aud`; tokens that do are refused by the `none` rule.
    let mock = MockProvider::clerk().await;
    let verifier = Verifier::builder(Provider::clerk(&mock.uri()).unwrap())
        .build()
        .unwrap();
    let session = mock.token().sub("user_2abc").sid("sess_1");
    assert!(!session.claims().contains_key("aud"));
    verifier.verify(&session.sign()).await.unwrap();
    let with_aud = mock.token().audience("https://api.other.test").sign();
    assert_eq!(
        verifier.verify(&with_aud).await.unwrap_err().kind(),
        ErrorKind::InvalidAudience
    );
}

/// The built-in presets whose tokens say whether the email is verified, and the claim.
const EMAIL_VERIFIED_CLAIMS: &[(&str, Option<&str>)] = &[
    ("auth0", Some("email_verified")),
    ("better-auth", Some("emailVerified")),
    ("clerk", None),
    ("cognito", Some("email_verified")),
    ("entra-id", None),
    ("entra-id-multitenant", None),
    ("entra-id-v1", None),
    ("firebase", Some("email_verified")),
    ("google", Some("email_verified")),
    ("keycloak", Some("email_verified")),
    ("kinde", Some("email_verified")),
    ("okta", Some("email_verified")),
    ("stytch", None),
    ("supabase", None),
];

#[test]
fn every_builtin_preset_says_where_email_verified_lives() {
    let mut names: Vec<_> = Provider::builtin_names().collect();
    names.sort_unstable();
    let listed: Vec<_> = EMAIL_VERIFIED_CLAIMS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        names, listed,
        "a preset is missing from EMAIL_VERIFIED_CLAIMS"
    );
}

#[tokio::test]
async fn email_verified_is_mapped_per_preset() {
    for (name, claim) in EMAIL_VERIFIED_CLAIMS {
        let mock = MockProvider::start(name, Algorithm::RS256).await;
        let verifier = Verifier::builder(mock.provider()).build().unwrap();
        assert_eq!(
            mock.provider().claims().email_verified.as_deref(),
            *claim,
            "{name}"
        );
        for verified in [true, false] {
            // Both spellings in the token: only the preset's own claim may count.
            let token = mock
                .token()
                .email("ada@example.test")
                .claim("email_verified", verified)
                .claim("emailVerified", verified)
                .sign();
            let user = verifier
                .verify(&token)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected = claim.map(|_| verified);
            assert_eq!(user.email_verified, expected, "{name}");
        }
        // The testing kit writes the preset's claim name.
        let token = mock
            .token()
            .email("ada@example.test")
            .email_verified(true)
            .sign();
        let user = verifier.verify(&token).await.unwrap();
        assert_eq!(user.email_verified, claim.map(|_| true), "{name}");
    }
}

#[tokio::test]
async fn better_auth_reads_email_verified_from_its_camel_case_claim() {
    let mock = MockProvider::better_auth().await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    let snake_only = mock.token().claim("email_verified", true).sign();
    assert_eq!(
        verifier.verify(&snake_only).await.unwrap().email_verified,
        None
    );
    let camel = mock.token().claim("emailVerified", false).sign();
    assert_eq!(
        verifier.verify(&camel).await.unwrap().email_verified,
        Some(false)
    );
}

#[tokio::test]
async fn an_email_verified_claim_that_is_not_a_boolean_is_unknown() {
    let mock = MockProvider::start("google", Algorithm::RS256).await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    for value in [json!("true"), json!(1), json!(null)] {
        let token = mock.token().claim("email_verified", value.clone()).sign();
        assert_eq!(
            verifier.verify(&token).await.unwrap().email_verified,
            None,
            "{value}"
        );
    }
}

// The `[token]` table.

#[test]
fn a_token_table_with_a_bad_rule_names_the_field() {
    let cases = [
        ("typ = \"jwt\"\n", "token.typ"),
        ("typ = []\n", "token.typ"),
        (
            "class_header = \"kind\"\n[token.classes]\na = [\"a\"]\n",
            "token.class_header",
        ),
        (
            "class_claim = \"k\"\naccept = [\"b\"]\n[token.classes]\na = [\"a\"]\n",
            "token.accept",
        ),
        (
            "class_claim = \"k\"\nmachine = [\"b\"]\n[token.classes]\na = [\"a\"]\n",
            "token.machine",
        ),
        ("class_claim = \"k\"\n", "token.classes"),
        (
            "accept = [\"a\"]\n[token.classes]\na = [\"a\"]\n",
            "token.classes",
        ),
    ];
    for (table, field) in cases {
        let (message, label) =
            preset_error("bad-token.toml", &format!("{VALID}\n[token]\n{table}"));
        assert!(message.contains(&label), "{message}");
        assert!(message.contains(field), "{field}: {message}");
    }
}

#[tokio::test]
async fn a_custom_preset_typ_list_accepts_its_type_and_refuses_another() {
    let file = TempPreset::new(
        "typ-list.toml",
        r#"
name = "typed"
jwks_url = "{origin}/keys"
issuer = "{origin}"
audience = "none"
algorithms = ["ES256"]

[token]
typ = ["JWT"]
"#,
    );
    let mock = MockProvider::custom(&file.0).await;
    let verifier = Verifier::builder(mock.provider()).build().unwrap();
    assert!(verifier.verify(&mock.token().sign()).await.is_ok());
    let other = mock.token().header("typ", "at+jwt").sign();
    assert_eq!(
        verifier.verify(&other).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenType
    );
}
