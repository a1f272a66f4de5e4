//! CSRF tokens bound to the session (`CsrfToken`, `CsrfLayer`), on every store: a token in a
//! form or a header is accepted and the body reaches the handler intact; a missing, wrong or
//! other session's token, or no session at all, is refused with 403 before the handler runs and
//! writes nothing; safe methods pass; `regenerate()` rotates the token; two tabs creating the
//! token at once both keep working tokens; a key rotation keeps tokens valid.

use std::sync::atomic::Ordering;

use typed_sessions::Key;

use super::csrf_support::*;
use typed_sessions_tests::*;

on_backends!(
    a_token_in_a_form_or_a_header_is_accepted,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        assert_eq!(token.len(), 86, "{token}");

        let form = format!("text=hello+world%21&csrf_token={token}&tags=a&tags=b");
        let response = app.send(with_form(Some(&cookie), &form)).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.body, format!("ran:{form}"), "the body, intact");

        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let request = unsafe_request(
                method,
                "/comment",
                Some(&cookie),
                &[("x-csrf-token", &token)],
                r#"{"json":true}"#,
            );
            let response = app.send(request).await;
            assert_eq!(response.status, 200, "{method}: {response:?}");
            assert_eq!(response.body, r#"ran:{"json":true}"#);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 5);
    }
);

on_backends!(
    every_token_handed_out_is_different_and_stays_valid,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app(backend);
        let (first, cookie) = form_token(&app, None).await;
        let (second, same) = form_token(&app, Some(&cookie)).await;
        assert_ne!(first, second, "masked afresh for each response");
        assert_eq!(same, cookie, "the second token wrote nothing");
        for token in [&first, &second] {
            let response = app.send(with_header(&cookie, token)).await;
            assert_eq!(response.status, 200, "{response:?}");
        }
    }
);

on_backends!(
    a_missing_wrong_or_foreign_token_is_refused_before_the_handler,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        let (other_token, _) = form_token(&app, None).await;
        let mut changed = token.clone().into_bytes();
        changed[60] = if changed[60] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        app.store_calls();

        let refused = [
            unsafe_request("POST", "/comment", Some(&cookie), &[], "text=hi"),
            with_form(Some(&cookie), "text=hi"),
            with_form(Some(&cookie), &format!("csrf_token={other_token}")),
            with_form(Some(&cookie), &format!("csrf_token={changed}")),
            with_header(&cookie, &other_token),
            with_header(&cookie, &changed),
            with_header(&cookie, "nonsense"),
            with_header(&cookie, ""),
            // A header, even a wrong one, is what counts: the form is not read then.
            unsafe_request(
                "POST",
                "/comment",
                Some(&cookie),
                &[
                    ("x-csrf-token", "nonsense"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                &format!("csrf_token={token}"),
            ),
        ];
        for request in refused {
            let response = app.send(request).await;
            assert_refused(&app, &response);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 0, "no handler ran");
    }
);

on_backends!(
    a_request_without_a_session_or_a_token_is_refused,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        let (token, _) = form_token(&app, None).await;
        app.store_calls();
        // No session at all: no token could match, and no session is started.
        let response = app
            .send(with_form(None, &format!("csrf_token={token}")))
            .await;
        assert_refused(&app, &response);
        // A session that never handed out a token.
        let cookie = app.get("/set", None).await.replay();
        app.store_calls();
        let response = app.send(with_header(&cookie, &token)).await;
        assert_refused(&app, &response);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        if backend.is_store() {
            assert_eq!(
                app.spy().inner.len().await,
                2,
                "the two sessions, and no other"
            );
        }
    }
);

on_backends!(
    safe_methods_pass_without_a_token_or_a_session,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        for method in ["GET", "HEAD", "OPTIONS"] {
            let request = unsafe_request(
                method,
                "/comment",
                None,
                &[("sec-fetch-site", "cross-site")],
                "",
            );
            let response = app.send(request).await;
            assert_ne!(response.status, 403, "{method}: {response:?}");
            assert!(response.set_cookies().is_empty());
        }
        assert!(runs.load(Ordering::SeqCst) >= 2, "GET and HEAD ran");
        assert!(
            app.store_calls().is_empty(),
            "the session is not even loaded"
        );
    }
);

on_backends!(
    regenerate_rotates_the_token,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app(backend);
        let (old_token, cookie) = form_token(&app, None).await;
        let cookie = kept(&app.get("/set", Some(&cookie)).await, Some(&cookie));
        let cookie = app.get("/login", Some(&cookie)).await.replay();
        app.store_calls();
        let response = app.send(with_header(&cookie, &old_token)).await;
        assert_refused(&app, &response);

        let (new_token, cookie) = form_token(&app, Some(&cookie)).await;
        let response = app.send(with_header(&cookie, &new_token)).await;
        assert_eq!(response.status, 200, "{response:?}");
    }
);

on_backends!(
    two_tabs_creating_the_token_at_once_both_keep_working_tokens,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app(backend);
        // A session without a token yet; two tabs open the form at the same moment, each
        // creating the session's secret before either request is saved.
        let cookie = app.get("/set", None).await.replay();
        let (one, two) = tokio::join!(
            app.get("/twin", Some(&cookie)),
            app.get("/twin", Some(&cookie))
        );
        assert_eq!((one.status.as_u16(), two.status.as_u16()), (200, 200));
        assert_ne!(one.body, two.body);
        // The browser keeps whichever cookie came last (the cookie store sends one from each).
        let cookies: Vec<String> = [&one, &two]
            .iter()
            .map(|response| kept(response, Some(&cookie)))
            .collect();
        for cookie in &cookies {
            for token in [&one.body, &two.body] {
                let response = app.send(with_header(cookie, token)).await;
                assert_eq!(response.status, 200, "{response:?}");
            }
        }
    }
);

on_backends!(
    tokens_survive_a_key_rotation,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        let runs = Default::default();
        let rotated = app.sibling(routes(runs, |csrf| csrf), Key::generate(), |layer| {
            layer.with_old_key(test_key())
        });
        let response = rotated.send(with_header(&cookie, &token)).await;
        assert_eq!(response.status, 200, "{response:?}");
    }
);

on_backends!(
    routes_on_an_optional_session_are_checked_too,
    [Cookie, Memory],
    |backend| async move {
        let (app, runs) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        let post = |token: &str| {
            unsafe_request(
                "POST",
                "/peek",
                Some(&cookie),
                &[("x-csrf-token", token)],
                "",
            )
        };
        app.store_calls();
        let response = app.send(post(&token)).await;
        assert_eq!(response.body, "some:true");
        app.store_calls();
        assert_refused(&app, &app.send(post("nonsense")).await);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
);

on_backends!(
    a_form_is_read_up_to_its_limit,
    [Cookie, Memory],
    |backend| async move {
        let runs = Default::default();
        let app = TestApp::new(backend, routes(runs, |csrf| csrf.with_form_limit(200)));
        let (token, cookie) = form_token(&app, None).await;
        let fits = format!("csrf_token={token}&text={}", "a".repeat(90));
        assert_eq!(app.send(with_form(Some(&cookie), &fits)).await.status, 200);
        let long = format!("csrf_token={token}&text={}", "a".repeat(200));
        let response = app.send(with_form(Some(&cookie), &long)).await;
        assert_eq!(response.status, 413, "{response:?}");
        // With the token in the header, the body is not read, whatever its length.
        let mut request = with_form(Some(&cookie), &long);
        request
            .headers_mut()
            .insert("x-csrf-token", token.parse().unwrap());
        assert_eq!(app.send(request).await.status, 200);
    }
);

on_backends!(
    a_refusal_logs_why_and_never_the_token,
    [Cookie, Memory],
    |backend| async move {
        let (app, _) = app(backend);
        let (token, cookie) = form_token(&app, None).await;
        let (other_token, _) = form_token(&app, None).await;
        let (logs, _capture) = Logs::capture();
        let response = app.send(with_header(&cookie, &other_token)).await;
        assert_eq!(response.status, 403);
        assert!(!response.body.contains("match"), "the reason is not sent");
        let logged = logs.take();
        assert!(logged.contains("does not match"), "{logged}");
        assert!(!logged.contains(&other_token) && !logged.contains(&token));
        let response = app.send(with_form(Some(&cookie), "text=hi")).await;
        assert_eq!(response.status, 403);
        assert!(logs.take().contains("no token"));
    }
);

#[tokio::test]
async fn without_a_session_layer_an_unsafe_request_answers_500_and_says_why() {
    let router = routes(Default::default(), |csrf| csrf);
    let (logs, _capture) = Logs::capture();
    let response = send(&router, with_header("session=x", "nonsense")).await;
    assert_eq!(response.status, 500);
    assert!(response.body.contains("SessionLayer"), "{}", response.body);
    assert!(logs.take().contains("SessionLayer"));
    // Safe requests do not need the session: they pass.
    assert_eq!(get(&router, "/comment", None).await.status, 200);
}
