//! ACC — access and change detection.

use crate::harness::*;
use crate::on_backends;

on_backends!(
    acc_01_new_session_not_accessed_emits_nothing,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let response = app.get("/none", None).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "greetings");
        assert!(response.set_cookies().is_empty());
        assert!(app.store_calls().is_empty());
    }
);

on_backends!(
    acc_03_new_session_populated_issues_cookie,
    [Cookie, Memory],
    |backend| async move {
        let app = TestApp::new(backend, reference_routes());
        let r1 = app.get("/set", None).await;
        assert_eq!(r1.status, 200);
        let cookie = r1.session_cookie().expect("a session cookie");
        if backend == Backend::Memory {
            assert!(!cookie.contains("hello"));
            let calls = app.spy().take_calls();
            assert_eq!(calls.len(), 1, "{calls:?}");
            let Call::Create(_, record) = &calls[0] else {
                panic!("{calls:?}")
            };
            assert_eq!(record.fields["message"], "hello");
        }
        let r2 = app.get("/read", Some(&r1.replay())).await;
        assert_eq!(r2.body, "hello");
        assert!(r2.set_cookies().is_empty());
    }
);
