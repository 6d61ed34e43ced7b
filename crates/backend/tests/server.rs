//! The backend started in-process through its library API: lifecycle, the demo account,
//! and the user states that HTTP alone cannot produce (inactive, deleted users).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::{json, Value};
use tessera_backend::db::Database;
use tessera_backend::{Config, DatabaseLocation, Server, UserSpec};

fn config(database: DatabaseLocation) -> Config {
    Config {
        database,
        users: vec![UserSpec::parse("demo:demo-password").unwrap()],
        password_iterations: 1_000,
        rotate_refresh_tokens: true,
        blacklist_after_rotation: true,
        ..Config::default()
    }
}

async fn start(config: Config) -> Server {
    Server::bind(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(server: &Server, path: &str, access: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(server: &Server, username: &str, password: &str) -> (String, String) {
    let (status, body) = post(
        server,
        "api/token/",
        json!({"username": username, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        body["refresh"].as_str().unwrap().to_owned(),
        body["access"].as_str().unwrap().to_owned(),
    )
}

fn file(dir: &Path) -> DatabaseLocation {
    DatabaseLocation::File(dir.join("nested").join("backend.sqlite3"))
}

#[tokio::test]
async fn serves_on_a_free_port_and_shuts_down() {
    let server = start(config(DatabaseLocation::Memory)).await;
    assert_ne!(server.local_addr().port(), 0);
    assert_eq!(server.accounts(), ["demo"]);
    assert!(server.generated_account().is_none());
    let (_, access) = login(&server, "demo", "demo-password").await;
    assert_eq!(get(&server, "api/hello/", &access).await.0, 200);
    let url = server.url();
    server.shutdown().await.unwrap();
    assert!(reqwest::get(format!("{url}api/hello/")).await.is_err());
}

#[tokio::test]
async fn an_empty_database_gets_a_generated_demo_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = Config {
        users: Vec::new(),
        create_demo_user_if_empty: true,
        ..config(file(dir.path()))
    };
    let server = start(fresh.clone()).await;
    let account = server.generated_account().cloned().unwrap();
    assert_eq!(account.username, "demo");
    assert!(account.password.len() >= 16);
    let (_, access) = login(&server, "demo", &account.password).await;
    server.shutdown().await.unwrap();

    // Same file: no new account, and the persisted HS256 key still accepts old tokens.
    let server = start(fresh).await;
    assert!(server.generated_account().is_none());
    assert_eq!(get(&server, "api/me/", &access).await.0, 200);
    login(&server, "demo", &account.password).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn inactive_and_deleted_users_lose_access() {
    let dir = tempfile::tempdir().unwrap();
    let location = file(dir.path());
    let server = start(config(location.clone())).await;
    for name in ["sleepy", "gone"] {
        let (status, body) = post(
            &server,
            "api/register/",
            json!({"username": name, "email": format!("{name}@x.io"), "password": "long-enough"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (sleepy_refresh, sleepy_access) = login(&server, "sleepy", "long-enough").await;
    let (gone_refresh, gone_access) = login(&server, "gone", "long-enough").await;

    let db = Database::open(&location).unwrap();
    let sleepy = db.user_by_username("sleepy").unwrap().unwrap();
    let gone = db.user_by_username("gone").unwrap().unwrap();
    db.set_user_active(sleepy.id, false).unwrap();
    db.delete_user(gone.id).unwrap();

    assert_eq!(
        get(&server, "api/me/", &sleepy_access).await,
        (
            401,
            json!({"detail": "User is inactive", "code": "user_inactive"})
        )
    );
    assert_eq!(
        get(&server, "api/me/", &gone_access).await,
        (
            401,
            json!({"detail": "User not found", "code": "user_not_found"})
        )
    );
    let no_account = json!({"detail": "No active account found for the given token."});
    assert_eq!(
        post(
            &server,
            "api/token/refresh/",
            json!({"refresh": sleepy_refresh})
        )
        .await,
        (401, no_account.clone())
    );
    // simplejwt 5.5.1 answers 500 here (User.DoesNotExist escapes); we answer like inactive.
    assert_eq!(
        post(
            &server,
            "api/token/refresh/",
            json!({"refresh": gone_refresh})
        )
        .await,
        (401, no_account)
    );
    let (status, body) = post(
        &server,
        "api/token/",
        json!({"username": "sleepy", "password": "long-enough"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn login_rehashes_when_the_work_factor_changes() {
    let dir = tempfile::tempdir().unwrap();
    let location = file(dir.path());
    let server = start(config(location.clone())).await;
    server.shutdown().await.unwrap();
    let db = Database::open(&location).unwrap();
    let before = db.user_by_username("demo").unwrap().unwrap().password_hash;
    assert!(before.starts_with("pbkdf2_sha256$1000$"), "{before}");

    let stronger = Config {
        users: Vec::new(),
        password_iterations: 1_500,
        ..config(location.clone())
    };
    let server = start(stronger).await;
    login(&server, "demo", "demo-password").await;
    let after = db.user_by_username("demo").unwrap().unwrap().password_hash;
    assert!(after.starts_with("pbkdf2_sha256$1500$"), "{after}");
    login(&server, "demo", "demo-password").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn controls_are_absent_unless_enabled() {
    let server = start(config(DatabaseLocation::Memory)).await;
    let response = reqwest::get(format!("{}_test/counters", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let (status, _) = post(&server, "_test/clock", json!({"shift_secs": 1000})).await;
    assert_eq!(status, 404);
    server.shutdown().await.unwrap();
}
