//! Serving an example app on 127.0.0.1:$PORT (default 3000).

use axum::Router;

/// Serves `app` on 127.0.0.1 at `$PORT` (default 3000) until the process is stopped.
pub(crate) async fn serve(app: Router) {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind 127.0.0.1:$PORT");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("local address")
    );
    axum::serve(listener, app).await.expect("server error");
}
