//! Configuration loading: precedence, errors naming keys, redaction, the example file.

use std::path::Path;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn defaults_are_valid() {
    Config::default().validate().unwrap();
}

#[test]
fn precedence_default_file_env_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("helpline.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\nlog = \"debug\"\nbcrypt_cost = 10\n[smtp]\nhost = \"file.example\"\n",
    )
    .unwrap();

    let only_file = Config::load(Some(&file), env(&[]), &Overrides::default()).unwrap();
    assert_eq!(only_file.listen.port(), 9000);
    assert_eq!(only_file.log, "debug");
    assert_eq!(only_file.smtp.host.as_deref(), Some("file.example"));
    assert_eq!(only_file.access_token_ttl_secs, 900, "default kept");

    let with_env = Config::load(
        Some(&file),
        env(&[
            ("HELPLINE_LISTEN", "127.0.0.1:9001"),
            ("HELPLINE_SMTP__HOST", "env.example"),
            ("HELPLINE_SMTP__PORT", "2525"),
            (
                "HELPLINE_CORS_ORIGINS",
                "https://a.example, https://b.example",
            ),
            ("OTHER_LISTEN", "127.0.0.1:1"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(with_env.listen.port(), 9001);
    assert_eq!(with_env.log, "debug", "file value kept when env is silent");
    assert_eq!(with_env.smtp.host.as_deref(), Some("env.example"));
    assert_eq!(with_env.smtp.port, Some(2525));
    assert_eq!(
        with_env.cors_origins,
        vec!["https://a.example", "https://b.example"]
    );

    let with_flag = Config::load(
        Some(&file),
        env(&[("HELPLINE_LISTEN", "127.0.0.1:9001")]),
        &Overrides {
            listen: Some("127.0.0.1:9002".parse().unwrap()),
            data_dir: Some(PathBuf::from("/srv/helpline")),
        },
    )
    .unwrap();
    assert_eq!(with_flag.listen.port(), 9002);
    assert_eq!(with_flag.data_dir, PathBuf::from("/srv/helpline"));
}

#[test]
fn errors_name_the_key() {
    let err = Config::load(
        None,
        env(&[("HELPLINE_SMTP__PORT", "abc")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("HELPLINE_SMTP__PORT"), "{err}");

    let err = Config::load(
        None,
        env(&[("HELPLINE_LOG_FORMAT", "xml")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("HELPLINE_LOG_FORMAT") && err.contains("pretty"),
        "{err}"
    );

    let err = Config::load(
        None,
        env(&[("HELPLINE_BCRYPT_COST", "2")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`bcrypt_cost`") && err.contains("between 4 and 31"),
        "{err}"
    );

    let err = Config::load(None, env(&[("HELPLINE_LISTN", "x")]), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("listn"), "typos are reported: {err}");

    let err = Config::load(
        None,
        env(&[("HELPLINE_BASE_URL", "example.com")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`base_url`"), "{err}");
}

#[test]
fn missing_config_file_is_an_error() {
    let err = Config::load(
        Some(Path::new("/nonexistent/helpline.toml")),
        env(&[]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not exist"));
}

#[test]
fn secrets_are_redacted() {
    let config = Config::load(
        None,
        env(&[
            (
                "HELPLINE_JWT_SECRET",
                "jwt-secret-value-that-is-long-enough-0123",
            ),
            ("HELPLINE_SMTP__USERNAME", "mailer"),
            ("HELPLINE_SMTP__PASSWORD", "smtp-password-value"),
            ("HELPLINE_INBOUND_SECRET", "inbound-secret-value"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        config.jwt_secret.as_ref().unwrap().expose(),
        "jwt-secret-value-that-is-long-enough-0123"
    );
    let debug = format!("{config:?}");
    let json = serde_json::to_string(&config).unwrap();
    for shown in [debug, json] {
        assert!(!shown.contains("jwt-secret-value"), "{shown}");
        assert!(!shown.contains("smtp-password-value"), "{shown}");
        assert!(!shown.contains("inbound-secret-value"), "{shown}");
        assert!(shown.contains("***"));
    }
}

#[test]
fn example_file_parses_and_documents_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.toml");
    std::fs::write(&file, EXAMPLE).unwrap();
    Config::load(Some(&file), env(&[]), &Overrides::default()).unwrap();

    let defaults = serde_json::to_value(Config::default()).unwrap();
    let mut keys = Vec::new();
    collect_keys(&defaults, "", &mut keys);
    for key in keys {
        let leaf = key.rsplit('.').next().unwrap();
        let documented = EXAMPLE.lines().any(|line| {
            line.trim_start_matches(['#', ' '])
                .starts_with(&format!("{leaf} ="))
        });
        assert!(
            documented,
            "key `{key}` is missing from helpline.example.toml"
        );
    }
}

fn collect_keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                collect_keys(v, &key, out);
            } else {
                out.push(key);
            }
        }
    }
}

#[test]
fn smtp_ports_default_by_security() {
    assert_eq!(SmtpSecurity::None.default_port(), 25);
    assert_eq!(SmtpSecurity::Starttls.default_port(), 587);
    assert_eq!(SmtpSecurity::Tls.default_port(), 465);
}
