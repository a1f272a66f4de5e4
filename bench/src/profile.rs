//! Reading a callgrind profile: the instructions collected, the inclusive cost of SHA-256's
//! compression function, and how often given functions were called.

use std::collections::HashMap;

/// What one callgrind run measured (in the collected region only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Instructions executed (`Ir`).
    pub instructions: u64,
    /// Instructions executed inside SHA-256's block compression, callees included.
    pub sha256: u64,
    /// Calls received, by (demangled) function name.
    pub calls: HashMap<String, u64>,
}

/// Whether `name` is SHA-256's block compression (software, or any CPU-specific variant).
pub fn is_sha256_compression(name: &str) -> bool {
    name.contains("sha2::sha256") && (name.contains("compress") || name.contains("digest_blocks"))
}

impl Profile {
    /// Parses a `callgrind.out` file (its first event must be `Ir`, the default).
    ///
    /// # Errors
    ///
    /// When the text is not a callgrind profile.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut profile = Profile::default();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut positions = 1;
        let mut current = String::new();
        let mut callee = String::new();
        let mut pending_call: Option<u64> = None;
        let mut saw_events = false;
        for line in text.lines() {
            if let Some(count) = pending_call.take() {
                // The line after `calls=` is the call's inclusive cost.
                let cost = line
                    .split_whitespace()
                    .nth(positions)
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| format!("a call without a cost: {line:?}"))?;
                *profile.calls.entry(callee.clone()).or_default() += count;
                if is_sha256_compression(&callee) && !is_sha256_compression(&current) {
                    profile.sha256 += cost;
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("positions:") {
                positions = rest.split_whitespace().count();
            } else if let Some(rest) = line.strip_prefix("events:") {
                saw_events = true;
                if rest.split_whitespace().next() != Some("Ir") {
                    return Err(format!("the first event is not `Ir`: {line:?}"));
                }
            } else if let Some(rest) = line
                .strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
            {
                profile.instructions = rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("a malformed total: {line:?}"))?;
            } else if let Some(rest) = line.strip_prefix("fn=") {
                current = resolve(&mut names, rest);
            } else if let Some(rest) = line.strip_prefix("cfn=") {
                callee = resolve(&mut names, rest);
            } else if let Some(rest) = line.strip_prefix("calls=") {
                let count = rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("a malformed call line: {line:?}"))?;
                pending_call = Some(count);
            }
        }
        if !saw_events {
            return Err("not a callgrind profile (no `events:` line)".into());
        }
        Ok(profile)
    }

    /// How many calls went to functions whose name satisfies `matches`.
    pub fn calls_to(&self, matches: impl Fn(&str) -> bool) -> u64 {
        self.calls
            .iter()
            .filter(|(name, _)| matches(name))
            .map(|(_, count)| count)
            .sum()
    }
}

/// A function name from a `fn=`/`cfn=` specification, with callgrind's name compression:
/// `(id) name` defines `id`, a bare `(id)` refers back to it.
fn resolve(names: &mut HashMap<String, String>, spec: &str) -> String {
    let spec = spec.trim();
    let Some(rest) = spec.strip_prefix('(') else {
        return spec.to_owned();
    };
    let Some((id, name)) = rest.split_once(')') else {
        return spec.to_owned();
    };
    let name = name.trim();
    if name.is_empty() {
        names.get(id).cloned().unwrap_or_default()
    } else {
        names.insert(id.to_owned(), name.to_owned());
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir
summary: 1000

fl=(1) a.rs
fn=(1) ts_bench_measure
5 100
cfn=(2) typed_sessions::codec::Codec::mac
calls=2 10
5 600
cfn=(3) sha2::sha256::compress256
calls=1 3
6 250

fn=(2)
3 50
cfn=(3)
calls=3 3
4 450

fn=(3)
1 700
cfn=(4) sha2::sha256::soft::compress
calls=4 2
1 650
";

    #[test]
    fn totals_sha_and_calls() {
        let profile = Profile::parse(SAMPLE).unwrap();
        assert_eq!(profile.instructions, 1000);
        // Calls into the compression from outside it: 250 + 450; the inner call is not added.
        assert_eq!(profile.sha256, 700);
        assert_eq!(profile.calls_to(|n| n.ends_with("Codec::mac")), 2);
        assert_eq!(profile.calls_to(|n| n == "sha2::sha256::compress256"), 4);
    }

    #[test]
    fn refuses_other_files() {
        assert!(Profile::parse("hello").is_err());
    }
}
