//! Session fixation: a client-chosen id is never adopted, and `regenerate()` leaves the old id
//! dead, on every store.

use serde_json::json;
use time::OffsetDateTime;

use crate::support::*;

// --- 4. session fixation ---

/// The attacker's candidate cookies for a session id of its choice. Unsigned, signed with a key
/// the app does not have, or in the shape of the other cookie kind.
fn forged_cookies(kind: Kind, id: &str, app_key: &[u8]) -> Vec<String> {
    let stranger = wire::master(0xEE);
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let payload = json!({"i": id, "c": now, "s": now, "d": {"user": "mallory"}}).to_string();
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        payload.as_bytes(),
    );
    let kid = wire::kid(app_key);
    let mut forged = vec![
        id.to_owned(),
        format!("1.{kid}.{id}"),
        format!("1.{kid}.{id}.{}", "A".repeat(43)),
        wire::sign(&stranger, "1", id),
        format!("2.{kid}.{payload}.{}", "A".repeat(43)),
        wire::sign(&stranger, "2", &payload),
    ];
    // The other kind of cookie, really signed with the app's key and carrying the chosen id:
    // an id cookie is not a cookie-store cookie, and a cookie-store cookie is not an id cookie.
    if kind == Kind::Cookie {
        forged.push(wire::sign(app_key, "1", id));
    } else {
        forged.push(wire::sign(app_key, "2", &payload));
    }
    forged
}

/// A client-chosen id is never adopted: a forged cookie naming it leads, once the session is
/// written, to a session with a new id, and nothing is ever stored under the chosen one.
async fn fixation_chosen_id(kind: Kind) {
    let place = Place::new(kind);
    let key = wire::master(0xF1);
    let app = start(&place, account_routes(), &key, &[], false).await;
    for (n, forged) in forged_cookies(kind, &wire::chosen_id('M'), &key)
        .iter()
        .enumerate()
    {
        let chosen = wire::chosen_id('M');
        let read = get_with(&app, "/read", Some(forged)).await;
        assert_reads(&read, true, "", 0, &format!("forged cookie {n}: {forged}"));
        let reply = get_with(&app, "/sign_in/victim", Some(forged)).await;
        assert_eq!(reply.status, 200, "forged cookie {n}: {}", reply.body);
        let issued = reply.cookie().expect("a new session cookie");
        let issued_id = wire::session_id(&issued, &key);
        assert_ne!(issued_id, chosen, "forged cookie {n} had its id adopted");
        assert_eq!(issued_id.len(), 43);
        if kind != Kind::Cookie {
            assert!(
                place.record(&chosen).await.is_none(),
                "forged cookie {n}: a record under the attacker's id"
            );
            let record = place.record(&issued_id).await.expect("the new session");
            assert_eq!(record.fields()["user"], "victim");
        }
        // The forged cookie still reads nothing of the victim's session.
        let after = get_with(&app, "/read", Some(forged)).await;
        assert_reads(
            &after,
            true,
            "",
            0,
            &format!("forged cookie {n} after login"),
        );
    }
}

per_backend!(fixation_forged_id_is_never_adopted, fixation_chosen_id);

/// A cookie the app's key really signed, for an id its store does not know (obtained from
/// another instance with the same key, whose session was then removed, or from an instance
/// with a store of its own): not adopted either.
async fn fixation_signed_unknown_id(kind: Kind) {
    if kind == Kind::Cookie {
        return; // the cookie is the store: an authentic cookie is a known session
    }
    let key = wire::master(0xF2);
    let place = Place::new(kind);
    let elsewhere = Place::new(kind);
    let app = start(&place, account_routes(), &key, &[], false).await;
    let sibling = start(&place, account_routes(), &key, &[], false).await;
    let other = start(&elsewhere, account_routes(), &key, &[], false).await;

    // An id the sibling instance issued, then removed (log out).
    let mut attacker = Browser::default();
    assert_eq!(attacker.get(&sibling, "/sign_in/mallory").await.status, 200);
    let removed = attacker.cookie();
    assert_eq!(attacker.get(&sibling, "/logout").await.status, 200);
    // An id that lives only in another instance's store.
    let foreign = get_with(&other, "/sign_in/mallory", None)
        .await
        .cookie()
        .unwrap();

    for (what, cookie) in [("removed", removed), ("foreign", foreign)] {
        assert!(wire::verifies(&key, &cookie), "{what}: authentic");
        let chosen = wire::session_id(&cookie, &key);
        assert!(place.record(&chosen).await.is_none(), "{what}: not stored");
        let read = get_with(&app, "/read", Some(&cookie)).await;
        assert_reads(&read, true, "", 0, what);
        let reply = get_with(&app, "/sign_in/victim", Some(&cookie)).await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.body);
        let issued_id = wire::session_id(&reply.cookie().expect("a new cookie"), &key);
        assert_ne!(issued_id, chosen, "{what}: the known id was adopted");
        assert!(
            place.record(&chosen).await.is_none(),
            "{what}: a record under the attacker's id"
        );
        assert_eq!(
            place.record(&issued_id).await.unwrap().fields()["user"],
            "victim"
        );
        let after = get_with(&app, "/read", Some(&cookie)).await;
        assert_reads(&after, true, "", 0, &format!("{what} after login"));
    }
}

per_backend!(
    fixation_signed_unknown_id_is_never_adopted,
    fixation_signed_unknown_id
);

/// The classic fixation: the attacker plants its own valid session cookie on the victim, who
/// logs in (`regenerate()`). The planted id is dead afterwards: it reads an empty session and
/// the store holds nothing under it. On the cookie store, a copied cookie cannot be revoked
/// (README, "Revocation"): it keeps reading the pre-login data it carries, never the login.
async fn fixation_regenerate(kind: Kind) {
    let place = Place::new(kind);
    let key = wire::master(0xF3);
    let app = start(&place, account_routes(), &key, &[], false).await;

    let mut attacker = Browser::default();
    assert_eq!(attacker.get(&app, "/count").await.status, 200);
    let planted = attacker.cookie();
    let planted_id = wire::session_id(&planted, &key);
    if kind != Kind::Cookie {
        assert!(place.record(&planted_id).await.is_some());
    }

    let mut victim = Browser {
        cookie: Some(planted.clone()),
    };
    let login = victim.get(&app, "/login/victim").await;
    assert_eq!(login.status, 200, "{}", login.body);
    let victim_id = wire::session_id(&victim.cookie(), &key);
    assert_ne!(victim_id, planted_id, "regenerate() gives a new id");
    assert_reads(
        &victim.get(&app, "/read").await,
        false,
        "victim",
        1,
        "the victim keeps the session's data under the new id",
    );

    let seen = get_with(&app, "/read", Some(&planted)).await;
    if kind == Kind::Cookie {
        assert_reads(&seen, false, "", 1, "copied cookie-store cookie");
    } else {
        assert_reads(&seen, true, "", 0, "the planted id after regenerate()");
        assert!(
            place.record(&planted_id).await.is_none(),
            "the store still has the old id's record"
        );
        assert_eq!(
            place.record(&victim_id).await.unwrap().fields()["user"],
            "victim"
        );
        // A write through the dead cookie does not bring the old id back.
        let write = get_with(&app, "/count", Some(&planted)).await;
        assert_eq!(write.status, 200, "{}", write.body);
        let revived = wire::session_id(&write.cookie().unwrap(), &key);
        assert_ne!(revived, planted_id);
        assert!(place.record(&planted_id).await.is_none());
    }
}

per_backend!(fixation_regenerate_kills_the_old_id, fixation_regenerate);
