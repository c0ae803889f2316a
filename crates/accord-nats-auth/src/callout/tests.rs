//! Unit tests of the callout's pure part: requests shaped like nats-server 2.15's, answers
//! decoded back and checked field by field.

use super::*;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const NOW: i64 = 1_800_000_000;

struct Fixture {
    server: KeyPair,
    issuer: Arc<KeyPair>,
    user: KeyPair,
}

fn fixture() -> Fixture {
    Fixture {
        server: KeyPair::new_server(),
        issuer: Arc::new(KeyPair::new_account()),
        user: KeyPair::new_user(),
    }
}

/// A request as nats-server 2.15 writes it.
fn request_jwt(
    f: &Fixture,
    token: Option<&str>,
    edit: impl FnOnce(&mut serde_json::Value),
) -> String {
    let mut connect =
        serde_json::json!({"lang": "rust", "version": "0.51.0", "protocol": 1, "name": "cli"});
    if let Some(token) = token {
        connect["auth_token"] = token.into();
    }
    let mut claims = serde_json::json!({
        "aud": REQUEST_AUDIENCE,
        "exp": NOW + 2,
        "jti": "X",
        "iat": NOW,
        "iss": f.server.public_key(),
        "sub": f.issuer.public_key(),
        "nats": {
            "server_id": {"name": "s1", "host": "0.0.0.0", "id": f.server.public_key(), "version": "2.15.1"},
            "user_nkey": f.user.public_key(),
            "client_info": {"host": "127.0.0.1", "id": 7, "kind": "Client", "type": "nats"},
            "connect_opts": connect,
            "type": "authorization_request",
            "version": 2
        }
    });
    edit(&mut claims);
    jwt::encode(&claims, &f.server, "test request").unwrap()
}

fn claims_of(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn decodes_a_server_request() {
    let f = fixture();
    let jwt = request_jwt(&f, Some("acc_secret"), |_| {});
    let request = decode_request(jwt.as_bytes(), &f.issuer.public_key(), NOW).unwrap();
    assert_eq!(request.user_nkey, f.user.public_key());
    assert_eq!(request.server_id, f.server.public_key());
    assert_eq!(request.client.host, "127.0.0.1");
    assert_eq!(request.client.name, "cli");
    assert_eq!(extract_token(&request).unwrap().expose(), "acc_secret");
    assert!(!format!("{request:?}").contains("acc_secret"));
    assert!(!format!("{:?}", extract_token(&request).unwrap()).contains("acc_secret"));
}

#[test]
fn refuses_requests_that_are_not_the_servers() {
    let f = fixture();
    let issuer = f.issuer.public_key();
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            request_jwt(&f, None, |c| c["aud"] = "other".into()),
        ),
        (
            "wrong subject",
            request_jwt(&f, None, |c| {
                c["sub"] = KeyPair::new_account().public_key().into()
            }),
        ),
        (
            "wrong type",
            request_jwt(&f, None, |c| c["nats"]["type"] = "user".into()),
        ),
        (
            "expired",
            request_jwt(&f, None, |c| c["exp"] = (NOW - 60).into()),
        ),
        (
            "other server id",
            request_jwt(&f, None, |c| {
                c["nats"]["server_id"]["id"] = KeyPair::new_server().public_key().into()
            }),
        ),
        (
            "account user nkey",
            request_jwt(&f, None, |c| {
                c["nats"]["user_nkey"] = KeyPair::new_account().public_key().into()
            }),
        ),
    ];
    for (name, jwt) in cases {
        assert!(
            decode_request(jwt.as_bytes(), &issuer, NOW).is_err(),
            "{name}"
        );
    }
    // Signed by an account key instead of a server key.
    let mut claims = claims_of(&request_jwt(&f, None, |_| {}));
    let account = KeyPair::new_account();
    claims["iss"] = account.public_key().into();
    let forged = jwt::encode(&claims, &account, "t").unwrap();
    assert!(decode_request(forged.as_bytes(), &issuer, NOW).is_err());
    assert!(decode_request(&vec![b'a'; MAX_REQUEST_LEN + 1], &issuer, NOW).is_err());
}

#[test]
fn token_bounds() {
    let f = fixture();
    let issuer = f.issuer.public_key();
    let long = "k".repeat(MAX_TOKEN_LEN + 1);
    for (token, ok) in [
        (None, false),
        (Some(""), false),
        (Some(long.as_str()), false),
        (Some("k"), true),
    ] {
        let request =
            decode_request(request_jwt(&f, token, |_| {}).as_bytes(), &issuer, NOW).unwrap();
        let result = extract_token(&request);
        assert_eq!(result.is_ok(), ok, "{token:?}");
        if let Err(denied) = result {
            assert!(!denied.message.contains(&long));
        }
    }
}

#[test]
fn builds_a_user_jwt_for_a_grant() {
    let f = fixture();
    let request = decode_request(
        request_jwt(&f, Some("t"), |_| {}).as_bytes(),
        &f.issuer.public_key(),
        NOW,
    )
    .unwrap();
    let issuer = Issuer::new(Arc::clone(&f.issuer));
    let grant = Grant {
        principal: "key-1".into(),
        project: Some("01J0000000000000000000000A".into()),
        ttl: Duration::from_secs(60),
    };
    let response = issuer.respond(&request, Ok(grant), NOW).unwrap();
    let (claims, iss): (serde_json::Value, String) = jwt::decode_verified(&response, 'A').unwrap();
    assert_eq!(iss, f.issuer.public_key());
    assert_eq!(claims["sub"], f.user.public_key());
    assert_eq!(claims["aud"], f.server.public_key());
    assert_eq!(claims["nats"]["type"], "authorization_response");
    assert!(claims["nats"].get("error").is_none());
    let user_jwt = claims["nats"]["jwt"].as_str().unwrap();
    let (user, _): (serde_json::Value, String) = jwt::decode_verified(user_jwt, 'A').unwrap();
    assert_eq!(user["aud"], ACCOUNT);
    assert_eq!(user["sub"], f.user.public_key());
    assert_eq!(user["name"], "key-1");
    assert_eq!(user["exp"], NOW + 60);
    assert_eq!(user["nats"]["type"], "user");
    assert_eq!(user["nats"]["pub"]["deny"], serde_json::json!([">"]));
    assert!(user["nats"]["pub"].get("allow").is_none());
    assert_eq!(
        user["nats"]["sub"]["allow"],
        serde_json::json!(["accord.evt.01J0000000000000000000000A.>"])
    );
}

#[test]
fn clamps_ttl_and_refuses_wide_projects() {
    let f = fixture();
    // (A one-letter token would be redacted from every message containing that letter.)
    let request = decode_request(
        request_jwt(&f, Some("acc_0123456789"), |_| {}).as_bytes(),
        &f.issuer.public_key(),
        NOW,
    )
    .unwrap();
    let issuer = Issuer::new(Arc::clone(&f.issuer)).with_max_ttl(Duration::from_secs(30));
    let user_of = |response: &str| -> serde_json::Value {
        let (claims, _): (serde_json::Value, String) = jwt::decode_verified(response, 'A').unwrap();
        match claims["nats"]["jwt"].as_str() {
            Some(user) => {
                jwt::decode_verified::<serde_json::Value>(user, 'A')
                    .unwrap()
                    .0
            }
            None => claims,
        }
    };
    let long = Grant {
        principal: "op".into(),
        project: None,
        ttl: Duration::from_secs(3600),
    };
    assert_eq!(
        user_of(&issuer.respond(&request, Ok(long), NOW).unwrap())["exp"],
        NOW + 30
    );
    let zero = Grant {
        principal: "op".into(),
        project: None,
        ttl: Duration::ZERO,
    };
    assert_eq!(
        user_of(&issuer.respond(&request, Ok(zero), NOW).unwrap())["exp"],
        NOW + 1
    );
    for project in ["*", ">", "a.b", "", "a b"] {
        let grant = Grant {
            principal: "k".into(),
            project: Some(project.into()),
            ttl: Duration::from_secs(5),
        };
        let answer = user_of(&issuer.respond(&request, Ok(grant), NOW).unwrap());
        assert!(
            answer["nats"]["error"]
                .as_str()
                .unwrap()
                .contains("project"),
            "{project:?}"
        );
    }
}

#[test]
fn refusals_never_echo_the_token() {
    let f = fixture();
    let request = decode_request(
        request_jwt(&f, Some("acc_topsecret"), |_| {}).as_bytes(),
        &f.issuer.public_key(),
        NOW,
    )
    .unwrap();
    let issuer = Issuer::new(Arc::clone(&f.issuer));
    let response = issuer
        .respond(&request, Err(Denied::new("unknown key acc_topsecret")), NOW)
        .unwrap();
    let (claims, _): (serde_json::Value, String) = jwt::decode_verified(&response, 'A').unwrap();
    let error = claims["nats"]["error"].as_str().unwrap();
    assert!(!error.contains("acc_topsecret"), "{error}");
    assert!(claims["nats"].get("jwt").is_none());
    assert_eq!(claims["aud"], f.server.public_key());
}
