//! Several instances of one app behind a load balancer: two routers, each with its own layer
//! and its own client of one store (its own Redis connection, its own SQL pool; on the memory
//! store, one in-process store), with the same key. A client that alternates between them
//! counts, logs in, logs out and lives through a rolling key rotation as with one instance.

use typed_sessions_tests::*;

/// The key in use.
const OLD: u8 = 0x51;
/// The key a rotation moves to.
const NEW: u8 = 0x52;

on_backends!(
    several_instances_share_sessions,
    [Memory],
    |backend| async move {
        let place = Place::new(backend);
        let (old, new) = (wire::master(OLD), wire::master(NEW));
        let one = start(&place, account_routes(), &old, &[], true);
        let two = start(&place, account_routes(), &old, &[], true);

        // Counts add up whichever instance serves the request.
        let mut ann = Browser::default();
        assert_eq!(ann.get(&one, "/sign_in/ann").await.status, 200);
        assert_reads(
            &ann.get(&two, "/read").await,
            false,
            "ann",
            1,
            "read on two",
        );
        assert_eq!(ann.get(&two, "/count").await.status, 200);
        assert_eq!(ann.get(&one, "/count").await.status, 200);
        assert_reads(
            &ann.get(&two, "/read").await,
            false,
            "ann",
            3,
            "counted on both",
        );

        // A login (a new id) on one instance is the session on the other; the old id is dead on both.
        let before_login = ann.cookie();
        assert_eq!(ann.get(&two, "/login/bob").await.status, 200);
        assert_reads(
            &ann.get(&one, "/read").await,
            false,
            "bob",
            3,
            "login seen on one",
        );
        for app in [&one, &two] {
            let stale = get_with(app, "/read", Some(&before_login)).await;
            assert_reads(&stale, true, "", 0, "the id before login");
        }

        // A logout on one instance logs out on the other.
        let logged_in = ann.cookie();
        assert_eq!(ann.get(&one, "/logout").await.status, 200);
        assert!(ann.cookie.is_none(), "the logout expires the cookie");
        let after = get_with(&two, "/read", Some(&logged_in)).await;
        assert_reads(&after, true, "", 0, "a copy of the cookie after logout");

        // A rolling key rotation: first every instance learns the new key (the old one still
        // signs), then one by one they sign with it. Mid-way, either instance reads what the
        // other signed.
        let mut cy = Browser::default();
        assert_eq!(cy.get(&two, "/sign_in/cy").await.status, 200);
        let one = start(&place, account_routes(), &old, &[&new], true);
        let two = start(&place, account_routes(), &old, &[&new], true);
        assert_reads(
            &cy.get(&one, "/read").await,
            false,
            "cy",
            1,
            "phase 1 on one",
        );
        let one = start(&place, account_routes(), &new, &[&old], true);
        assert_eq!(cy.get(&one, "/count").await.status, 200);
        assert!(
            wire::verifies(&new, &cy.cookie()),
            "signed by the new key on one"
        );
        assert_reads(
            &cy.get(&two, "/read").await,
            false,
            "cy",
            2,
            "new-key cookie on two",
        );
        let two = start(&place, account_routes(), &new, &[&old], true);
        assert_reads(
            &cy.get(&two, "/read").await,
            false,
            "cy",
            2,
            "phase 2 on two",
        );
        assert!(
            wire::verifies(&new, &cy.cookie()),
            "signed by the new key on two"
        );
        // Once no cookie signed by the old key is wanted any more, it goes.
        let one = start(&place, account_routes(), &new, &[], true);
        assert_reads(
            &cy.get(&one, "/read").await,
            false,
            "cy",
            2,
            "after the rotation",
        );
    }
);
