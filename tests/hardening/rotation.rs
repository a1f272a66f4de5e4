//! Key rotation across restarts: cookies signed by a retired key keep working while it is an
//! old key, come back re-signed with the new one, and start a fresh session once it is gone.

use crate::support::*;

// --- 1. key rotation across restarts ---

const KEY_A: u8 = 0xA1;
const KEY_B: u8 = 0xB2;

/// Key A issues cookies to c1 and c2; restarted with [B, A], both cookies work and c1's comes
/// back signed by B; restarted with [B], c1's re-signed cookie works and c2's A-signed one is a
/// fresh session, its data left in the store but out of reach.
async fn key_rotation(kind: Kind, encrypt: bool) {
    let place = Place::new(kind);
    let (a, b) = (wire::master(KEY_A), wire::master(KEY_B));

    // Deploy 1: key A.
    let app = start(&place, account_routes(), &a, &[], encrypt).await;
    let (mut c1, mut c2) = (Browser::default(), Browser::default());
    assert_eq!(c1.get(&app, "/sign_in/ann").await.status, 200);
    assert_eq!(c2.get(&app, "/sign_in/bob").await.status, 200);
    let (c1_a, c2_a) = (c1.cookie(), c2.cookie());
    for cookie in [&c1_a, &c2_a] {
        assert_eq!(wire::kid_of(cookie), wire::kid(&a));
        assert!(wire::verifies(&a, cookie), "signed by A: {cookie}");
    }
    let (c1_id, c2_id) = (wire::session_id(&c1_a, &a), wire::session_id(&c2_a, &a));
    drop(app);

    // Deploy 2: B signs, A still verifies.
    let app = start(&place, account_routes(), &b, &[&a], encrypt).await;
    // c2's A-signed cookie still works. This probe's response never reaches c2, whose jar
    // keeps the A-signed cookie: c2 is the client that does not come back in this deploy.
    let probe = get_with(&app, "/read", Some(&c2_a)).await;
    assert_reads(&probe, false, "bob", 1, "A-signed c2 under [B, A]");
    // c1 only reads, and still gets its cookie back signed by B.
    let reply = c1.get(&app, "/read").await;
    assert_reads(&reply, false, "ann", 1, "A-signed c1 under [B, A]");
    let resigned = reply
        .cookie()
        .expect("a cookie verified by an old key comes back re-signed, even on a read");
    assert_eq!(wire::kid_of(&resigned), wire::kid(&b), "{resigned}");
    assert!(wire::verifies(&b, &resigned), "signed by B: {resigned}");
    assert!(
        !wire::verifies(&a, &resigned),
        "not signed by A: {resigned}"
    );
    assert_eq!(
        wire::session_id(&resigned, &b),
        c1_id,
        "re-signing keeps the session"
    );
    drop(app);

    // Deploy 3: only B.
    let app = start(&place, account_routes(), &b, &[], encrypt).await;
    assert_reads(
        &c1.get(&app, "/read").await,
        false,
        "ann",
        1,
        "c1 under [B]",
    );
    assert_eq!(c1.get(&app, "/count").await.status, 200);
    assert_reads(
        &c1.get(&app, "/read").await,
        false,
        "ann",
        2,
        "c1 under [B]",
    );
    // c2 never came back under [B, A]: its A-signed cookie is now a fresh session.
    assert_eq!(c2.cookie(), c2_a, "c2 still holds the A-signed cookie");
    assert_reads(
        &c2.get(&app, "/read").await,
        true,
        "",
        0,
        "A-signed c2 under [B]",
    );
    if kind != Kind::Cookie {
        let record = place
            .record(&c2_id)
            .await
            .expect("c2's session stays in the store");
        assert_eq!(record.fields()["user"], "bob");
    }
    // A write from c2 starts a new session: a new id, and the old record is left alone.
    assert_eq!(c2.get(&app, "/count").await.status, 200);
    let fresh = c2.cookie();
    assert!(wire::verifies(&b, &fresh));
    let fresh_id = wire::session_id(&fresh, &b);
    assert_ne!(fresh_id, c2_id);
    assert_reads(
        &c2.get(&app, "/read").await,
        false,
        "",
        1,
        "c2's new session",
    );
    if kind != Kind::Cookie {
        let old = place.record(&c2_id).await.expect("the old record");
        assert_eq!(old.fields()["user"], "bob");
        assert_eq!(old.fields()["views"], 1);
        assert!(place.record(&fresh_id).await.is_some());
    }
}

mod key_rotation_across_restarts {
    use super::{Kind, key_rotation};

    #[tokio::test]
    async fn cookie() {
        key_rotation(Kind::Cookie, false).await;
    }
    #[tokio::test]
    async fn cookie_encrypted() {
        key_rotation(Kind::Cookie, true).await;
    }
    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis() {
        key_rotation(Kind::Redis, false).await;
    }
    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres() {
        key_rotation(Kind::Postgres, false).await;
    }
    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn mariadb() {
        key_rotation(Kind::Mysql, false).await;
    }
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite() {
        key_rotation(Kind::Sqlite, false).await;
    }
}
