//! Where the sessions live, from `SESSION_STORE_URL`: the memory store when it is not set,
//! Redis for a `redis://` (or `rediss://`) URL, PostgreSQL for a `postgres://` (or
//! `postgresql://`) one. Redis and PostgreSQL need the example built with the feature of the
//! same name (`--features redis`, `--features postgres`).

use typed_sessions::{MemoryStore, SessionLayer};

/// The variable the store's URL is read from.
pub(crate) const VAR: &str = "SESSION_STORE_URL";

/// `layer` with the store that `url` (the variable's value; `None`: not set) names, and the
/// store's name for the start-up message; or what is wrong, in words that never repeat the
/// URL (it may hold a password).
pub(crate) async fn with_store(
    layer: SessionLayer,
    url: Option<&str>,
) -> Result<(SessionLayer, &'static str), String> {
    let url = url.map(str::trim).filter(|url| !url.is_empty());
    let scheme = url.map(|url| url.split_once("://").map_or("", |(scheme, _)| scheme));
    match (url, scheme) {
        (None, _) => Ok((layer.with_store(MemoryStore::new()), "memory")),
        (Some(url), Some("redis" | "rediss")) => redis(layer, url).await,
        (Some(url), Some("postgres" | "postgresql")) => postgres(layer, url).await,
        _ => Err(format!(
            "{VAR} must be a redis:// or postgres:// URL, or unset for the memory store"
        )),
    }
}

#[cfg(feature = "redis")]
async fn redis(layer: SessionLayer, url: &str) -> Result<(SessionLayer, &'static str), String> {
    let store = typed_sessions::RedisStore::connect(url)
        .await
        .map_err(|error| format!("{VAR}: cannot use Redis: {error}"))?;
    Ok((layer.with_store(store), "Redis"))
}

#[cfg(not(feature = "redis"))]
async fn redis(_: SessionLayer, _: &str) -> Result<(SessionLayer, &'static str), String> {
    Err(format!(
        "{VAR} names Redis: run the example with `--features redis`"
    ))
}

#[cfg(feature = "postgres")]
async fn postgres(layer: SessionLayer, url: &str) -> Result<(SessionLayer, &'static str), String> {
    let store = typed_sessions::PostgresStore::connect(url)
        .await
        .map_err(|error| format!("{VAR}: cannot use PostgreSQL: {error}"))?;
    // Creates the table unless it exists, and starts deleting expired rows every ten minutes.
    store
        .migrate()
        .await
        .map_err(|error| format!("{VAR}: cannot create the sessions table: {error}"))?;
    Ok((layer.with_store(store), "PostgreSQL"))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: SessionLayer, _: &str) -> Result<(SessionLayer, &'static str), String> {
    Err(format!(
        "{VAR} names PostgreSQL: run the example with `--features postgres`"
    ))
}
